//! The dashboard's tables (`table.ops`).

use leptos::prelude::*;

/// `<table class=class>` with a header row of `headers` (an empty one for the actions column)
/// and the rows (`children`) in its body.
#[component]
pub fn DataTable(
    class: &'static str,
    headers: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    let head = headers
        .iter()
        .map(|h| {
            if h.is_empty() {
                view! { <th></th> }.into_any()
            } else {
                view! { <th>{*h}</th> }.into_any()
            }
        })
        .collect_view();
    view! {
        <table class=class>
            <thead><tr>{head}</tr></thead>
            <tbody>{children()}</tbody>
        </table>
    }
}
