//! A page's frame: its card with the `<h1>`, and what an empty list says.

use leptos::prelude::*;

/// `<section class=class>` opening with the page's `<h1>`; with `actions`, both sit in a
/// `.card-head` row.
#[component]
pub fn PageCard(
    title: &'static str,
    #[prop(default = "card")] class: &'static str,
    #[prop(optional)] actions: Option<Children>,
    children: Children,
) -> impl IntoView {
    let head = match actions {
        Some(actions) => view! {
            <div class="card-head">
                <h1>{title}</h1>
                {actions()}
            </div>
        }
        .into_any(),
        None => view! { <h1>{title}</h1> }.into_any(),
    };
    view! {
        <section class=class>
            {head}
            {children()}
        </section>
    }
}

/// What a list shows when it has nothing: `<p class="muted">`.
#[component]
pub fn EmptyState(children: Children) -> impl IntoView {
    view! { <p class="muted">{children()}</p> }
}
