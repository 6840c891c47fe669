//! Egret's API-key management (seed 000): people only (JWT or session; an API key answers 401,
//! see `server/src/middleware/credentials.rs`), trailing slashes as documented. Its plans
//! (public) and the subscription with its credit quota (a person or an API key) are families of
//! their own (`routes/v1/mod.rs`).

use aerie_backend::actor::Actor;
use aerie_backend::services::{api_keys, billing};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::api_keys::{ApiKey, ApiKeyWithSecret, NewApiKey, UpdateApiKey};
use aerie_contract::billing::{Plan, Subscription};
use aerie_contract::ids::ApiKeyId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(update_api_key))
        .routes(routes!(rotate_api_key))
}

/// `GET /v1/billings/plans/` (public).
pub fn plans_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_plans))
}

/// `GET /v1/billings/subscription/` (a person or an API key).
pub fn subscription_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_subscription))
}

/// The plans on offer: credits per month, rate limits and features of each.
#[utoipa::path(get, path = "/v1/billings/plans/", tag = "billing",
    responses((status = 200, body = [Plan])))]
pub async fn list_plans(State(ctx): State<AppContext>) -> Result<Json<Vec<Plan>>, Error> {
    Ok(Json(billing::plans(&ctx).await?))
}

/// Your organisation's plan and this period's credit quota (`current_quota.credits_remaining`;
/// a call that does not fit answers 402).
#[utoipa::path(get, path = "/v1/billings/subscription/", tag = "billing",
    responses((status = 200, body = Subscription), (status = 401, body = ErrorBody)))]
pub async fn get_subscription(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Subscription>, Error> {
    Ok(Json(billing::subscription(&ctx, &actor).await?))
}

/// List your API keys (prefix, name, dates; never the secret).
#[utoipa::path(get, path = "/v1/billings/api-keys/", tag = "api_keys",
    responses((status = 200, body = [ApiKey]), (status = 401, body = ErrorBody)))]
pub async fn list_api_keys(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<ApiKey>>, Error> {
    Ok(Json(api_keys::list(&ctx, &actor).await?))
}

/// Create an API key. The answer holds the key itself, exactly once.
#[utoipa::path(post, path = "/v1/billings/api-keys/", tag = "api_keys", request_body = NewApiKey,
    responses((status = 201, body = ApiKeyWithSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_api_key(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyWithSecret>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(api_keys::create(&ctx, &actor, input).await?),
    ))
}

/// Change a key: set (`"expires_at": "2027-01-31"`) or clear (`null`) its expiry, and its own
/// requests and tokens per minute (`null`: the plan's; above the plan's takes an admin).
#[utoipa::path(patch, path = "/v1/billings/api-keys/{id}/update/", tag = "api_keys", request_body = UpdateApiKey,
    params(("id" = ApiKeyId, Path, description = "Key id")),
    responses((status = 200, body = ApiKey), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody)))]
pub async fn update_api_key(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ApiKeyId>,
    AppJson(input): AppJson<UpdateApiKey>,
) -> Result<Json<ApiKey>, Error> {
    Ok(Json(api_keys::update(&ctx, &actor, id, input).await?))
}

/// Rotate a key: a new secret is returned once and the old one stops working.
#[utoipa::path(post, path = "/v1/billings/api-keys/{id}/rotate/", tag = "api_keys",
    params(("id" = ApiKeyId, Path, description = "Key id")),
    responses((status = 200, body = ApiKeyWithSecret), (status = 404, body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody)))]
pub async fn rotate_api_key(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ApiKeyId>,
) -> Result<Json<ApiKeyWithSecret>, Error> {
    Ok(Json(api_keys::rotate(&ctx, &actor, id).await?))
}
