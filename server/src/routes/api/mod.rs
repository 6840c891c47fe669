//! `/api/*`: the workspace API (seed 004).

pub mod api_keys;
pub mod orgs;
pub mod users;

use aerie_app::backend::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api_keys::router())
        .merge(orgs::router())
        .merge(users::router())
}
