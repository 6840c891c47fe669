//! HTTP surfaces, one module per family. Handlers are thin: extract, call one service, map.

pub mod api;
pub mod auth;
pub mod fallback;
pub mod health;
pub mod metrics;
pub mod v1;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every documented route.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(metrics::router())
        .merge(auth::router())
        .merge(v1::router())
        .merge(api::router())
}
