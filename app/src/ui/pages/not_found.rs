//! The page for paths that match nothing (answered with HTTP 404).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::components::PageCard;
use crate::ui::routes;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <PageCard title="Page not found" class="card not-found">
            <p>"Nothing lives at this address. It may have moved, or the link may be mistyped."</p>
            <p><a class="button" href=routes::HOME>"Go to the home page"</a></p>
        </PageCard>
    }
}
