//! The first-run wizard: the organisation and its owner, once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::fns::auth::{RunSetup, get_setup_status};
use crate::ui::routes;
use crate::ui::session::use_session;

#[component]
pub fn SetupPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_setup_status());
    view! {
        <Title text="Set up Aerie"/>
        <section class="card narrow">
            <h1>"Set up Aerie"</h1>
            <Suspense fallback=|| view! { <p>"Checking…"</p> }>
                {move || status.get().map(|s| match s {
                    Ok(s) if s.bootstrapped => view! {
                        <p>"This instance is already set up."</p>
                        <p><a class="button" href=routes::LOGIN>"Sign in"</a></p>
                    }.into_any(),
                    Ok(_) => view! { <SetupForm/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SetupForm() -> impl IntoView {
    let session = use_session();
    let action = ServerAction::<RunSetup>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            session.refresh();
            navigate(routes::API_KEYS, Default::default());
        }
    });
    view! {
        <p>"Create your organisation and its owner account. You can invite everyone else afterwards."</p>
        <ActionForm action=action>
            <label>"Organisation name"
                <input name="organization_name" required placeholder="Acme Research" autocomplete="organization"/>
            </label>
            <label>"Your name"
                <input name="name" required autocomplete="name"/>
            </label>
            <label>"Email"
                <input type="email" name="email" required autocomplete="username"/>
            </label>
            <label>"Password"
                <input type="password" name="password" required minlength="12" autocomplete="new-password"/>
                <small class="muted">"At least 12 characters; a phrase of a few words is easiest."</small>
            </label>
            <button class="button" type="submit" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Setting up…" } else { "Create organisation" }}
            </button>
        </ActionForm>
        {move || action.value().get().and_then(Result::err).map(|e| view! {
            <p class="error" role="alert">{e.detail}</p>
        })}
    }
}
