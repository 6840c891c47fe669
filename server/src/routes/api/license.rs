//! `/api/license/*` (seed 004): the instance's licence tier. Anyone signed in reads it; only
//! the instance operator applies or removes one (docs/LICENSING.md).

use aerie_backend::actor::Actor;
use aerie_backend::services::license;
use aerie_backend::services::operator::Operator;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::license::{ApplyLicense, LicenseStatus};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(license_status))
        .routes(routes!(apply_license))
        .routes(routes!(remove_license))
}

/// The tier in force, its features and limits, and the licence behind them.
#[utoipa::path(get, path = "/api/license/status", tag = "license",
    responses((status = 200, body = LicenseStatus)))]
pub async fn license_status(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<LicenseStatus>, Error> {
    Ok(Json(license::status(&ctx, &actor).await?))
}

/// Apply a licence key (a JWT signed by the licensor; the operator). A bad signature, an
/// expired licence or another audience answers 400 with the reason.
#[utoipa::path(post, path = "/api/license/apply", tag = "license",
    request_body = ApplyLicense,
    responses((status = 200, body = LicenseStatus),
        (status = 400, description = "The licence does not verify: the reason is in `detail`", body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn apply_license(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<ApplyLicense>,
) -> Result<Json<LicenseStatus>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(license::apply(&ctx, &op, &input.license_key).await?))
}

/// Remove the licence: back to Community (the operator).
#[utoipa::path(delete, path = "/api/license", tag = "license",
    responses((status = 200, body = LicenseStatus),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn remove_license(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<LicenseStatus>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(license::remove(&ctx, &op).await?))
}
