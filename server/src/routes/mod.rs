//! HTTP surfaces, one module per family. Handlers are thin: extract, call one service, map.

pub mod fallback;
pub mod health;
pub mod metrics;

use aerie_app::backend::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every documented route.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(metrics::router())
}
