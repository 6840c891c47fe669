//! Identity: first-run setup, password login, JWT access tokens with rotating refresh tokens,
//! and resolving a request's credentials to an actor.

pub mod authenticate;
pub mod jwt;
pub mod limits;
pub mod password;
pub mod sessions;
pub mod signup;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Credential, Principal, Role};
use crate::db::entities::{memberships, organizations, users};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::auth::{
    Credentials, OrgSummary, RefreshRequest, SetupRequest, SetupResult, SetupStatus, TokenPair,
    User,
};
use aerie_contract::ids::{OrgId, UserId};
use aerie_contract::{ErrorCode, UserStatus};

/// Lifetime of a refresh token (each use rotates it).
pub const REFRESH_TTL_DAYS: i64 = 30;

/// Languages the interface ships.
pub const LOCALES: &[&str] = &["en"];

/// The user as answered; a role or status the code does not know is an internal error.
pub fn user_dto(user: &users::Model, membership: &memberships::Model) -> Result<User> {
    Ok(User {
        id: UserId(user.id),
        email: user.email.clone(),
        name: user.name.clone(),
        avatar_url: user.avatar_url.clone(),
        language: user.language.clone(),
        role: membership.role()?,
        status: user.status()?,
        org_id: OrgId(membership.org_id),
        created_at: utc(user.created_at),
    })
}

/// The principal a membership row grants, proven by `credential`. A role the code does not know
/// is an internal error (it grants nothing).
pub fn principal_of(membership: &memberships::Model, credential: Credential) -> Result<Principal> {
    Ok(Principal {
        user_id: UserId(membership.user_id),
        org_id: OrgId(membership.org_id),
        role: membership.role()?,
        credential,
        key_limits: crate::actor::KeyLimits::default(),
    })
}

pub fn org_summary(org: &organizations::Model) -> OrgSummary {
    OrgSummary {
        id: OrgId(org.id),
        slug: org.slug.clone(),
        name: org.name.clone(),
    }
}

/// `GET /auth/setup-status`.
pub async fn setup_status(ctx: &AppContext) -> Result<SetupStatus> {
    Ok(SetupStatus {
        bootstrapped: store::orgs::count_global(ctx.db()).await? > 0,
        oauth_providers: super::sso::configured_kinds(ctx).await?,
        locales: LOCALES.iter().map(|l| (*l).to_owned()).collect(),
        organization_signup: ctx.config().org_signup,
    })
}

/// `POST /auth/setup` and `aerie admin create`: the first organisation and its owner, once.
pub async fn setup(ctx: &AppContext, actor: &Actor, input: SetupRequest) -> Result<SetupResult> {
    // One setup at a time in this process; the count below is re-checked inside it.
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = SETUP.lock().await;

    let email = validate::email(&input.email)?;
    password::validate(&input.password, &email)?;
    let default_name = email.split('@').next().unwrap_or_default().to_owned();
    let name = validate::name(
        "name",
        input.name.as_deref().unwrap_or(&default_name),
        validate::PERSON_NAME_MAX,
    )?;
    let org_name = validate::name(
        "organization_name",
        input
            .organization_name
            .as_deref()
            .unwrap_or("My organisation"),
        validate::PERSON_NAME_MAX,
    )?;
    if store::orgs::count_global(ctx.db()).await? > 0 {
        return Err(Error::AlreadySetUp);
    }
    let hash = password::hash(input.password).await?;

    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    // Checked again under the write lock: two instances racing through setup create one owner.
    if store::orgs::count_global(&txn).await? > 0 {
        return Err(Error::AlreadySetUp);
    }
    let org = store::orgs::insert(&txn, &validate::slugify(&org_name), &org_name, now).await?;
    let org_id = OrgId(org.id);
    let (user, membership) = store::users::insert_member(
        &txn,
        org_id,
        store::users::NewUser {
            email: &email,
            name: &name,
            password_hash: Some(hash),
            role: Role::Owner,
        },
        now,
    )
    .await?;
    // The first owner operates the instance (docs/TENANTS.md).
    store::users::set_operator_global(&txn, UserId(user.id), true, now).await?;
    let acting = Actor::user(
        Principal {
            user_id: UserId(user.id),
            org_id,
            role: Role::Owner,
            credential: Credential::Cli,
            key_limits: crate::actor::KeyLimits::default(),
        },
        actor.ip,
    );
    audit::record(
        &txn,
        Some(org_id),
        &acting,
        Event::new("setup.completed").target("organization", org.id),
    )
    .await?;
    txn.commit().await?;
    // Single sign-on providers from AERIE_* settings now have their organisation.
    {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = super::sso::apply_configured(&ctx).await {
                e.log();
            }
        });
    }
    Ok(SetupResult {
        user: user_dto(&user, &membership)?,
        organization: org_summary(&org),
    })
}

