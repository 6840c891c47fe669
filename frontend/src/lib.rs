//! The browser entry point: hydrates the server-rendered dashboard.
//!
//! Every page is a lazy route (`aerie_app::ui::App`): its code is a separate wasm file that
//! `cargo leptos build --split` cuts out of this module. Hydration is therefore asynchronous
//! (the current page's file is fetched first), as `leptos::mount::hydrate_lazy` does; the
//! router refuses to hydrate lazy routes synchronously.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_from_async` makes wasm-bindgen-futures the executor of the reactive system.
    wasm_bindgen_futures::spawn_local(async {
        let owner =
            leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), aerie_app::ui::App)
                .await;
        // The app lives as long as the page.
        owner.forget();
        // Lets tests and scripts know the page is interactive: set only once the page's own
        // code has loaded and hydrated.
        if let Some(root) = leptos::prelude::document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
