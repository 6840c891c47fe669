//! Joining an organisation: by invitation (single-use, expiring), openly, or onto a waitlist an
//! admin decides — as the organisation's signup mode allows.

use chrono::Utc;

use super::{org_summary, password, user_dto};
use crate::actor::Actor;
use crate::services::audit::{self, Event};
use crate::services::license::{self, Seat};
use crate::services::{orgs, validate};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::ids::OrgId;
use aerie_contract::orgs::{InviteInfo, SignupRequest, SignupResult};
use aerie_contract::{SignupMode, UserStatus};

fn invalid_invite() -> Error {
    Error::invalid(
        "invite_token",
        "This invitation is invalid, used or expired; ask for a new one.",
    )
}

/// `GET /auth/invite/{token}`.
pub async fn invite_info(ctx: &AppContext, token: &str) -> Result<InviteInfo> {
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, token.trim());
    let invite = store::invitations::find_by_hash_global(ctx.db(), &hash)
        .await?
        .ok_or(Error::NotFound)?;
    if invite.used_at.is_some() || utc(invite.expires_at) <= Utc::now() {
        return Err(Error::NotFound);
    }
    let org = store::orgs::find(ctx.db(), OrgId(invite.org_id))
        .await?
        .ok_or(Error::NotFound)?;
    Ok(InviteInfo {
        role: invite.role()?,
        email: invite.email,
        organization: org_summary(&org),
        expires_at: utc(invite.expires_at),
    })
}

/// `POST /auth/signup` (and, with `waitlist_only`, `POST /auth/pending-signup`).
pub async fn signup(
    ctx: &AppContext,
    actor: &Actor,
    input: SignupRequest,
    waitlist_only: bool,
) -> Result<SignupResult> {
    let email = validate::email(&input.email)?;
    password::validate(&input.password, &email)?;
    let default_name = email.split('@').next().unwrap_or_default().to_owned();
    let name = validate::name(
        "name",
        input.name.as_deref().unwrap_or(&default_name),
        validate::PERSON_NAME_MAX,
    )?;
    ctx.login_limits().check(actor.ip, &email)?;
    if let Some(org_name) = input
        .new_organization
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if input
            .invite_token
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty())
            || input.organization.is_some()
            || waitlist_only
        {
            return Err(Error::invalid(
                "new_organization",
                "Either create an organisation or join one, not both.",
            ));
        }
        let org_name = org_name.to_owned();
        return own_organization(ctx, actor, &email, &name, input.password, &org_name).await;
    }

    let invite = match input
        .invite_token
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        Some(token) => {
            let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, token.trim());
            let invite = store::invitations::find_by_hash_global(ctx.db(), &hash)
                .await?
                .ok_or_else(invalid_invite)?;
            if invite.used_at.is_some() || utc(invite.expires_at) <= Utc::now() {
                return Err(invalid_invite());
            }
            if invite.email != email {
                return Err(Error::invalid(
                    "email",
                    "This invitation was sent to another email address.",
                ));
            }
            Some(invite)
        }
        None => None,
    };
    let org = match (&invite, input.organization.as_deref()) {
        (Some(i), _) => store::orgs::find(ctx.db(), OrgId(i.org_id)).await?,
        (None, Some(slug)) => store::orgs::find_by_slug_global(ctx.db(), slug).await?,
        (None, None) => store::orgs::first_global(ctx.db()).await?,
    }
    .ok_or_else(|| Error::invalid("organization", "No such organisation (is Aerie set up?)."))?;
    let org_id = OrgId(org.id);

    let (status, role) = match (&invite, org.signup_mode()?) {
        (Some(i), _) if !waitlist_only => (UserStatus::Active, i.role()?),
        (None, SignupMode::Open) if !waitlist_only => {
            (UserStatus::Active, orgs::default_role(&org))
        }
        (None, SignupMode::Waitlist) => (UserStatus::Waitlisted, orgs::default_role(&org)),
        (None, SignupMode::InviteOnly) => {
            return Err(Error::Refused(
                "This organisation accepts new members by invitation only.",
            ));
        }
        _ if waitlist_only => return Err(Error::Refused("This organisation has no waitlist.")),
        _ => return Err(Error::Refused("Signups are closed for this organisation.")),
    };
    if store::users::find_by_email_global(ctx.db(), &email)
        .await?
        .is_some()
    {
        return Err(Error::Conflict { field: "email" });
    }
    license::room_for(ctx, Seat::User).await?;
    let hash = password::hash(input.password).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    if let Some(i) = &invite
        && !store::invitations::consume(&txn, org_id, i.id, now).await?
    {
        return Err(invalid_invite());
    }
    let (user, membership) = store::users::insert_member(
        &txn,
        org_id,
        store::users::NewUser {
            email: &email,
            name: &name,
            password_hash: Some(hash),
            role,
        },
        now,
    )
    .await?;
    if status != UserStatus::Active {
        store::users::set_signup_status(&txn, user.clone(), status).await?;
    }
    let action = match (&invite, status) {
        (Some(_), _) => "signup.invited_accepted",
        (None, UserStatus::Active) => "signup.open",
        _ => "signup.waitlisted",
    };
    audit::record(
        &txn,
        Some(org_id),
        actor,
        Event::new(action)
            .target("user", user.id)
            .details(serde_json::json!({ "email": email, "role": role.as_str() })),
    )
    .await?;
    txn.commit().await?;
    let user = store::users::find_member(ctx.db(), org_id, aerie_contract::ids::UserId(user.id))
        .await?
        .map(|(u, _)| u)
        .unwrap_or(user);
    Ok(SignupResult {
        status,
        user: user_dto(&user, &membership)?,
    })
}

/// Self-service: a new organisation with the person who signs up as its owner, where the
/// operator allows it (`AERIE_ORG_SIGNUP`; docs/TENANTS.md).
async fn own_organization(
    ctx: &AppContext,
    actor: &Actor,
    email: &str,
    name: &str,
    password: String,
    org_name: &str,
) -> Result<SignupResult> {
    if !ctx.config().org_signup {
        return Err(Error::Refused(
            "This instance does not let people create organisations; ask its operator for one.",
        ));
    }
    let org_name = validate::name("new_organization", org_name, validate::PERSON_NAME_MAX)?;
    let slug = validate::slugify_or(&org_name, "organisation");
    if store::orgs::find_by_slug_global(ctx.db(), &slug)
        .await?
        .is_some()
    {
        return Err(Error::state(
            "new_organization",
            format!("An organisation with the address {slug} exists; choose another name."),
        ));
    }
    if store::users::find_by_email_global(ctx.db(), email)
        .await?
        .is_some()
    {
        return Err(Error::Conflict { field: "email" });
    }
    license::room_for(ctx, Seat::Organization).await?;
    license::room_for(ctx, Seat::User).await?;
    let hash = password::hash(password).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let org = store::orgs::insert(&txn, &slug, &org_name, now).await?;
    let org_id = OrgId(org.id);
    let (user, membership) = store::users::insert_member(
        &txn,
        org_id,
        store::users::NewUser {
            email,
            name,
            password_hash: Some(hash),
            role: crate::actor::Role::Owner,
        },
        now,
    )
    .await?;
    audit::record(
        &txn,
        Some(org_id),
        actor,
        Event::new("signup.organization_created")
            .target("organization", org.id)
            .details(serde_json::json!({ "email": email, "slug": slug })),
    )
    .await?;
    txn.commit().await?;
    Ok(SignupResult {
        status: UserStatus::Active,
        user: user_dto(&user, &membership)?,
    })
}
