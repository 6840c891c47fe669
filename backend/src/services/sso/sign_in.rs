//! What every successful sign-in through a provider writes, inside the caller's transaction:
//! attaching a new identity to a member ([`attach`]) or renewing one linked already
//! ([`renew_identity`]), the group sync, the `sso.login` audit as the member, and, after the
//! commit, the provider's last successful login ([`commit_sign_in`]).

use chrono::Utc;
use serde_json::json;

use super::config::stored_config;
use crate::actor::{Actor, Credential};
use crate::db::entities::{identities, memberships, sso_providers};
use crate::services::audit::{self, Event};
use crate::services::auth::principal_of;
use crate::sso::oidc::ExternalProfile;
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::SsoKind;
use aerie_contract::ids::{GroupId, OrgId, SsoProviderId, UserId};

/// An identity about to be linked to a member (or linked already, signing in).
pub(crate) struct Link<'a> {
    pub row: &'a sso_providers::Model,
    pub membership: &'a memberships::Model,
    pub profile: &'a ExternalProfile,
    /// When the person proved the account (`None`: linked by the provider's authority).
    pub proven_at: Option<chrono::DateTime<Utc>>,
}

/// How a sign-in reached its account, for the `sso.login` audit.
pub(crate) struct Login<'a> {
    /// The protocol (the provider's kind).
    pub method: SsoKind,
    /// How the account was found (`linked_identity`, `linked_by_email`, `provisioned`, ...).
    pub how: &'a str,
}

/// Links a new identity to a member (inside `db`'s transaction): the identity, `event`
/// (`sso.linked` or `sso.provisioned`), the group sync and the `sso.login` audit.
pub(crate) async fn attach<C: sea_orm::ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    actor: &Actor,
    link: &Link<'_>,
    event: Event<'_>,
    login: Login<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let row = link.row;
    let org = OrgId(row.org_id);
    let user = UserId(link.membership.user_id);
    let identity = store::sso::insert_identity(
        db,
        org,
        store::sso::NewIdentity {
            user,
            provider: SsoProviderId(row.id),
            subject: &link.profile.subject,
            email: link.profile.email.as_deref(),
            email_verified: link.profile.email_verified == Some(true),
            proven_at: link.proven_at,
        },
        now,
    )
    .await?;
    audit::record(db, Some(org), &acting(actor, link.membership)?, event).await?;
    sync_groups(db, org, row, &identity, user, &link.profile.groups, now).await?;
    audit_login(db, actor, link.membership, row, login).await
}

/// Signs in through an identity linked already (inside `db`'s transaction): renews it (with a
/// proof, its proof; else what the provider says of its email now), audits `event` when there
/// is one (`sso.link_proven`), syncs groups and audits `sso.login`.
pub(crate) async fn renew_identity<C: sea_orm::ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    actor: &Actor,
    link: &Link<'_>,
    identity: identities::Model,
    event: Option<Event<'_>>,
    login: Login<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let row = link.row;
    let org = OrgId(row.org_id);
    let profile = link.profile;
    let identity = match link.proven_at {
        Some(proven) => store::sso::record_identity_proof(db, org, identity, proven, now).await?,
        None => {
            store::sso::record_identity_login(
                db,
                org,
                identity,
                profile.email.clone(),
                profile.email_verified == Some(true),
                now,
            )
            .await?
        }
    };
    if let Some(event) = event {
        audit::record(db, Some(org), &acting(actor, link.membership)?, event).await?;
    }
    let user = UserId(link.membership.user_id);
    sync_groups(db, org, row, &identity, user, &profile.groups, now).await?;
    audit_login(db, actor, link.membership, row, login).await
}

/// Commits a sign-in's writes, then notes the provider's successful login at `now`.
pub(crate) async fn commit_sign_in(
    ctx: &AppContext,
    txn: sea_orm::DatabaseTransaction,
    row: &sso_providers::Model,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    txn.commit().await?;
    store::sso::note(
        ctx.db(),
        OrgId(row.org_id),
        SsoProviderId(row.id),
        None,
        now,
    )
    .await?;
    Ok(())
}

pub(crate) fn acting(actor: &Actor, membership: &memberships::Model) -> Result<Actor> {
    Ok(Actor::user(
        principal_of(membership, Credential::Session)?,
        actor.ip,
    ))
}

async fn audit_login<C: sea_orm::ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    actor: &Actor,
    membership: &memberships::Model,
    row: &sso_providers::Model,
    login: Login<'_>,
) -> Result<()> {
    let Login { method, how } = login;
    audit::record(
        db,
        Some(OrgId(membership.org_id)),
        &acting(actor, membership)?,
        Event::new("sso.login")
            .target("user", membership.user_id)
            .details(
                json!({ "provider": row.id, "kind": row.kind()?, "method": method, "account": how }),
            ),
    )
    .await
}

/// Group sync: the user joins the organisation's groups named in the claim, and leaves those a
/// previous sync added that the claim no longer names. Groups added by hand are left alone.
async fn sync_groups<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: &sso_providers::Model,
    identity: &identities::Model,
    user: UserId,
    claimed: &[String],
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    if stored_config(row).groups_attribute.is_none() {
        return Ok(());
    }
    let wanted: Vec<String> = claimed.iter().map(|g| g.trim().to_lowercase()).collect();
    let groups = store::groups::list(db, org).await?;
    let matched: Vec<uuid::Uuid> = groups
        .iter()
        .filter(|g| wanted.contains(&g.name.to_lowercase()))
        .map(|g| g.id)
        .collect();
    let previous: Vec<uuid::Uuid> = identity
        .synced_groups
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    for id in &matched {
        store::groups::add_member(db, org, GroupId(*id), user, now).await?;
    }
    for id in previous.iter().filter(|id| !matched.contains(id)) {
        store::groups::remove_member(db, org, GroupId(*id), user).await?;
    }
    let value = serde_json::to_value(&matched).map_err(|e| Error::Internal(e.into()))?;
    store::sso::set_synced_groups(db, org, identity.clone(), value).await?;
    Ok(())
}
