//! Signup, invitations, waitlist and signup settings (seed 004).

use aerie_backend::actor::Actor;
use aerie_backend::services::auth::signup;
use aerie_backend::services::{orgs, users};
use aerie_backend::{AppContext, Error};
use aerie_contract::ErrorBody;
use aerie_contract::auth::User;
use aerie_contract::ids::UserId;
use aerie_contract::orgs::{
    InviteInfo, PublicOrganization, SignupRequest, SignupResult, SignupSettings,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{AppJson, AppPath};

/// Register: by invitation, or as the organisation's signup mode allows.
#[utoipa::path(post, path = "/auth/signup", tag = "signup", request_body = SignupRequest,
    responses(
        (status = 201, description = "`status` is `active` (sign in) or `waitlisted`", body = SignupResult),
        (status = 400, body = ErrorBody), (status = 403, description = "Signups closed or invitation required", body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn signup_user(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResult>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(signup::signup(&ctx, &actor, input, false).await?),
    ))
}

/// Join the waitlist (organisations in `waitlist` mode).
#[utoipa::path(post, path = "/auth/pending-signup", tag = "signup", request_body = SignupRequest,
    responses(
        (status = 201, body = SignupResult), (status = 400, body = ErrorBody),
        (status = 403, description = "No waitlist, or signups closed, for this organisation", body = ErrorBody),
        (status = 409, description = "The email address has an account", body = ErrorBody),
    ))]
pub async fn pending_signup(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResult>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(signup::signup(&ctx, &actor, input, true).await?),
    ))
}

/// Resolve an invitation token.
#[utoipa::path(get, path = "/auth/invite/{token}", tag = "signup", params(("token" = String, Path)),
    responses((status = 200, body = InviteInfo), (status = 404, description = "Unknown, used or expired", body = ErrorBody)))]
pub async fn resolve_invite(
    State(ctx): State<AppContext>,
    AppPath(token): AppPath<String>,
) -> Result<Json<InviteInfo>, Error> {
    Ok(Json(signup::invite_info(&ctx, &token).await?))
}

/// Public organisations (for embedded chat): names and slugs.
#[utoipa::path(get, path = "/auth/organizations/public", tag = "signup",
    responses((status = 200, body = [PublicOrganization])))]
pub async fn public_organizations(
    State(ctx): State<AppContext>,
) -> Result<Json<Vec<PublicOrganization>>, Error> {
    Ok(Json(orgs::list_public(&ctx).await?))
}

/// Read the signup settings (admins).
#[utoipa::path(get, path = "/auth/admin/signup-settings", tag = "signup",
    responses((status = 200, body = SignupSettings), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn get_signup_settings(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<SignupSettings>, Error> {
    Ok(Json(orgs::signup_settings(&ctx, &actor).await?))
}

/// Write the signup settings (admins).
#[utoipa::path(put, path = "/auth/admin/signup-settings", tag = "signup", request_body = SignupSettings,
    responses((status = 200, body = SignupSettings), (status = 400, body = ErrorBody), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn put_signup_settings(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SignupSettings>,
) -> Result<Json<SignupSettings>, Error> {
    Ok(Json(orgs::put_signup_settings(&ctx, &actor, input).await?))
}

/// Pending signups (admins).
#[utoipa::path(get, path = "/auth/admin/waitlist", tag = "signup",
    responses((status = 200, body = [User]), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn waitlist(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<User>>, Error> {
    Ok(Json(users::waitlist(&ctx, &actor).await?))
}

/// Approve a waitlisted signup (admins).
#[utoipa::path(post, path = "/auth/admin/waitlist/{user_id}/approve", tag = "signup",
    params(("user_id" = UserId, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn approve(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<UserId>,
) -> Result<Json<User>, Error> {
    Ok(Json(users::decide(&ctx, &actor, id, true).await?))
}

/// Reject a waitlisted signup (admins).
#[utoipa::path(post, path = "/auth/admin/waitlist/{user_id}/reject", tag = "signup",
    params(("user_id" = UserId, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn reject(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<UserId>,
) -> Result<Json<User>, Error> {
    Ok(Json(users::decide(&ctx, &actor, id, false).await?))
}
