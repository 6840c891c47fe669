//! Leptos server functions: each parses, authorizes and calls one service function.
//! Their URLs live under `/_server/` so they never collide with the public `/api/*` REST family.

pub mod system;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::backend::AppState;
    use crate::contract::{ErrorBody, ErrorCode};
    use leptos::prelude::use_context;

    /// The application state provided by `leptos_routes`.
    pub fn state() -> Result<AppState, ErrorBody> {
        use_context::<AppState>().ok_or_else(|| ErrorBody::new(ErrorCode::Internal))
    }
}
