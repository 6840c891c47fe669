//! Form fields: the label wraps its control (the end-to-end tests find controls by label),
//! with an optional hint under it; and the submit button.

use leptos::prelude::*;

/// `<label>` with its text, the control (`children`) and an optional hint.
#[component]
pub fn Field(
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <label>{label} {children()}
            {hint.map(|h| view! { <small class="muted">{h}</small> })}
        </label>
    }
}

/// A checkbox (`children`) followed by its text, as `<label class="check">`.
#[component]
pub fn CheckField(label: &'static str, children: Children) -> impl IntoView {
    view! { <label class="check">{children()}{label}</label> }
}

/// The form's submit button, disabled while `pending`; it reads `busy` meanwhile, if given.
#[component]
pub fn SubmitButton(
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional)] busy: Option<&'static str>,
) -> impl IntoView {
    let text = move || match busy {
        Some(busy) if pending.get() => busy,
        _ => label,
    };
    view! {
        <button class="button" type="submit" disabled=move || pending.get()>{text}</button>
    }
}
