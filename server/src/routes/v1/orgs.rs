//! Egret's organisations (seed 000): people only (JWT or session; an API key answers 401, see
//! `server/src/middleware/credentials.rs`), trailing slashes as documented.

use aerie_backend::actor::Actor;
use aerie_backend::services::orgs;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::orgs::{Organization, UpdateOrganization};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs))
        .routes(routes!(get_org, update_org))
}

/// List organizations (yours).
#[utoipa::path(get, path = "/v1/orgs/", tag = "organizations",
    responses((status = 200, body = [Organization]), (status = 401, body = ErrorBody)))]
pub async fn list_orgs(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Organization>>, Error> {
    Ok(Json(orgs::list_mine(&ctx, &actor).await?))
}

/// Organization detail.
#[utoipa::path(get, path = "/v1/orgs/{slug}/", tag = "organizations",
    params(("slug" = String, Path)),
    responses((status = 200, body = Organization), (status = 404, body = ErrorBody)))]
pub async fn get_org(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(slug): AppPath<String>,
) -> Result<Json<Organization>, Error> {
    Ok(Json(orgs::get_by_slug(&ctx, &actor, &slug).await?))
}

/// Update the organization's name or allowed domains (admins).
#[utoipa::path(patch, path = "/v1/orgs/{slug}/", tag = "organizations",
    params(("slug" = String, Path)), request_body = UpdateOrganization,
    responses((status = 200, body = Organization), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_org(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(slug): AppPath<String>,
    AppJson(input): AppJson<UpdateOrganization>,
) -> Result<Json<Organization>, Error> {
    Ok(Json(orgs::update(&ctx, &actor, Some(&slug), input).await?))
}
