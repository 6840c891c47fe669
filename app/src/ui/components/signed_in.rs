//! The gate of the pages that need someone signed in.

use leptos::prelude::*;
use leptos_meta::Title;

use super::PageCard;
use crate::fns::auth::SessionUser;
use crate::ui::session::use_session;

/// Shows the page to a signed-in user (handed to `children`), else a sign-in prompt (`prompt`).
#[component]
pub fn SignedIn<V: IntoView + 'static>(
    title: &'static str,
    #[prop(default = "Sign in to continue.")] prompt: &'static str,
    children: impl Fn(SessionUser) -> V + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Title text=title/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || session.user.get().map(|u| match u {
                Ok(Some(user)) => children.with_value(|c| c(user)).into_any(),
                _ => view! {
                    <PageCard title class="card narrow">
                        <p>{prompt}</p>
                        <p><a class="button" href=crate::ui::routes::LOGIN>"Sign in"</a></p>
                    </PageCard>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Whether the user administers the organisation (owner or admin).
pub fn is_admin(user: &SessionUser) -> bool {
    user.role.is_admin()
}
