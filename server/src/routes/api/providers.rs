//! `/api/providers`: an organisation's upstream LLM connections (admins write; secrets never
//! answered).

use aerie_backend::actor::Actor;
use aerie_backend::services::providers;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::ProviderId;
use aerie_contract::providers::{NewProvider, Provider, ProviderCheck, UpdateProvider};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(get_provider, update_provider, delete_provider))
        .routes(routes!(test_provider))
}

/// List the organisation's providers (and the configured one), without secrets.
#[utoipa::path(get, path = "/api/providers", tag = "providers",
    responses((status = 200, body = [Provider]), (status = 401, body = ErrorBody)))]
pub async fn list_providers(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Provider>>, Error> {
    Ok(Json(providers::list(&ctx, &actor).await?))
}

/// Connect an OpenAI-compatible provider (admins). Models are discovered when not given.
#[utoipa::path(post, path = "/api/providers", tag = "providers", request_body = NewProvider,
    responses((status = 201, body = Provider), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewProvider>,
) -> Result<(StatusCode, Json<Provider>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(providers::create(&ctx, &actor, input).await?),
    ))
}

/// Read a provider.
#[utoipa::path(get, path = "/api/providers/{id}", tag = "providers",
    params(("id" = ProviderId, Path, description = "Provider id")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ProviderId>,
) -> Result<Json<Provider>, Error> {
    Ok(Json(providers::get(&ctx, &actor, id).await?))
}

/// Change a provider (admins); `"api_key": null` removes the secret.
#[utoipa::path(patch, path = "/api/providers/{id}", tag = "providers", request_body = UpdateProvider,
    params(("id" = ProviderId, Path, description = "Provider id")),
    responses((status = 200, body = Provider), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ProviderId>,
    AppJson(input): AppJson<UpdateProvider>,
) -> Result<Json<Provider>, Error> {
    Ok(Json(providers::update(&ctx, &actor, id, input).await?))
}

/// Remove a provider no agent uses (admins).
#[utoipa::path(delete, path = "/api/providers/{id}", tag = "providers",
    params(("id" = ProviderId, Path, description = "Provider id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ProviderId>,
) -> Result<StatusCode, Error> {
    providers::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Test the connection: lists the upstream's models.
#[utoipa::path(post, path = "/api/providers/{id}/test", tag = "providers",
    params(("id" = ProviderId, Path, description = "Provider id")),
    responses((status = 200, body = ProviderCheck), (status = 404, body = ErrorBody)))]
pub async fn test_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ProviderId>,
) -> Result<Json<ProviderCheck>, Error> {
    Ok(Json(providers::test(&ctx, &actor, id).await?))
}
