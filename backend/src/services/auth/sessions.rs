//! Browser sessions: password login into a cookie session (id renewed at login), logout, the
//! current user, their permissions and profile.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{check_password, user_dto};
use crate::actor::{Actor, Role};
use crate::db::entities::users;
use crate::services::audit::{self, Event};
use crate::services::validate;
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::UserStatus;
use aerie_contract::auth::{Credentials, OrgMembership, Permissions, UpdateProfile, User};
use aerie_contract::ids::{OrgId, UserId};

/// The session key holding who is signed in.
pub const KEY: &str = "auth";

/// What a session remembers about its user.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionAuth {
    pub user_id: UserId,
    pub org_id: OrgId,
}

fn session_error(e: tower_sessions::session::Error) -> Error {
    Error::Internal(anyhow::anyhow!("session store: {e}"))
}

/// `POST /auth/admin-login` and the login page.
pub async fn login(
    ctx: &AppContext,
    actor: &Actor,
    session: &Session,
    creds: Credentials,
) -> Result<User> {
    let (user, membership) = check_password(ctx, actor, creds, "password").await?;
    sign_in(session, UserId(user.id), OrgId(membership.org_id)).await?;
    user_dto(&user, &membership)
}

/// Signs `user` of `org` into the browser session, under a new session id: a planted session id
/// is worthless (fixation). Password login and single sign-on both end here.
pub async fn sign_in(session: &Session, user: UserId, org: OrgId) -> Result<()> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(
            KEY,
            SessionAuth {
                user_id: user,
                org_id: org,
            },
        )
        .await
        .map_err(session_error)
}

/// The setup wizard: first-run setup, then the new owner is signed in.
pub async fn setup_and_sign_in(
    ctx: &AppContext,
    actor: &Actor,
    session: &Session,
    input: aerie_contract::auth::SetupRequest,
) -> Result<User> {
    let creds = Credentials {
        email: input.email.clone(),
        password: input.password.clone(),
    };
    super::setup(ctx, actor, input).await?;
    login(ctx, actor, session, creds).await
}

/// The signup and invitation pages: joins, and signs in when the account is active at once.
pub async fn sign_up(
    ctx: &AppContext,
    actor: &Actor,
    session: &Session,
    input: aerie_contract::orgs::SignupRequest,
) -> Result<aerie_contract::orgs::SignupResult> {
    let creds = Credentials {
        email: input.email.clone(),
        password: input.password.clone(),
    };
    let result = super::signup::signup(ctx, actor, input, false).await?;
    if result.status == UserStatus::Active {
        login(ctx, actor, session, creds).await?;
    }
    Ok(result)
}

/// `POST /auth/logout`: ends the browser session (and is harmless without one).
pub async fn logout(ctx: &AppContext, actor: &Actor, session: &Session) -> Result<()> {
    if let Ok(p) = actor.principal() {
        audit::record(
            ctx.db(),
            Some(p.org_id),
            actor,
            Event::new("logout").target("user", p.user_id),
        )
        .await?;
    }
    session.flush().await.map_err(session_error)
}

/// The signed-in user of a session, if any (used by authentication).
pub async fn session_auth(session: &Session) -> Result<Option<SessionAuth>> {
    session.get::<SessionAuth>(KEY).await.map_err(session_error)
}

async fn me(
    ctx: &AppContext,
    actor: &Actor,
) -> Result<(users::Model, crate::db::entities::memberships::Model)> {
    let p = actor.principal()?;
    store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .ok_or(Error::Unauthenticated)
}

/// `GET /auth/user`.
pub async fn current_user(ctx: &AppContext, actor: &Actor) -> Result<User> {
    let (user, membership) = me(ctx, actor).await?;
    user_dto(&user, &membership)
}

/// What a role may do.
pub fn permissions_of(role: Role) -> Vec<String> {
    let mut perms = vec![
        "profile:manage",
        "api_keys:manage",
        "agents:use",
        "chat:use",
    ];
    if role >= Role::Admin {
        perms.extend([
            "users:manage",
            "groups:manage",
            "organization:manage",
            "audit:read",
        ]);
    }
    if role == Role::Owner {
        perms.push("organization:own");
    }
    perms.into_iter().map(str::to_owned).collect()
}

/// `GET /auth/my-permissions`.
pub async fn my_permissions(ctx: &AppContext, actor: &Actor) -> Result<Permissions> {
    let p = actor.principal()?;
    let (user, membership) = me(ctx, actor).await?;
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Permissions {
        user: user_dto(&user, &membership)?,
        role: p.role,
        permissions: permissions_of(p.role),
        groups: crate::services::groups::names_of(ctx, p.org_id, p.user_id).await?,
        orgs: vec![OrgMembership {
            id: OrgId(org.id),
            slug: org.slug,
            name: org.name,
            role: membership.role()?,
        }],
        beta_features: Vec::new(),
    })
}

/// `POST /auth/update-profile`: name, avatar URL and language.
pub async fn update_profile(ctx: &AppContext, actor: &Actor, input: UpdateProfile) -> Result<User> {
    let (user, membership) = me(ctx, actor).await?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::PERSON_NAME_MAX))
        .transpose()?;
    let avatar = match input.avatar_url.as_deref() {
        Some("") => Some(None),
        // As documented (`validate::EMPTY_OR_HTTP_URL_PATTERN`).
        Some(url)
            if ["https://", "http://"].iter().any(|scheme| {
                url.strip_prefix(scheme).is_some_and(|rest| {
                    !rest.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
                })
            }) && url.chars().count() <= validate::URL_MAX =>
        {
            Some(Some(url.to_owned()))
        }
        Some(_) => {
            return Err(Error::invalid(
                "avatar_url",
                "avatar_url must be an http(s) URL.",
            ));
        }
        None => None,
    };
    let language = match input.language.as_deref() {
        Some(l) if super::LOCALES.contains(&l) => Some(l.to_owned()),
        Some(_) => {
            return Err(Error::invalid(
                "language",
                format!("language must be one of: {}.", super::LOCALES.join(", ")),
            ));
        }
        None => None,
    };
    let changes = store::users::UserChanges {
        name,
        avatar_url: avatar,
        language,
        ..Default::default()
    };
    let user = store::users::update(
        ctx.db(),
        OrgId(membership.org_id),
        user,
        changes,
        chrono::Utc::now(),
    )
    .await?;
    user_dto(&user, &membership)
}
