//! `/api/sso/*`: an organisation's identity providers and SSO policy (admins; client secrets go
//! in, never out), and `/api/me/identities`: the signed-in user's linked identities.

use aerie_backend::actor::Actor;
use aerie_backend::services::sso;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::{IdentityId, SsoProviderId};
use aerie_contract::sso::{
    LinkedIdentity, SsoPolicy, SsoProvider, SsoProviderInput, SsoTestResult,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sso_providers, create_sso_provider))
        .routes(routes!(
            get_sso_provider,
            update_sso_provider,
            delete_sso_provider
        ))
        .routes(routes!(test_sso_provider))
        .routes(routes!(get_sso_policy, put_sso_policy))
        .routes(routes!(my_identities))
        .routes(routes!(unlink_identity))
}

/// The organisation's identity providers (admins), without client secrets.
#[utoipa::path(get, path = "/api/sso/providers", tag = "sso",
    responses((status = 200, body = [SsoProvider]), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn list_sso_providers(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<SsoProvider>>, Error> {
    Ok(Json(sso::list(&ctx, &actor).await?))
}

/// Add an identity provider (admins). OIDC discovery, the SAML metadata and the redirect URI are
/// checked before it is saved; what to fix is named in the error.
#[utoipa::path(post, path = "/api/sso/providers", tag = "sso", request_body = SsoProviderInput,
    responses((status = 201, body = SsoProvider), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_sso_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SsoProviderInput>,
) -> Result<(StatusCode, Json<SsoProvider>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(sso::create(&ctx, &actor, input).await?),
    ))
}

/// Read an identity provider (admins).
#[utoipa::path(get, path = "/api/sso/providers/{id}", tag = "sso",
    params(("id" = SsoProviderId, Path, description = "Provider id")),
    responses((status = 200, body = SsoProvider), (status = 404, body = ErrorBody)))]
pub async fn get_sso_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<SsoProviderId>,
) -> Result<Json<SsoProvider>, Error> {
    Ok(Json(sso::get(&ctx, &actor, id).await?))
}

/// Change an identity provider (admins); `"client_secret": null` removes the secret.
#[utoipa::path(patch, path = "/api/sso/providers/{id}", tag = "sso", request_body = SsoProviderInput,
    params(("id" = SsoProviderId, Path, description = "Provider id")),
    responses((status = 200, body = SsoProvider), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A trusted domain the organisation's policy does not claim", body = ErrorBody)))]
pub async fn update_sso_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<SsoProviderId>,
    AppJson(input): AppJson<SsoProviderInput>,
) -> Result<Json<SsoProvider>, Error> {
    Ok(Json(sso::update(&ctx, &actor, id, input).await?))
}

/// Remove an identity provider and the identities linked through it (admins).
#[utoipa::path(delete, path = "/api/sso/providers/{id}", tag = "sso",
    params(("id" = SsoProviderId, Path, description = "Provider id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_sso_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<SsoProviderId>,
) -> Result<StatusCode, Error> {
    sso::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Test an identity provider's configuration now (discovery, keys, redirect URI, metadata);
/// a failure is kept as its last error.
#[utoipa::path(post, path = "/api/sso/providers/{id}/test", tag = "sso",
    params(("id" = SsoProviderId, Path, description = "Provider id")),
    responses((status = 200, body = SsoTestResult), (status = 404, body = ErrorBody)))]
pub async fn test_sso_provider(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<SsoProviderId>,
) -> Result<Json<SsoTestResult>, Error> {
    Ok(Json(sso::test(&ctx, &actor, id).await?))
}

/// The organisation's SSO policy (admins).
#[utoipa::path(get, path = "/api/sso/policy", tag = "sso",
    responses((status = 200, body = SsoPolicy), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn get_sso_policy(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<SsoPolicy>, Error> {
    Ok(Json(sso::get_policy(&ctx, &actor).await?))
}

/// Set the SSO policy: SSO-only sign-in (owners keep a password), email domains (login routing,
/// linking and provisioning), just-in-time provisioning.
#[utoipa::path(put, path = "/api/sso/policy", tag = "sso", request_body = SsoPolicy,
    responses((status = 200, body = SsoPolicy), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody),
        (status = 409, description = "SSO-only without an enabled provider, or a domain another organisation claims", body = ErrorBody)))]
pub async fn put_sso_policy(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SsoPolicy>,
) -> Result<Json<SsoPolicy>, Error> {
    Ok(Json(sso::put_policy(&ctx, &actor, input).await?))
}

/// The identities linked to my account.
#[utoipa::path(get, path = "/api/me/identities", tag = "sso",
    responses((status = 200, body = [LinkedIdentity]), (status = 401, body = ErrorBody)))]
pub async fn my_identities(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<LinkedIdentity>>, Error> {
    Ok(Json(sso::my_identities(&ctx, &actor).await?))
}

/// Unlink one of my identities (refused for the last way to sign in).
#[utoipa::path(delete, path = "/api/me/identities/{id}", tag = "sso",
    params(("id" = IdentityId, Path, description = "Identity id")),
    responses((status = 204, description = "Unlinked"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unlink_identity(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<IdentityId>,
) -> Result<StatusCode, Error> {
    sso::unlink(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
