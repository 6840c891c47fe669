//! HTTP surfaces, one module per family. Handlers are thin: extract, call one service, map.

pub mod api;
pub mod auth;
pub mod fallback;
pub mod family;
pub mod health;
pub mod metrics;
pub mod v1;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

use family::Family;

/// Every documented route, each in its family (`family.rs`).
pub fn api() -> OpenApiRouter<AppState> {
    // Health and operations: the admins' dependency checks take a person; liveness, readiness,
    // discovery and metrics say otherwise on their own operation.
    let health = health::router().merge(metrics::router());
    OpenApiRouter::new()
        .merge(Family::PEOPLE.routes(health))
        .merge(auth::router())
        .merge(v1::router())
        .merge(api::router())
}
