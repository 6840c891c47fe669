//! `/health/` (seed 000), `/api/health` and `/api` (seed 004).

use aerie_app::backend::services::system;
use aerie_app::backend::{AppContext, AppState, Error};
use aerie_app::contract::ErrorBody;
use aerie_app::contract::health::{ApiInfo, Health, Liveness};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(liveness))
        .route("/health", axum::routing::get(liveness))
        .routes(routes!(api_health))
        .routes(routes!(api_info))
}

/// A 503 that is both the contract error body and the health body monitors expect.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Unhealthy<T: Serialize> {
    #[serde(flatten)]
    pub error: ErrorBody,
    #[serde(flatten)]
    pub health: T,
}

fn unavailable<T: Serialize>(health: T, e: Error) -> Response {
    e.log();
    let mut error = e.body();
    error.detail = "The database is unreachable.".to_owned();
    error.error.message = error.detail.clone();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Unhealthy { error, health }),
    )
        .into_response()
}

/// API health check: the server and its database answer.
#[utoipa::path(get, path = "/health/", tag = "health",
    security(()),
    responses(
        (status = 200, description = "Healthy", body = Liveness),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    ))]
pub async fn liveness(State(ctx): State<AppContext>) -> Response {
    match system::liveness(&ctx).await {
        Ok(live) => Json(live).into_response(),
        Err(e) => unavailable(
            Liveness {
                status: "unhealthy".to_owned(),
                timestamp: chrono::Utc::now().to_rfc3339(),
            },
            e,
        ),
    }
}

/// Liveness and readiness: status, version and licence tier.
#[utoipa::path(get, path = "/api/health", tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    ))]
pub async fn api_health(State(ctx): State<AppContext>) -> Response {
    match system::health(&ctx).await {
        Ok(health) => Json(health).into_response(),
        Err((health, e)) => unavailable(health, e),
    }
}

/// API information: name, version and links to the documentation.
#[utoipa::path(get, path = "/api", tag = "health",
    security(()),
    responses((status = 200, description = "What this server is", body = ApiInfo)))]
pub async fn api_info() -> Json<ApiInfo> {
    Json(system::api_info())
}
