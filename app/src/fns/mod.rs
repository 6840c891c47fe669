//! Leptos server functions: each parses, authorizes and calls one service function.
//! Their URLs live under `/_server/` so they never collide with the public `/api/*` REST family.

pub mod admin;
pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod billing;
pub mod chat;
pub mod knowledge;
pub mod operator;
pub mod providers;
pub mod runs;
pub mod sso;
pub mod system;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::backend::actor::Actor;
    use crate::backend::{AppContext, AppState};
    use crate::contract::{ErrorBody, ErrorCode};
    use leptos::prelude::use_context;

    /// The application state provided by `leptos_routes`.
    pub fn state() -> Result<AppState, ErrorBody> {
        use_context::<AppState>().ok_or_else(|| ErrorBody::new(ErrorCode::Internal))
    }

    /// The service context and the caller, as resolved by the auth middleware.
    pub async fn context() -> Result<(AppContext, Actor), ErrorBody> {
        let state = state()?;
        let actor = leptos_axum::extract::<Actor>().await.unwrap_or_default();
        Ok((state.ctx, actor))
    }

    /// Converts a service error for the wire and gives the response the error's HTTP status
    /// (server functions answer 500 for every error otherwise).
    pub fn err(e: crate::backend::Error) -> ErrorBody {
        let body = ErrorBody::from(e);
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = axum::http::StatusCode::from_u16(body.status())
        {
            response.set_status(status);
        }
        body
    }

    /// A whole number typed into a form field: empty is `None` (what `empty` says it means),
    /// thousands separators are ignored, anything else is a 400 naming the field.
    pub fn optional_number<T: std::str::FromStr>(
        field: &'static str,
        raw: &str,
        empty: &str,
    ) -> Result<Option<T>, ErrorBody> {
        let raw = raw.trim().replace([',', '_', ' '], "");
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| {
            err(crate::backend::Error::invalid(
                field,
                format!("{field} must be a whole number (empty: {empty})."),
            ))
        })
    }

    /// The browser session of this request.
    pub async fn session() -> Result<tower_sessions::Session, ErrorBody> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|_| ErrorBody::new(ErrorCode::Internal))
    }
}
