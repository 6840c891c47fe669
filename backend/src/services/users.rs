//! User administration inside an organisation: list, invite, change role or status, soft
//! delete, and decide waitlisted signups. Admins only; owners are protected from admins, and an
//! organisation always keeps an active owner.

use chrono::{Duration, Utc};

use super::audit::{self, Event};
use super::auth::user_dto;
use super::validate;
use crate::actor::{Actor, Principal, Role};
use crate::db::entities::{memberships, users};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::UserStatus;
use aerie_contract::auth::User;
use aerie_contract::ids::UserId;
use aerie_contract::orgs::{Invitation, InviteUser, UpdateUser};

/// How long an invitation stays valid.
pub const INVITE_TTL_DAYS: i64 = 7;

async fn member(
    ctx: &AppContext,
    p: &Principal,
    id: UserId,
) -> Result<(users::Model, memberships::Model)> {
    member_in(ctx.db(), p, id).await
}

/// The caller's role as committed now (under the organisation's lock), not as it was when the
/// request began: an owner demoted a moment ago acts as what they are now.
async fn role_now<C: sea_orm::ConnectionTrait>(db: &C, p: &Principal) -> Result<Role> {
    let (_, m) = match store::users::find_member(db, p.org_id, p.user_id).await? {
        Some((u, m)) if u.status()? == UserStatus::Active => (u, m),
        _ => return Err(Error::Forbidden),
    };
    let role = m.role()?;
    if !role.at_least(Role::Admin) {
        return Err(Error::Forbidden);
    }
    Ok(role)
}

async fn member_in<C: sea_orm::ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: UserId,
) -> Result<(users::Model, memberships::Model)> {
    match store::users::find_member(db, p.org_id, id).await? {
        Some((u, m)) if u.status()? != UserStatus::Deleted => Ok((u, m)),
        _ => Err(Error::NotFound),
    }
}

/// `GET /api/users`.
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<User>> {
    let p = actor.require_role(Role::Admin)?;
    let members = store::users::list_members(ctx.db(), p.org_id, None).await?;
    members.iter().map(|(u, m)| user_dto(u, m)).collect()
}

/// `POST /api/users`: an invitation (token shown once) for `email` with a role.
pub async fn invite(ctx: &AppContext, actor: &Actor, input: InviteUser) -> Result<Invitation> {
    let p = actor.require_role(Role::Admin)?;
    let email = validate::email(&input.email)?;
    let role = match input.role {
        None => Role::Member,
        Some(r) if r != Role::Owner => r,
        Some(_) => return Err(Error::invalid("role", "role must be member or admin.")),
    };
    let existing = store::users::find_by_email_global(ctx.db(), &email).await?;
    if let Some(u) = existing
        && u.status()? != UserStatus::Deleted
    {
        return Err(Error::Conflict { field: "email" });
    }
    let token = format!("inv_{}", crypto::random_token(32));
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, &token);
    let now = Utc::now();
    let row = store::invitations::insert(
        ctx.db(),
        p.org_id,
        store::invitations::NewInvitation {
            email: &email,
            role,
            token_hash: &hash,
            invited_by: Some(p.user_id),
            expires_at: now + Duration::days(INVITE_TTL_DAYS),
        },
        now,
    )
    .await?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("user.invited")
            .target("invitation", row.id)
            .details(serde_json::json!({ "email": email, "role": role.as_str() })),
    )
    .await?;
    Ok(Invitation {
        id: row.id,
        email,
        role: row.role()?,
        expires_at: utc(row.expires_at),
        invite_url: Some(format!("{}/invite/{token}", ctx.config().public_url())),
        token: Some(token),
    })
}

