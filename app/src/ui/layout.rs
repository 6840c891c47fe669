//! The frame around every page: header with navigation, main area, footer.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::routes;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href=routes::HOME>
                    <span class="brand-mark" aria-hidden="true">"▲"</span>
                    " Aerie"
                </a>
                <nav aria-label="Main">
                    <NavLink href=routes::HOME label="Home"/>
                    <NavLink href=routes::API_REFERENCE label="API reference"/>
                </nav>
            </header>
            <main id="main">{children()}</main>
            <footer class="footer">
                "Aerie " {crate::VERSION} " · self-hosted AI agents · "
                <a href=routes::OPENAPI_JSON>"OpenAPI"</a>
            </footer>
        </div>
    }
}

/// A navigation link marked `aria-current="page"` while its page is shown.
#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    let location = use_location();
    // The server renders once (untracked, which also keeps leptos' route discovery quiet);
    // the browser follows navigation.
    #[cfg(not(feature = "hydrate"))]
    let current = {
        let here = location.pathname.get_untracked() == href;
        move || here.then_some("page")
    };
    #[cfg(feature = "hydrate")]
    let current = move || (location.pathname.get() == href).then_some("page");
    view! { <a href=href aria-current=current>{label}</a> }
}
