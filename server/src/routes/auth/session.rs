//! Browser-session endpoints of seed 004: password login, logout, the current user, their
//! permissions and profile.

use aerie_backend::actor::Actor;
use aerie_backend::services::auth::sessions;
use aerie_backend::{AppContext, Error};
use aerie_contract::ErrorBody;
use aerie_contract::auth::{Credentials, Permissions, UpdateProfile, User};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tower_sessions::Session;

use crate::extract::AppJson;

/// Password login into a browser session (cookie `aerie_session`).
#[utoipa::path(post, path = "/auth/admin-login", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = User),
        (status = 401, body = ErrorBody),
        (status = 429, description = "Too many attempts (see Retry-After)", body = ErrorBody),
    ))]
pub async fn admin_login(
    State(ctx): State<AppContext>,
    actor: Actor,
    session: Session,
    AppJson(input): AppJson<Credentials>,
) -> Result<Json<User>, Error> {
    Ok(Json(sessions::login(&ctx, &actor, &session, input).await?))
}

/// End the browser session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(ctx): State<AppContext>,
    actor: Actor,
    session: Session,
) -> Result<StatusCode, Error> {
    sessions::logout(&ctx, &actor, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/auth/user", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn current_user(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<User>, Error> {
    Ok(Json(sessions::current_user(&ctx, &actor).await?))
}

/// Role, permissions, groups, organisations and beta features of the signed-in user.
#[utoipa::path(get, path = "/auth/my-permissions", tag = "auth",
    responses((status = 200, body = Permissions), (status = 401, body = ErrorBody)))]
pub async fn my_permissions(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Permissions>, Error> {
    Ok(Json(sessions::my_permissions(&ctx, &actor).await?))
}

/// Update my profile: name, avatar URL, language.
#[utoipa::path(post, path = "/auth/update-profile", tag = "auth", request_body = UpdateProfile,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_profile(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<UpdateProfile>,
) -> Result<Json<User>, Error> {
    Ok(Json(sessions::update_profile(&ctx, &actor, input).await?))
}
