//! Asking before a destructive action.

use leptos::prelude::*;

/// While `open`, the question with "Yes, delete" (runs `on_confirm`) and "Cancel"; both close it.
#[component]
pub fn ConfirmDelete(
    open: RwSignal<bool>,
    #[prop(into)] question: String,
    #[prop(into)] on_confirm: Callback<()>,
) -> impl IntoView {
    let question = StoredValue::new(question);
    view! {
        <Show when=move || open.get()>
            <div class="confirm" role="group" aria-label="Confirm deletion">
                <p>{question.get_value()}</p>
                <button class="button danger" type="button" on:click=move |_| {
                    open.set(false);
                    on_confirm.run(());
                }>"Yes, delete"</button>
                " "
                <button class="button secondary" type="button"
                    on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </Show>
    }
}
