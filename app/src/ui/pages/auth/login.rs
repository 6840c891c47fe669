//! Sign in: with the organisation's identity providers (single sign-on) or email and password.
//!
//! The single sign-on buttons come from `discover`: at first those of a single-organisation
//! install; once an email is typed, those of the organisation claiming its domain. A failed
//! single sign-on comes back here with `?sso_error=<reason>`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::{LazyRoute, lazy_route};

use crate::contract::sso::LoginOptions;
use crate::fns::auth::Login;
use crate::fns::sso::{DiscoverSso, discover_sso};
use crate::ui::components::{ErrorAlert, Field, PageCard, SubmitButton, error_of};
use crate::ui::routes;
use crate::ui::session::use_session;

/// The `/login` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage/> }.into_any()
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let action = ServerAction::<Login>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(user)) = action.value().get() {
            session.signed_in(user);
            navigate(routes::API_KEYS, Default::default());
        }
    });
    let query = use_query_map();
    let sso_error = move || {
        query
            .read()
            .get("sso_error")
            .filter(|e| !e.trim().is_empty())
    };
    // Where single sign-on returns: a same-site path from `?return_to=`, else the keys page.
    let return_to = move || {
        query
            .read()
            .get("return_to")
            .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
            .unwrap_or_else(|| routes::API_KEYS.to_owned())
    };

    // The providers shown before anything is typed (a single-organisation install's).
    let initial = Resource::new(|| (), |_| discover_sso(None, None));
    // Those of the organisation the typed email belongs to.
    let routed = ServerAction::<DiscoverSso>::new();
    let routed_email = RwSignal::new(String::new());
    let on_email = move |ev: leptos::ev::Event| {
        let email = event_target_value(&ev).trim().to_owned();
        if email.contains('@') && email != routed_email.get_untracked() {
            routed_email.set(email.clone());
            routed.dispatch(DiscoverSso {
                email: Some(email),
                org: None,
            });
        }
    };
    // The email's organisation when one was found, else the initial answer; and whether the
    // answer came from the email.
    let options = move || -> Option<(LoginOptions, bool)> {
        match routed.value().get() {
            Some(Ok(o)) if o.organization.is_some() => Some((o, true)),
            _ => initial.get().and_then(Result::ok).map(|o| (o, false)),
        }
    };

    view! {
        <Title text="Sign in"/>
        <PageCard title="Sign in" class="card narrow">
            {move || sso_error().map(|e| view! {
                <p class="error" role="alert" data-testid="sso-error">{e}</p>
            })}
            <Transition fallback=|| ()>
                {move || options().map(|(o, by_email)| {
                    let back = return_to();
                    let hint = by_email.then(|| routed_email.get());
                    view! { <SsoButtons options=o by_email back hint/> }
                })}
            </Transition>
            <ActionForm action=action>
                <Field label="Email">
                    <input type="email" name="email" required autocomplete="username" autofocus
                        on:change=on_email/>
                </Field>
                <Field label="Password">
                    <input type="password" name="password" required autocomplete="current-password"/>
                </Field>
                // An SSO-only organisation's note, above, takes the emphasis off this button
                // (style/main.css); owners still sign in here.
                <SubmitButton label="Sign in" busy="Signing in…" pending=action.pending()/>
            </ActionForm>
            <ErrorAlert message=error_of(action)/>
            <p class="muted">"New here? " <a href=routes::SIGNUP>"Create an account"</a>
                " · First run? " <a href=routes::SETUP>"Set up Aerie"</a></p>
        </PageCard>
    }
}

/// The organisation's sign-in buttons ("Continue with …" when the email leads to exactly one),
/// and the note for SSO-only organisations.
#[component]
fn SsoButtons(
    options: LoginOptions,
    by_email: bool,
    back: String,
    hint: Option<String>,
) -> impl IntoView {
    let single = by_email && options.providers.len() == 1;
    let password_allowed = options.password_allowed;
    let org = options.organization_name.clone();
    let any = !options.providers.is_empty();
    let buttons = options
        .providers
        .into_iter()
        .map(|p| {
            let mut href = format!("{}&return_to={}", p.login_url, encode(&back));
            if let Some(email) = &hint {
                href.push_str(&format!("&email={}", encode(email)));
            }
            let label = if single {
                format!("Continue with {}", p.name)
            } else {
                format!("Sign in with {}", p.name)
            };
            view! {
                // A server route, not a page of the router: the browser follows it.
                <a class="button sso" rel="external" data-kind=p.kind.as_str() href=href>{label}</a>
            }
        })
        .collect_view();
    view! {
        {any.then(|| view! {
            <div class="sso-options" data-testid="sso-options">
                {by_email.then(|| org.map(|name| view! {
                    <p class="muted">{format!("{name} signs in with:")}</p>
                }))}
                {buttons}
            </div>
            <p class="or"><span>"or with a password"</span></p>
        })}
        {(!password_allowed).then(|| view! {
            <p class="muted sso-only-note" data-testid="sso-only-note">
                "Your organisation uses single sign-on; owners may still use a password."
            </p>
        })}
    }
}

/// Encodes a query value.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
