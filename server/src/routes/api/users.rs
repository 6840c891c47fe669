//! `/api/users`: user administration (seed 004; admins).

use aerie_backend::actor::Actor;
use aerie_backend::services::users;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::auth::User;
use aerie_contract::ids::UserId;
use aerie_contract::orgs::{Invitation, InviteUser, UpdateUser};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, invite_user))
        .routes(routes!(update_user, delete_user))
}

/// List the organisation's users.
#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, body = [User]), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn list_users(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<User>>, Error> {
    Ok(Json(users::list(&ctx, &actor).await?))
}

/// Invite a user: the answer holds a single-use token and URL (valid 7 days).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = InviteUser,
    responses((status = 201, body = Invitation), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn invite_user(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<InviteUser>,
) -> Result<(StatusCode, Json<Invitation>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(users::invite(&ctx, &actor, input).await?),
    ))
}

/// Change a user's role or status.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 403, description = "Admins only; only an owner may change an owner or make one", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The organisation's last active owner cannot be demoted or disabled", body = ErrorBody)))]
pub async fn update_user(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<UserId>,
    AppJson(input): AppJson<UpdateUser>,
) -> Result<Json<User>, Error> {
    Ok(Json(users::update(&ctx, &actor, id, input).await?))
}

/// Delete a user (soft: they can no longer sign in; their history stays).
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users",
    params(("id" = UserId, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 400, description = "The id is malformed", body = ErrorBody),
        (status = 403, description = "Admins only; only an owner may remove an owner", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "It is your own account, or the last active owner's", body = ErrorBody)))]
pub async fn delete_user(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<UserId>,
) -> Result<StatusCode, Error> {
    users::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
