//! `/api/*`: the workspace API (seed 004).

pub mod api_keys;

use aerie_app::backend::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(api_keys::router())
}
