//! `/auth/*`: first-run setup, JWT login (seed 000/001) and browser sessions (seed 004). Four
//! families (`routes/family.rs`): signing in (public, limited per client), the other public legs,
//! the profile (people and API keys) and the signup administration (people).

pub mod session;
pub mod signup;
pub mod sso;

use aerie_backend::actor::Actor;
use aerie_backend::services::auth;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::auth::{
    Credentials, RefreshRequest, SetupRequest, SetupResult, SetupStatus, TokenPair,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;
use crate::routes::family::Family;

pub fn router() -> OpenApiRouter<AppState> {
    // Attempts limited per client: logins, token refresh, signups, first-run setup (the
    // password-hashing gate) and single sign-on flow starts.
    let sign_in = OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(create_tokens))
        .routes(routes!(refresh_tokens))
        .routes(routes!(session::admin_login))
        .routes(routes!(signup::signup_user))
        .routes(routes!(signup::pending_signup))
        .routes(routes!(sso::sso_login));
    let public = OpenApiRouter::new()
        .routes(routes!(sso::sso_callback))
        .routes(routes!(sso::login_pickup))
        .routes(routes!(sso::discover))
        .routes(routes!(sso::pending_link, sso::confirm_link))
        .routes(routes!(setup_status))
        .routes(routes!(session::logout))
        .routes(routes!(signup::resolve_invite))
        .routes(routes!(signup::public_organizations));
    #[cfg(feature = "saml")]
    let public = public
        .routes(routes!(sso::saml_metadata))
        .routes(routes!(sso::saml_acs));
    let profile = OpenApiRouter::new()
        .routes(routes!(session::current_user))
        .routes(routes!(session::my_permissions))
        .routes(routes!(session::update_profile));
    let admin = OpenApiRouter::new()
        .routes(routes!(
            signup::get_signup_settings,
            signup::put_signup_settings
        ))
        .routes(routes!(signup::waitlist))
        .routes(routes!(signup::approve))
        .routes(routes!(signup::reject));
    Family::SIGN_IN
        .routes(sign_in)
        .merge(Family::PUBLIC.routes(public))
        .merge(Family::DATA_PLANE.routes(profile))
        .merge(Family::PEOPLE.routes(admin))
}

/// Is the instance set up? Which OAuth providers and languages are available?
#[utoipa::path(get, path = "/auth/setup-status", tag = "auth",
    responses((status = 200, body = SetupStatus)))]
pub async fn setup_status(State(ctx): State<AppContext>) -> Result<Json<SetupStatus>, Error> {
    Ok(Json(auth::setup_status(&ctx).await?))
}

/// First-run setup: creates the first organisation and its owner. Works exactly once.
#[utoipa::path(post, path = "/auth/setup", tag = "auth", request_body = SetupRequest,
    responses(
        (status = 201, body = SetupResult),
        (status = 400, description = "A field is missing or invalid (named in `detail`)", body = ErrorBody),
        (status = 409, description = "Already set up", body = ErrorBody),
    ))]
pub async fn setup(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<SetupRequest>,
) -> Result<(StatusCode, Json<SetupResult>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(auth::setup(&ctx, &actor, input).await?),
    ))
}

/// Login: email and password for a JWT access token and a refresh token.
#[utoipa::path(post, path = "/auth/jwt/create/", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "No active account with these credentials", body = ErrorBody),
    ))]
pub async fn create_tokens(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<Credentials>,
) -> Result<Json<TokenPair>, Error> {
    Ok(Json(auth::create_tokens(&ctx, &actor, input).await?))
}

/// Exchanges a refresh token for a new access token and a new refresh token (rotation). A
/// refresh token presented twice revokes its whole family.
#[utoipa::path(post, path = "/auth/jwt/refresh/", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "token_not_valid", body = ErrorBody),
    ))]
pub async fn refresh_tokens(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<RefreshRequest>,
) -> Result<Json<TokenPair>, Error> {
    Ok(Json(auth::refresh_tokens(&ctx, &actor, input).await?))
}