/// `PATCH /api/users/{id}`: role and/or status.
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: UserId,
    input: UpdateUser,
) -> Result<User> {
    let p = actor.require_role(Role::Admin)?;
    let role = input.role;
    let status = match input.status {
        Some(s @ (UserStatus::Active | UserStatus::Disabled)) => Some(s),
        Some(_) => {
            return Err(Error::invalid(
                "status",
                "status must be active or disabled.",
            ));
        }
        None => None,
    };
    // Concurrent changes to this organisation's members wait here, then read what the other
    // committed: two owners demoting each other cannot both pass the last-owner check.
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::orgs::lock(&txn, p.org_id).await?;
    let acting_role = role_now(&txn, p).await?;
    let (user, membership) = member_in(&txn, p, id).await?;
    let current_role = membership.role()?;
    // Only owners touch owners or make new ones.
    if (current_role == Role::Owner || role == Some(Role::Owner)) && acting_role != Role::Owner {
        return Err(Error::Forbidden);
    }
    let demotes_owner = current_role == Role::Owner && role.is_some_and(|r| r != Role::Owner);
    let disables_owner = current_role == Role::Owner && status == Some(UserStatus::Disabled);
    if (demotes_owner || disables_owner)
        && store::users::count_active_owners(&txn, p.org_id).await? <= 1
    {
        return Err(Error::state(
            "role",
            "The organisation needs at least one active owner.",
        ));
    }
    if let Some(role) = role.filter(|r| *r != current_role) {
        store::users::set_role(&txn, p.org_id, id, role).await?;
        audit::record(
            &txn,
            Some(p.org_id),
            actor,
            Event::new("user.role_changed")
                .target("user", id)
                .details(serde_json::json!({ "from": current_role.as_str(), "to": role.as_str() })),
        )
        .await?;
    }
    let status_before = user.status()?;
    if let Some(status) = status.filter(|s| *s != status_before) {
        audit::record(
            &txn,
            Some(p.org_id),
            actor,
            Event::new("user.status_changed")
                .target("user", id)
                .details(serde_json::json!({ "from": status_before, "to": status })),
        )
        .await?;
        let changes = store::users::UserChanges {
            status: Some(status),
            ..Default::default()
        };
        store::users::update(&txn, p.org_id, user, changes, Utc::now()).await?;
    }
    txn.commit().await?;
    ctx.key_cache().clear();
    let (user, membership) = member(ctx, p, id).await?;
    user_dto(&user, &membership)
}

/// `DELETE /api/users/{id}`: soft delete (the account can no longer sign in; its history stays).
pub async fn delete(ctx: &AppContext, actor: &Actor, id: UserId) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    if id == p.user_id {
        return Err(Error::state(
            "id",
            "You cannot delete your own account here.",
        ));
    }
    // As in `update`: one change to the organisation's members at a time.
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::orgs::lock(&txn, p.org_id).await?;
    let acting_role = role_now(&txn, p).await?;
    let (user, membership) = member_in(&txn, p, id).await?;
    let is_owner = membership.role()? == Role::Owner;
    if is_owner && acting_role != Role::Owner {
        return Err(Error::Forbidden);
    }
    if is_owner && store::users::count_active_owners(&txn, p.org_id).await? <= 1 {
        return Err(Error::state(
            "id",
            "The organisation needs at least one active owner.",
        ));
    }
    let now = Utc::now();
    let changes = store::users::UserChanges {
        status: Some(UserStatus::Deleted),
        deleted_at: Some(now),
        ..Default::default()
    };
    store::users::update(&txn, p.org_id, user, changes, now).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("user.deleted").target("user", id),
    )
    .await?;
    txn.commit().await?;
    ctx.key_cache().clear();
    Ok(())
}

/// `GET /auth/admin/waitlist`.
pub async fn waitlist(ctx: &AppContext, actor: &Actor) -> Result<Vec<User>> {
    let p = actor.require_role(Role::Admin)?;
    let members =
        store::users::list_members(ctx.db(), p.org_id, Some(UserStatus::Waitlisted)).await?;
    members.iter().map(|(u, m)| user_dto(u, m)).collect()
}

/// `POST /auth/admin/waitlist/{id}/approve|reject`.
pub async fn decide(ctx: &AppContext, actor: &Actor, id: UserId, approve: bool) -> Result<User> {
    let p = actor.require_role(Role::Admin)?;
    let (user, membership) = member(ctx, p, id).await?;
    if user.status()? != UserStatus::Waitlisted {
        return Err(Error::NotFound);
    }
    let now = Utc::now();
    let changes = store::users::UserChanges {
        status: Some(if approve {
            UserStatus::Active
        } else {
            UserStatus::Deleted
        }),
        deleted_at: (!approve).then_some(now),
        ..Default::default()
    };
    let txn = crate::db::begin_write(ctx.db()).await?;
    let user = store::users::update(&txn, p.org_id, user, changes, now).await?;
    let action = if approve {
        "signup.approved"
    } else {
        "signup.rejected"
    };
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new(action).target("user", id),
    )
    .await?;
    txn.commit().await?;
    ctx.key_cache().clear();
    user_dto(&user, &membership)
}
