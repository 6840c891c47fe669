//! Sign in with email and password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::fns::auth::Login;
use crate::ui::routes;
use crate::ui::session::use_session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let action = ServerAction::<Login>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            session.refresh();
            navigate(routes::API_KEYS, Default::default());
        }
    });
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=action>
                <label>"Email"
                    <input type="email" name="email" required autocomplete="username" autofocus/>
                </label>
                <label>"Password"
                    <input type="password" name="password" required autocomplete="current-password"/>
                </label>
                <button class="button" type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            {move || action.value().get().and_then(Result::err).map(|e| view! {
                <p class="error" role="alert">{e.detail}</p>
            })}
            <p class="muted">"New here? " <a href=routes::SIGNUP>"Create an account"</a>
                " · First run? " <a href=routes::SETUP>"Set up Aerie"</a></p>
        </section>
    }
}
