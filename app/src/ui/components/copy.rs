//! Copying a value to the clipboard.

use leptos::prelude::*;

/// A "Copy" button that puts `text` on the clipboard and then reads "Copied".
#[component]
pub fn CopyButton(
    #[prop(into)] text: String,
    #[prop(default = "button")] class: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
        copied.set(true);
    };
    view! {
        <button class=class type="button" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
