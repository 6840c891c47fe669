//! The landing page: what Aerie is, and a live check of the server it runs on.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{LazyRoute, lazy_route};

use crate::contract::health::ServerStatus;
use crate::fns::system::GetServerStatus;
use crate::ui::components::LoadError;
use crate::ui::routes;

/// The `/` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct HomeRoute;

#[lazy_route]
impl LazyRoute for HomeRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <HomePage/> }.into_any()
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let check = ServerAction::<GetServerStatus>::new();
    let result = check.value();
    let pending = check.pending();

    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Your organisation's AI agents, on your own server."</h1>
            <p class="lead">
                "Aerie connects your LLM providers and knowledge bases to agents your teams chat "
                "with in the browser or call over REST, SSE and the OpenAI API, governed by keys, "
                "quotas, approvals, guardrails and an audit trail."
            </p>
        </section>
        <section class="card" aria-labelledby="status-title">
            <h2 id="status-title">"Server status"</h2>
            <p>"Ask the server how it is doing: this runs in your browser once the page is interactive."</p>
            <button
                id="check-status"
                class="button"
                on:click=move |_| {
                    check.dispatch(GetServerStatus {});
                }
                disabled=move || pending.get()
            >
                {move || if pending.get() { "Checking…" } else { "Check server status" }}
            </button>
            <div id="status-result" role="status" aria-live="polite">
                {move || result.get().map(|r| match r {
                    Ok(s) => view! { <StatusTable status=s/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                })}
            </div>
        </section>
        <section class="card">
            <h2>"For developers"</h2>
            <p>
                "Every endpoint is described by the OpenAPI document. Browse it on the "
                <a href=routes::API_REFERENCE>"API reference"</a> " page or fetch "
                <code>{routes::OPENAPI_JSON}</code> "."
            </p>
        </section>
    }
}

#[component]
fn StatusTable(status: ServerStatus) -> impl IntoView {
    let db = format!(
        "{} ({})",
        status.database,
        if status.database_ok {
            "reachable"
        } else {
            "unreachable"
        }
    );
    view! {
        <dl class="facts">
            <dt>"Version"</dt><dd>{status.version}</dd>
            <dt>"Database"</dt><dd class:bad=!status.database_ok>{db}</dd>
            <dt>"Up for"</dt><dd>{format_uptime(status.uptime_seconds)}</dd>
            <dt>"Authentication"</dt>
            <dd>{if status.dev_mode { "off (aerie dev)" } else { "on" }}</dd>
        </dl>
    }
}

fn format_uptime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(super::format_uptime(5), "5 s");
        assert_eq!(super::format_uptime(125), "2 min 5 s");
        assert_eq!(super::format_uptime(7260), "2 h 1 min");
    }
}
