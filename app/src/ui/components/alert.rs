//! Notices under forms and lists: failures (`.error`, `role="alert"` when an action failed),
//! successes (`.ok`, `role="status"`).

use leptos::prelude::*;

use crate::contract::ErrorBody;

/// The error of an action's last run, for an [`ErrorAlert`].
pub fn error_of<T>(action: ServerAction<T>) -> impl Fn() -> Option<String> + Copy
where
    T: server_fn::ServerFn<Error = ErrorBody> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    move || action.value().get().and_then(Result::err).map(|e| e.detail)
}

/// A failure to show now: `<p class="error" role="alert">`.
#[component]
pub fn Alert(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="error" role="alert">{text}</p> }
}

/// The failure of an action, shown while there is one.
#[component]
pub fn ErrorAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || message.get().map(|text| view! { <Alert text/> })
}

/// What could not be loaded, in place of the list or form: `<p class="error">`.
#[component]
pub fn LoadError(error: ErrorBody) -> impl IntoView {
    view! { <p class="error">{error.detail}</p> }
}

/// A success: `<p class="ok" role="status">`.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! { <p class="ok" role="status">{children()}</p> }
}

/// The outcome of a form's last save: `saved` after a success, the failure otherwise.
#[component]
pub fn SaveOutcome<T>(action: ServerAction<T>, saved: &'static str) -> impl IntoView
where
    T: server_fn::ServerFn<Error = ErrorBody> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(_) => view! { <Notice>{saved}</Notice> }.into_any(),
            Err(e) => view! { <Alert text=e.detail/> }.into_any(),
        })
    }
}
