pub mod admin;
pub mod agents;
pub mod api_keys;
pub mod api_reference;
pub mod auth;
pub mod chat;
pub mod home;
pub mod not_found;
pub mod providers;
pub mod sso;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::contract::ErrorBody;
use crate::contract::auth::User;
use crate::ui::session::use_session;

/// Shows the page to a signed-in user (handed to `children`), else a sign-in prompt.
#[component]
pub(crate) fn SignedIn<V: IntoView + 'static>(
    title: &'static str,
    children: impl Fn(User) -> V + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Title text=title/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || session.user.get().map(|u| match u {
                Ok(Some(user)) => children.with_value(|c| c(user)).into_any(),
                _ => view! {
                    <section class="card narrow">
                        <h1>{title}</h1>
                        <p>"Sign in to continue."</p>
                        <p><a class="button" href=crate::ui::routes::LOGIN>"Sign in"</a></p>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Whether the user administers the organisation (owner or admin).
pub(crate) fn is_admin(user: &User) -> bool {
    matches!(user.role.as_str(), "owner" | "admin")
}

/// The error of an action's last run, for an alert.
pub(crate) fn error_of<T>(action: ServerAction<T>) -> impl Fn() -> Option<String> + Copy
where
    T: server_fn::ServerFn<Error = ErrorBody> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    move || action.value().get().and_then(Result::err).map(|e| e.detail)
}
