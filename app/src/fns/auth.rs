//! Setup, sign-in and sign-out for the dashboard.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contract::ErrorBody;
use crate::contract::auth::{SetupStatus, User};
use crate::contract::ids::UserId;
use crate::contract::kinds::Role;

/// The signed-in user as the layout and the pages read it from the session (`ui::session`):
/// what they show or check, and no more. The session is in every page's main wasm module, so
/// the full [`User`] (its `created_at` brings chrono's date parser) stays with the pages that
/// show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: UserId,
    pub name: String,
    pub email: String,
    /// The role in the current organisation.
    pub role: Role,
    /// The instance operator (the menu shows the operator's page).
    #[serde(default)]
    pub operator: bool,
}

impl From<User> for SessionUser {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            operator: false,
        }
    }
}

/// `user` with whether they operate the instance.
#[cfg(feature = "ssr")]
async fn with_operator(
    ctx: &crate::backend::AppContext,
    user: crate::contract::auth::User,
) -> Result<SessionUser, ErrorBody> {
    let operator = crate::backend::services::operator::is_operator_user(ctx, user.id)
        .await
        .map_err(super::ssr::err)?;
    Ok(SessionUser {
        operator,
        ..user.into()
    })
}

#[server(prefix = "/_server", endpoint = "setup_status")]
pub async fn get_setup_status() -> Result<SetupStatus, ErrorBody> {
    let (ctx, _) = super::ssr::context().await?;
    crate::backend::services::auth::setup_status(&ctx)
        .await
        .map_err(super::ssr::err)
}

/// First-run setup from the wizard; signs the new owner in.
#[server(prefix = "/_server", endpoint = "setup")]
pub async fn run_setup(
    organization_name: String,
    name: String,
    email: String,
    password: String,
) -> Result<SessionUser, ErrorBody> {
    use crate::contract::auth::SetupRequest;
    let (ctx, actor) = super::ssr::context().await?;
    let session = super::ssr::session().await?;
    let request = SetupRequest {
        email,
        password,
        name: Some(name),
        organization_name: Some(organization_name),
    };
    let user = crate::backend::services::auth::sessions::setup_and_sign_in(
        &ctx, &actor, &session, request,
    )
    .await
    .map_err(super::ssr::err)?;
    with_operator(&ctx, user).await
}

#[server(prefix = "/_server", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<SessionUser, ErrorBody> {
    use crate::contract::auth::Credentials;
    let (ctx, actor) = super::ssr::context().await?;
    let session = super::ssr::session().await?;
    let creds = Credentials { email, password };
    let user = crate::backend::services::auth::sessions::login(&ctx, &actor, &session, creds)
        .await
        .map_err(super::ssr::err)?;
    with_operator(&ctx, user).await
}

#[server(prefix = "/_server", endpoint = "logout")]
pub async fn logout() -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    let session = super::ssr::session().await?;
    crate::backend::services::auth::sessions::logout(&ctx, &actor, &session)
        .await
        .map_err(super::ssr::err)
}

/// The signed-in user, or `None`.
#[server(prefix = "/_server", endpoint = "me")]
pub async fn current_user() -> Result<Option<SessionUser>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    if actor.principal().is_err() {
        return Ok(None);
    }
    let user = crate::backend::services::auth::sessions::current_user(&ctx, &actor)
        .await
        .map_err(super::ssr::err)?;
    with_operator(&ctx, user).await.map(Some)
}

/// What an invitation is for (the invitation page).
#[server(prefix = "/_server", endpoint = "invite_info")]
pub async fn get_invite(token: String) -> Result<crate::contract::orgs::InviteInfo, ErrorBody> {
    let (ctx, _) = super::ssr::context().await?;
    crate::backend::services::auth::signup::invite_info(&ctx, &token)
        .await
        .map_err(super::ssr::err)
}

/// Joins (by invitation when `invite_token` is set) or, with `new_organization`, creates an
/// organisation of one's own where the operator allows it; signs in when the account is active.
#[server(prefix = "/_server", endpoint = "signup")]
pub async fn sign_up(
    email: String,
    password: String,
    name: String,
    invite_token: String,
    #[server(default)] new_organization: String,
) -> Result<crate::contract::orgs::SignupResult, ErrorBody> {
    use crate::contract::orgs::SignupRequest;
    let (ctx, actor) = super::ssr::context().await?;
    let session = super::ssr::session().await?;
    let input = SignupRequest {
        email,
        password,
        name: Some(name).filter(|n| !n.trim().is_empty()),
        invite_token: Some(invite_token).filter(|t| !t.is_empty()),
        organization: None,
        new_organization: Some(new_organization).filter(|n| !n.trim().is_empty()),
    };
    crate::backend::services::auth::sessions::sign_up(&ctx, &actor, &session, input)
        .await
        .map_err(super::ssr::err)
}