/// Checks email and password; answers the same error whether the email exists or not, after
/// the same amount of work. Audits both outcomes.
pub async fn check_password(
    ctx: &AppContext,
    actor: &Actor,
    creds: Credentials,
    method: &str,
) -> Result<(users::Model, memberships::Model)> {
    let email = creds.email.trim().to_lowercase();
    if email.is_empty() {
        return Err(Error::invalid("email", "email field is required."));
    }
    if creds.password.is_empty() {
        return Err(Error::invalid("password", "password field is required."));
    }
    ctx.login_limits().check_login(actor.ip, &email)?;
    let user = store::users::find_by_email_global(ctx.db(), &email).await?;
    let stored = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(hash) => hash,
        None => password::dummy_hash().await?.to_owned(),
    };
    let matches = password::verify(creds.password, stored).await?;
    let (found, known) = match (matches, user) {
        (true, Some(user)) if user.status() == Ok(UserStatus::Active) => (
            store::users::first_membership_global(ctx.db(), UserId(user.id))
                .await?
                .map(|m| (user, m)),
            None,
        ),
        (_, user) => (None, user),
    };
    match found {
        Some((user, membership)) => {
            let org = OrgId(membership.org_id);
            let principal = principal_of(&membership, Credential::Jwt)?;
            let owner = principal.role == Role::Owner;
            let acting = Actor::user(principal, actor.ip);
            // SSO-only organisations refuse passwords, except their owners' (break-glass).
            let org_row = store::orgs::find(ctx.db(), org).await?;
            if org_row.as_ref().is_some_and(|o| o.suspended_at.is_some()) {
                audit::record(
                    ctx.db(),
                    Some(org),
                    &acting,
                    Event::new("login.refused")
                        .target("user", user.id)
                        .details(serde_json::json!({ "method": method, "reason": "suspended" })),
                )
                .await?;
                return Err(Error::Code(ErrorCode::OrganizationSuspended));
            }
            let sso_only = org_row.is_some_and(|o| super::sso::policy_of(&o).sso_only);
            if sso_only && !owner {
                audit::record(
                    ctx.db(),
                    Some(org),
                    &acting,
                    Event::new("login.refused")
                        .target("user", user.id)
                        .details(serde_json::json!({ "method": method, "reason": "sso_only" })),
                )
                .await?;
                return Err(Error::detailed(
                    ErrorCode::Forbidden,
                    "Your organisation signs in with single sign-on: use its sign-in button instead of a password.",
                ));
            }
            ctx.login_limits().login_succeeded(actor.ip, &email);
            audit::record(
                ctx.db(),
                Some(org),
                &acting,
                Event::new(if sso_only {
                    "login.break_glass"
                } else {
                    "login.succeeded"
                })
                .target("user", user.id)
                .details(serde_json::json!({ "method": method })),
            )
            .await?;
            Ok((user, membership))
        }
        None => {
            ctx.login_limits().login_failed(actor.ip, &email);
            // Who tried is worth keeping; the attempted password never is. A member's failed
            // login belongs to their organisation; an unknown email to no organisation (the
            // instance's security log, which no organisation's audit trail shows).
            let org = match known {
                Some(user) => store::users::first_membership_global(ctx.db(), UserId(user.id))
                    .await?
                    .map(|m| OrgId(m.org_id)),
                None => None,
            };
            audit::record(
                ctx.db(),
                org,
                actor,
                Event::new("login.failed")
                    .details(serde_json::json!({ "email": email, "method": method })),
            )
            .await?;
            Err(Error::Code(ErrorCode::InvalidCredentials))
        }
    }
}

