//! `/health/` (seed 000), `/api/health` and `/api` (seed 004), and seed 004's operational checks
//! for admins: `/api/health/db`, `/api/health/redis`, `/api/health/integrations`.

use aerie_backend::actor::Actor;
use aerie_backend::services::system;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::health::{ApiInfo, DependencyHealth, Health, IntegrationsHealth, Liveness};
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
        .routes(routes!(db_health))
        .routes(routes!(redis_health))
        .routes(routes!(integrations_health))
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
    unhealthy(health, error)
}

fn unhealthy<T: Serialize>(health: T, error: ErrorBody) -> Response {
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

fn checked(outcome: Result<system::Checked, Error>) -> Response {
    match outcome {
        Ok(Ok(health)) => Json(health).into_response(),
        Ok(Err((health, e))) => {
            e.log();
            unhealthy(health, e.body())
        }
        Err(e) => e.into_response(),
    }
}

/// Database connectivity: a round trip, with its latency (admins).
#[utoipa::path(get, path = "/api/health/db", tag = "health",
    responses(
        (status = 200, description = "The database answered", body = DependencyHealth),
        (status = 401, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    ))]
pub async fn db_health(State(ctx): State<AppContext>, actor: Actor) -> Response {
    checked(system::database_check(&ctx, &actor).await)
}

/// Redis connectivity: `PING` with its latency, or `not_configured` without `AERIE_REDIS_URL`
/// (admins).
#[utoipa::path(get, path = "/api/health/redis", tag = "health",
    responses(
        (status = 200, description = "Redis answered, or none is configured", body = DependencyHealth),
        (status = 401, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody),
        (status = 503, description = "Redis is unreachable", body = ErrorBody),
    ))]
pub async fn redis_health(State(ctx): State<AppContext>, actor: Actor) -> Response {
    checked(system::redis_check(&ctx, &actor).await)
}

/// Per-integration health: each LLM and single sign-on provider of your organisation, checked
/// now, with its latency or what failed (admins).
#[utoipa::path(get, path = "/api/health/integrations", tag = "health",
    responses(
        (status = 200, body = IntegrationsHealth),
        (status = 401, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody),
    ))]
pub async fn integrations_health(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<IntegrationsHealth>, Error> {
    Ok(Json(system::integrations_check(&ctx, &actor).await?))
}
