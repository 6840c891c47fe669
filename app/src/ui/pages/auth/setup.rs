//! The first-run wizard: the organisation and its owner, once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use leptos_router::{LazyRoute, lazy_route};

use crate::fns::auth::{RunSetup, get_setup_status};
use crate::ui::components::{ErrorAlert, Field, LoadError, PageCard, SubmitButton, error_of};
use crate::ui::routes;
use crate::ui::session::use_session;

/// The `/setup` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct SetupRoute;

#[lazy_route]
impl LazyRoute for SetupRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SetupPage/> }.into_any()
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_setup_status());
    view! {
        <Title text="Set up Aerie"/>
        <PageCard title="Set up Aerie" class="card narrow">
            <Suspense fallback=|| view! { <p>"Checking…"</p> }>
                {move || status.get().map(|s| match s {
                    Ok(s) if s.bootstrapped => view! {
                        <p>"This instance is already set up."</p>
                        <p><a class="button" href=routes::LOGIN>"Sign in"</a></p>
                    }.into_any(),
                    Ok(_) => view! { <SetupForm/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                })}
            </Suspense>
        </PageCard>
    }
}

/// Under every new password (here and when joining).
pub(super) const PASSWORD_HINT: &str =
    "At least 12 characters; a phrase of a few words is easiest.";

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
            <Field label="Organisation name">
                <input name="organization_name" required placeholder="Acme Research" autocomplete="organization"/>
            </Field>
            <Field label="Your name">
                <input name="name" required autocomplete="name"/>
            </Field>
            <Field label="Email">
                <input type="email" name="email" required autocomplete="username"/>
            </Field>
            <Field label="Password" hint=PASSWORD_HINT>
                <input type="password" name="password" required minlength="12" autocomplete="new-password"/>
            </Field>
            <SubmitButton label="Create organisation" busy="Setting up…" pending=action.pending()/>
        </ActionForm>
        <ErrorAlert message=error_of(action)/>
    }
}
