//! The gate of the pages that need someone signed in.

use leptos::prelude::*;
use leptos_meta::Title;

use super::PageCard;
use crate::fns::auth::SessionUser;
use crate::ui::session::use_session;

/// Shows the page to a signed-in user (handed to `children`), else a sign-in prompt (`prompt`).
///
/// The page is built again only when who is signed in changes: re-reading the session (after a
/// sign-in, a profile change) that answers the same user leaves the page, and whatever is being
/// typed into it, alone.
#[component]
pub fn SignedIn<V: IntoView + 'static>(
    title: &'static str,
    #[prop(default = "Sign in to continue.")] prompt: &'static str,
    children: impl Fn(SessionUser) -> V + Send + Sync + 'static,
) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <Title text=title/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            <Gate title prompt children/>
        </Transition>
    }
}

/// Inside the `Transition`, so the session is read where the suspense sees it; the memo makes a
/// re-read that answers the same user a no-op.
#[component]
fn Gate<V: IntoView + 'static, F: Fn(SessionUser) -> V + Send + Sync + 'static>(
    title: &'static str,
    prompt: &'static str,
    children: StoredValue<F>,
) -> impl IntoView {
    let session = use_session();
    let user = Memo::new(move |_| session.user.get().map(|u| u.ok().flatten()));
    move || {
        user.get().map(|u| match u {
            Some(user) => children.with_value(|c| c(user)).into_any(),
            None => view! {
                <PageCard title class="card narrow">
                    <p>{prompt}</p>
                    <p><a class="button" href=crate::ui::routes::LOGIN>"Sign in"</a></p>
                </PageCard>
            }
            .into_any(),
        })
    }
}

/// Whether the user administers the organisation (owner or admin).
pub fn is_admin(user: &SessionUser) -> bool {
    user.role.is_admin()
}
