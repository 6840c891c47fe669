//! Joining: the invitation page (`/invite/{token}`) and the signup page (`/signup`) for
//! organisations with open signup or a waitlist.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::fns::auth::{SignUp, get_invite};
use crate::ui::routes;
use crate::ui::session::use_session;

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invite = Resource::new(token, get_invite);
    view! {
        <Title text="Invitation"/>
        <section class="card narrow">
            <h1>"You are invited"</h1>
            <Suspense fallback=|| view! { <p>"Checking the invitation…"</p> }>
                {move || invite.get().map(|r| match r {
                    Ok(info) => view! {
                        <p>{format!("Join {} as {}. Choose your name and a password.", info.organization.name, info.role)}</p>
                        <JoinForm email=info.email.clone() token=token() email_locked=true/>
                    }.into_any(),
                    Err(_) => view! {
                        <p class="error">"This invitation is invalid, already used or expired. Ask for a new one."</p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    view! {
        <Title text="Sign up"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <JoinForm email=String::new() token=String::new() email_locked=false/>
            <p class="muted">"Already have an account? " <a href=routes::LOGIN>"Sign in"</a></p>
        </section>
    }
}

#[component]
fn JoinForm(email: String, token: String, email_locked: bool) -> impl IntoView {
    let session = use_session();
    let action = ServerAction::<SignUp>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(result)) = action.value().get()
            && result.status == "active"
        {
            session.refresh();
            navigate(routes::API_KEYS, Default::default());
        }
    });
    view! {
        <ActionForm action=action>
            <input type="hidden" name="invite_token" value=token/>
            <label>"Email"
                <input type="email" name="email" required value=email readonly=email_locked autocomplete="username"/>
            </label>
            <label>"Your name" <input name="name" required autocomplete="name"/></label>
            <label>"Password"
                <input type="password" name="password" required minlength="12" autocomplete="new-password"/>
                <small class="muted">"At least 12 characters; a phrase of a few words is easiest."</small>
            </label>
            <button class="button" type="submit">"Join"</button>
        </ActionForm>
        {move || action.value().get().map(|r| match r {
            Ok(result) if result.status == "waitlisted" => view! {
                <p class="ok" role="status">"Thanks! An administrator will review your request; you can sign in once approved."</p>
            }.into_any(),
            Ok(_) => view! { <p class="ok" role="status">"Welcome!"</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.detail}</p> }.into_any(),
        })}
    }
}
