//! `/api/*`: the workspace API (seed 004).

pub mod agents;
pub mod api_keys;
pub mod chat;
pub mod conversations;
pub mod orgs;
pub mod providers;
pub mod sso;
pub mod users;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(agents::router())
        .merge(api_keys::router())
        .merge(chat::router())
        .merge(conversations::router())
        .merge(providers::router())
        .merge(sso::router())
        .merge(orgs::router())
        .merge(users::router())
}
