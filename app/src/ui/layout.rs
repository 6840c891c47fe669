//! The frame around every page: header with navigation and the signed-in user, main area, footer.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use super::components::is_admin;
use super::routes;
use super::session::use_session;
use crate::fns::auth::Logout;

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
                    <SignedInLinks/>
                    <NavLink href=routes::API_KEYS label="API keys"/>
                    <NavLink href=routes::BILLING label="Billing"/>
                    <NavLink href=routes::USERS label="Users"/>
                    <NavLink href=routes::GROUPS label="Groups"/>
                    <NavLink href=routes::ORGANIZATION label="Organisation"/>
                    <NavLink href=routes::API_REFERENCE label="API reference"/>
                </nav>
                <UserMenu/>
            </header>
            <main id="main">{children()}</main>
            <footer class="footer">
                "Aerie " {crate::VERSION} " · self-hosted AI agents · "
                <a href=routes::OPENAPI_JSON>"OpenAPI"</a>
            </footer>
        </div>
    }
}

/// The signed-in user and a sign-out button, or a sign-in link.
#[component]
fn UserMenu() -> impl IntoView {
    let session = use_session();
    let logout = ServerAction::<Logout>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            session.refresh();
            navigate(routes::LOGIN, Default::default());
        }
    });
    view! {
        <div class="user-menu">
            <Transition fallback=|| ()>
                {move || session.user.get().map(|u| match u {
                    Ok(Some(user)) => view! {
                        <a class="user-name" data-testid="user-name" href=routes::PROFILE>{user.name}</a>
                        <button class="button secondary" type="button"
                            on:click=move |_| { logout.dispatch(Logout {}); }>"Sign out"</button>
                    }.into_any(),
                    _ => view! { <a class="button secondary" href=routes::LOGIN>"Sign in"</a> }.into_any(),
                })}
            </Transition>
        </div>
    }
}

/// Chat, Agents, Knowledge and Approvals for everyone signed in; Providers, Routes and SSO for
/// the organisation's admins.
#[component]
fn SignedInLinks() -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || session.user.get().and_then(Result::ok).flatten().map(|user| {
                let admin = is_admin(&user);
                let operator = user.operator;
                view! {
                    <NavLink href=routes::CHAT label="Chat"/>
                    <NavLink href=routes::AGENTS label="Agents"/>
                    <NavLink href=routes::KNOWLEDGE label="Knowledge"/>
                    <NavLink href=routes::APPROVALS label="Approvals"/>
                    {admin.then(|| view! {
                        <NavLink href=routes::PROVIDERS label="Providers"/>
                        <NavLink href=routes::RUN_ROUTES label="Routes"/>
                        <NavLink href=routes::SSO_SETTINGS label="SSO"/>
                    })}
                    {operator.then(|| view! { <NavLink href=routes::OPERATOR label="Operator"/> })}
                }
            })}
        </Transition>
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
