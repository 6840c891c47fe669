//! The link page: a single sign-on stopped because its identity would link to an existing
//! account, which needs the person's proof. They sign in to that account with its password (or
//! confirm, when this browser is signed in to it already), and only then is the identity linked.
//! The form posts to `/auth/sso/link` as a plain HTML form: the browser sends the `aerie_sso`
//! cookie that binds the sign-in to it. A failure comes back here with `?error=`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::{LazyRoute, lazy_route};

use crate::contract::sso::PendingLink;
use crate::fns::sso::pending_sso_link;
use crate::ui::components::{Alert, Field};
use crate::ui::routes;

/// The `/link-account` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct LinkAccountRoute;

#[lazy_route]
impl LazyRoute for LinkAccountRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <LinkAccountPage/> }.into_any()
    }
}

#[component]
pub fn LinkAccountPage() -> impl IntoView {
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let error = move || query.read().get("error").filter(|e| !e.trim().is_empty());
    let pending = Resource::new(code, pending_sso_link);
    view! {
        <Title text="Link your sign-in"/>
        <section class="card narrow" data-testid="link-account">
            <h1>"Link your sign-in"</h1>
            {move || error().map(|e| view! {
                <p class="error" role="alert" data-testid="link-error">{e}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || pending.get().map(|r| match r {
                    Ok(p) => view! { <LinkForm pending=p code=code()/> }.into_any(),
                    Err(e) => view! {
                        <Alert text=e.detail/>
                        <p><a class="button" href=routes::LOGIN>"Back to sign in"</a></p>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LinkForm(pending: PendingLink, code: String) -> impl IntoView {
    let PendingLink {
        provider_name,
        email,
        signed_in_as_account,
        ..
    } = pending;
    let intro = format!(
        "You signed in with {provider_name} as {email}. An Aerie account with this email exists \
         already. To protect it, Aerie links the two only once you show the account is yours."
    );
    view! {
        <p>{intro}</p>
        <form method="post" action="/auth/sso/link" class="stack">
            <input type="hidden" name="code" value=code/>
            {if signed_in_as_account {
                view! {
                    <p class="muted">"You are signed in to this account in this browser."</p>
                    <button class="button" type="submit">
                        {format!("Link {provider_name} to my account")}
                    </button>
                }.into_any()
            } else {
                view! {
                    <Field label="Password of your Aerie account">
                        <input type="password" name="password" required
                            autocomplete="current-password" autofocus/>
                    </Field>
                    <button class="button" type="submit">"Link and sign in"</button>
                }.into_any()
            }}
        </form>
        {(!signed_in_as_account).then(|| view! {
            <p class="muted">"No password? Sign in to your account another way in this browser "
                "(for example with a sign-in method linked already), then open this page again "
                "within ten minutes."</p>
        })}
        <p><a href=routes::LOGIN>"Cancel"</a></p>
    }
}
