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
use leptos_router::path;

use layout::Layout;
use pages::admin::{GroupsPage, OrganizationPage, ProfilePage, UsersPage};
use pages::agents::AgentsPage;
use pages::api_keys::ApiKeysPage;
use pages::auth::signup::{InvitePage, SignupPage};
use pages::auth::{link::LinkAccountPage, login::LoginPage, setup::SetupPage};
use pages::chat::ChatPage;
use pages::providers::ProvidersPage;
use pages::sso::SsoSettingsPage;
use pages::{api_reference::ApiReference, home::HomePage, not_found::NotFound};

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
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/api-reference") view=ApiReference/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/link-account") view=LinkAccountPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/invite/:token") view=InvitePage/>
                    <Route path=path!("/keys") view=ApiKeysPage/>
                    <Route path=path!("/organization") view=OrganizationPage/>
                    <Route path=path!("/users") view=UsersPage/>
                    <Route path=path!("/groups") view=GroupsPage/>
                    <Route path=path!("/profile") view=ProfilePage/>
                    <Route path=path!("/chat/:id?") view=ChatPage/>
                    <Route path=path!("/agents") view=AgentsPage/>
                    <Route path=path!("/providers") view=ProvidersPage/>
                    <Route path=path!("/admin/sso") view=SsoSettingsPage/>
                </Routes>
            </Layout>
        </Router>
    }
}