/// `POST /auth/jwt/create/`: an access token and a new refresh-token family.
pub async fn create_tokens(
    ctx: &AppContext,
    actor: &Actor,
    creds: Credentials,
) -> Result<TokenPair> {
    let (user, membership) = check_password(ctx, actor, creds, "jwt").await?;
    issue_pair(
        ctx,
        UserId(user.id),
        OrgId(membership.org_id),
        Uuid::now_v7(),
        Utc::now(),
    )
    .await
}

async fn issue_pair(
    ctx: &AppContext,
    user: UserId,
    org: OrgId,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<TokenPair> {
    let access = jwt::issue(&ctx.secrets().jwt_signing_key, user.0, org.0, now)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("could not sign an access token")))?;
    let refresh = format!("rt_{}", crypto::random_token(43));
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, &refresh);
    store::refresh_tokens::insert(
        ctx.db(),
        org,
        user,
        family,
        &hash,
        now,
        now + Duration::days(REFRESH_TTL_DAYS),
    )
    .await?;
    Ok(TokenPair { access, refresh })
}

/// `POST /auth/jwt/refresh/`: rotates the refresh token. Presenting a token that was already
/// used revokes its whole family (someone else holds a copy).
pub async fn refresh_tokens(
    ctx: &AppContext,
    actor: &Actor,
    input: RefreshRequest,
) -> Result<TokenPair> {
    if input.refresh.trim().is_empty() {
        return Err(Error::invalid("refresh", "refresh field is required."));
    }
    ctx.login_limits().check_ip(actor.ip)?;
    let now = Utc::now();
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, input.refresh.trim());
    let Some(token) = store::refresh_tokens::find_by_hash_global(ctx.db(), &hash).await? else {
        return Err(Error::RefreshTokenInvalid);
    };
    let org = OrgId(token.org_id);
    if token.revoked_at.is_some() {
        return Err(Error::RefreshTokenInvalid);
    }
    if token.used_at.is_some()
        || !store::refresh_tokens::claim(ctx.db(), org, token.id, now).await?
    {
        let revoked =
            store::refresh_tokens::revoke_family(ctx.db(), org, token.family_id, now).await?;
        audit::record(
            ctx.db(),
            Some(org),
            actor,
            Event::new("token.reuse_detected")
                .target("user", token.user_id)
                .details(serde_json::json!({ "family": token.family_id, "revoked": revoked })),
        )
        .await?;
        return Err(Error::RefreshTokenInvalid);
    }
    if utc(token.expires_at) <= now {
        return Err(Error::RefreshTokenInvalid);
    }
    match store::users::find_member_standing(ctx.db(), org, UserId(token.user_id)).await? {
        // Suspended: no new tokens, but the family survives for when it resumes.
        Some((user, _, true)) if user.status() == Ok(UserStatus::Active) => {
            return Err(Error::Code(ErrorCode::OrganizationSuspended));
        }
        Some((user, _, false)) if user.status() == Ok(UserStatus::Active) => {}
        _ => {
            store::refresh_tokens::revoke_family(ctx.db(), org, token.family_id, now).await?;
            return Err(Error::RefreshTokenInvalid);
        }
    }
    issue_pair(ctx, UserId(token.user_id), org, token.family_id, now).await
}
