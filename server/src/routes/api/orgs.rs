//! `/api/organisation` and its groups (seed 004).

use aerie_backend::actor::Actor;
use aerie_backend::services::{groups, orgs};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::{GroupId, UserId};
use aerie_contract::orgs::{AddMember, Group, GroupInput, Organization, UpdateOrganization};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_organization, update_organization))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(update_group, delete_group))
        .routes(routes!(add_group_member))
        .routes(routes!(remove_group_member))
}

/// Current organisation settings.
#[utoipa::path(get, path = "/api/organisation", tag = "organizations",
    operation_id = "get_organisation",
    responses((status = 200, body = Organization), (status = 401, body = ErrorBody)))]
pub async fn get_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Organization>, Error> {
    Ok(Json(orgs::get(&ctx, &actor).await?))
}

/// Update organisation settings: name, allowed domains, signup mode (admins).
#[utoipa::path(patch, path = "/api/organisation", tag = "organizations", request_body = UpdateOrganization,
    operation_id = "update_organisation",
    responses((status = 200, body = Organization), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn update_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<UpdateOrganization>,
) -> Result<Json<Organization>, Error> {
    Ok(Json(orgs::update(&ctx, &actor, None, input).await?))
}

/// List groups.
#[utoipa::path(get, path = "/api/organisation/groups", tag = "groups",
    responses((status = 200, body = [Group]), (status = 401, body = ErrorBody)))]
pub async fn list_groups(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Group>>, Error> {
    Ok(Json(groups::list(&ctx, &actor).await?))
}

/// Create a group (admins).
#[utoipa::path(post, path = "/api/organisation/groups", tag = "groups", request_body = GroupInput,
    responses((status = 201, body = Group), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_group(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<GroupInput>,
) -> Result<(StatusCode, Json<Group>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(groups::create(&ctx, &actor, input).await?),
    ))
}

/// Rename or describe a group (admins).
#[utoipa::path(patch, path = "/api/organisation/groups/{id}", tag = "groups", request_body = GroupInput,
    params(("id" = GroupId, Path)),
    responses((status = 200, body = Group), (status = 404, body = ErrorBody),
        (status = 409, description = "Another group has this name", body = ErrorBody)))]
pub async fn update_group(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<GroupId>,
    AppJson(input): AppJson<GroupInput>,
) -> Result<Json<Group>, Error> {
    Ok(Json(groups::update(&ctx, &actor, id, input).await?))
}

/// Delete a group (admins).
#[utoipa::path(delete, path = "/api/organisation/groups/{id}", tag = "groups",
    params(("id" = GroupId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<GroupId>,
) -> Result<StatusCode, Error> {
    groups::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a member to a group (admins).
#[utoipa::path(post, path = "/api/organisation/groups/{id}/members", tag = "groups", request_body = AddMember,
    params(("id" = GroupId, Path)),
    responses((status = 200, body = Group), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_group_member(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<GroupId>,
    AppJson(input): AppJson<AddMember>,
) -> Result<Json<Group>, Error> {
    Ok(Json(
        groups::add_member(&ctx, &actor, id, input.user_id).await?,
    ))
}

/// Remove a member from a group (admins).
#[utoipa::path(delete, path = "/api/organisation/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = GroupId, Path), ("user_id" = UserId, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody)))]
pub async fn remove_group_member(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath((id, user_id)): AppPath<(GroupId, UserId)>,
) -> Result<StatusCode, Error> {
    groups::remove_member(&ctx, &actor, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
