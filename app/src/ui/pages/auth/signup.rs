//! Joining: the invitation page (`/invite/{token}`) and the signup page (`/signup`) for
//! organisations with open signup or a waitlist.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::{LazyRoute, lazy_route};

use super::setup::PASSWORD_HINT;
use crate::contract::kinds::UserStatus;
use crate::fns::auth::{SignUp, get_invite, get_setup_status};
use crate::ui::components::{Alert, Field, Notice, PageCard};
use crate::ui::routes;
use crate::ui::session::use_session;

/// The `/invite/:token` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct InviteRoute;

#[lazy_route]
impl LazyRoute for InviteRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <InvitePage/> }.into_any()
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invite = Resource::new(token, get_invite);
    view! {
        <Title text="Invitation"/>
        <PageCard title="You are invited" class="card narrow">
            <Suspense fallback=|| view! { <p>"Checking the invitation…"</p> }>
                {move || invite.get().map(|r| match r {
                    Ok(info) => view! {
                        <p>{format!("Join {} as {}. Choose your name and a password.", info.organization.name, info.role)}</p>
                        <JoinForm email=info.email.clone() token=token() email_locked=true offer_org=false/>
                    }.into_any(),
                    Err(_) => view! {
                        <p class="error">"This invitation is invalid, already used or expired. Ask for a new one."</p>
                    }.into_any(),
                })}
            </Suspense>
        </PageCard>
    }
}

/// The `/signup` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct SignupRoute;

#[lazy_route]
impl LazyRoute for SignupRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SignupPage/> }.into_any()
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    // Whether the operator lets newcomers create an organisation of their own.
    let status = Resource::new(|| (), |_| get_setup_status());
    view! {
        <Title text="Sign up"/>
        <PageCard title="Create your account" class="card narrow">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || status.get().map(|s| {
                    let offer_org = s.map(|s| s.organization_signup).unwrap_or(false);
                    view! { <JoinForm email=String::new() token=String::new() email_locked=false offer_org/> }
                })}
            </Suspense>
            <p class="muted">"Already have an account? " <a href=routes::LOGIN>"Sign in"</a></p>
        </PageCard>
    }
}

#[component]
fn JoinForm(email: String, token: String, email_locked: bool, offer_org: bool) -> impl IntoView {
    let session = use_session();
    let action = ServerAction::<SignUp>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(result)) = action.value().get()
            && result.status == UserStatus::Active
        {
            session.refresh();
            navigate(routes::API_KEYS, Default::default());
        }
    });
    view! {
        <ActionForm action=action>
            <input type="hidden" name="invite_token" value=token/>
            <Field label="Email">
                <input type="email" name="email" required value=email readonly=email_locked autocomplete="username"/>
            </Field>
            <Field label="Your name"><input name="name" required autocomplete="name"/></Field>
            <Field label="Password" hint=PASSWORD_HINT>
                <input type="password" name="password" required minlength="12" autocomplete="new-password"/>
            </Field>
            {offer_org.then(|| view! {
                <Field label="New organisation"
                    hint="Optional: name an organisation to create it, with you as its owner; leave empty to join this one.">
                    <input name="new_organization" maxlength="120" autocomplete="organization"/>
                </Field>
            })}
            <button class="button" type="submit">"Join"</button>
        </ActionForm>
        {move || action.value().get().map(|r| match r {
            Ok(result) if result.status == UserStatus::Waitlisted => view! {
                <Notice>"Thanks! An administrator will review your request; you can sign in once approved."</Notice>
            }.into_any(),
            Ok(_) => view! { <Notice>"Welcome!"</Notice> }.into_any(),
            Err(e) => view! { <Alert text=e.detail/> }.into_any(),
        })}
    }
}
