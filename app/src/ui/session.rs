//! Who is signed in, shared by the layout and the pages; refreshed after sign-in and sign-out.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::fns::auth::{SessionUser, current_user};

#[derive(Clone, Copy)]
pub struct SessionState {
    version: RwSignal<u32>,
    pub user: Resource<Result<Option<SessionUser>, ErrorBody>>,
}

impl SessionState {
    pub fn provide() -> Self {
        let version = RwSignal::new(0);
        let user = Resource::new(move || version.get(), |_| current_user());
        let state = Self { version, user };
        provide_context(state);
        state
    }

    /// Records who just signed in, as the sign-in answered: no second request, and nothing for
    /// a page opened meanwhile to be rebuilt by when it comes back.
    pub fn signed_in(&self, user: SessionUser) {
        self.user.set(Some(Ok(Some(user))));
    }

    /// Re-reads the signed-in user (after sign-out or a change to the profile).
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }
}

pub fn use_session() -> SessionState {
    use_context::<SessionState>().unwrap_or_else(SessionState::provide)
}
