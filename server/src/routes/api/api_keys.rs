//! `/api/api-keys`: the signed-in user's keys (seed 004).

use aerie_backend::actor::Actor;
use aerie_backend::services::api_keys;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::api_keys::{ApiKey, ApiKeyWithSecret, NewApiKey};
use aerie_contract::ids::ApiKeyId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_my_api_keys, create_my_api_key))
        .routes(routes!(revoke_my_api_key))
}

/// List my API keys.
#[utoipa::path(get, path = "/api/api-keys", tag = "api_keys",
    responses((status = 200, body = [ApiKey]), (status = 401, body = ErrorBody)))]
pub async fn list_my_api_keys(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<ApiKey>>, Error> {
    Ok(Json(api_keys::list(&ctx, &actor).await?))
}

/// Create an API key (returned once).
#[utoipa::path(post, path = "/api/api-keys", tag = "api_keys", request_body = NewApiKey,
    responses((status = 201, body = ApiKeyWithSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_my_api_key(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyWithSecret>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(api_keys::create(&ctx, &actor, input).await?),
    ))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "api_keys",
    params(("id" = ApiKeyId, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)))]
pub async fn revoke_my_api_key(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ApiKeyId>,
) -> Result<StatusCode, Error> {
    api_keys::revoke(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
