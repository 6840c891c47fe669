//! The web dashboard: server-rendered, then hydrated in the browser.

pub mod components;
pub mod layout;
pub mod markdown;
pub mod pages;
pub mod routes;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, path};

use layout::Layout;
use pages::admin::{GroupsRoute, OrganizationRoute, ProfileRoute, UsersRoute};
use pages::agents::AgentsRoute;
use pages::api_keys::ApiKeysRoute;
use pages::approvals::ApprovalsRoute;
use pages::auth::signup::{InviteRoute, SignupRoute};
use pages::auth::{link::LinkAccountRoute, login::LoginRoute, setup::SetupRoute};
use pages::billing::BillingRoute;
use pages::chat::ChatRoute;
use pages::knowledge::KnowledgeRoute;
use pages::operator::OperatorRoute;
use pages::providers::ProvidersRoute;
use pages::run_routes::RunRoutesRoute;
use pages::sso::SsoSettingsRoute;
use pages::{api_reference::ApiReferenceRoute, home::HomeRoute, not_found::NotFound};

/// The HTML document around the app (server only renders it; the browser hydrates `App`).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: layout, navigation and pages.
///
/// Every page is a lazy route: with `cargo leptos build --split` its code (and what only it
/// uses, such as the chat page's Markdown renderer) is a wasm file of its own, fetched when the
/// page is first shown, so no page pays for the others. The main module keeps the shell, the
/// layout, the session and the not-found page. The browser hydrates asynchronously
/// (`frontend/src/lib.rs`).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::SessionState::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/aerie.css"/>
        <Title formatter=|page: String| if page.is_empty() { "Aerie".to_owned() } else { format!("{page} · Aerie") }/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()}/>
                    <Route path=path!("/api-reference") view={Lazy::<ApiReferenceRoute>::new()}/>
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=path!("/link-account") view={Lazy::<LinkAccountRoute>::new()}/>
                    <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()}/>
                    <Route path=path!("/signup") view={Lazy::<SignupRoute>::new()}/>
                    <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()}/>
                    <Route path=path!("/keys") view={Lazy::<ApiKeysRoute>::new()}/>
                    <Route path=path!("/billing") view={Lazy::<BillingRoute>::new()}/>
                    <Route path=path!("/organization") view={Lazy::<OrganizationRoute>::new()}/>
                    <Route path=path!("/operator") view={Lazy::<OperatorRoute>::new()}/>
                    <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
                    <Route path=path!("/groups") view={Lazy::<GroupsRoute>::new()}/>
                    <Route path=path!("/profile") view={Lazy::<ProfileRoute>::new()}/>
                    <Route path=path!("/chat/:id?") view={Lazy::<ChatRoute>::new()}/>
                    <Route path=path!("/agents") view={Lazy::<AgentsRoute>::new()}/>
                    <Route path=path!("/knowledge") view={Lazy::<KnowledgeRoute>::new()}/>
                    <Route path=path!("/providers") view={Lazy::<ProvidersRoute>::new()}/>
                    <Route path=path!("/approvals") view={Lazy::<ApprovalsRoute>::new()}/>
                    <Route path=path!("/routes") view={Lazy::<RunRoutesRoute>::new()}/>
                    <Route path=path!("/admin/sso") view={Lazy::<SsoSettingsRoute>::new()}/>
                </Routes>
            </Layout>
        </Router>
    }
}
