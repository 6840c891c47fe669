//! Single sign-on rows: an organisation's identity providers, flows in progress (consumed
//! exactly once), the SAML replay cache, and users' linked identities.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::{identities, sso_flows, sso_providers, sso_replays};
use aerie_contract::ids::{IdentityId, OrgId, SsoProviderId, UserId};
use aerie_contract::{SsoKind, UnknownValue};

impl sso_providers::Model {
    /// The provider's kind: the one reading of the stored `kind` column (an unknown value is an
    /// error, never a guess).
    pub fn kind(&self) -> Result<SsoKind, UnknownValue> {
        self.kind.parse()
    }
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<sso_providers::Model>, DbErr> {
    sso_providers::Entity::find()
        .filter(sso_providers::Column::OrgId.eq(org.0))
        .order_by_asc(sso_providers::Column::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: SsoProviderId,
) -> Result<Option<sso_providers::Model>, DbErr> {
    sso_providers::Entity::find_by_id(id.0)
        .filter(sso_providers::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// A provider by id in any organisation: a login starts from a public link naming only it.
pub async fn find_global<C: ConnectionTrait>(
    db: &C,
    id: SsoProviderId,
) -> Result<Option<sso_providers::Model>, DbErr> {
    sso_providers::Entity::find_by_id(id.0).one(db).await
}

/// Enabled providers of any organisation with this issuer (IdP-initiated SAML finds its
/// provider by the response's issuer).
#[cfg(feature = "saml")]
pub async fn find_by_issuer_global<C: ConnectionTrait>(
    db: &C,
    kind: SsoKind,
    issuer: &str,
) -> Result<Vec<sso_providers::Model>, DbErr> {
    sso_providers::Entity::find()
        .filter(sso_providers::Column::Kind.eq(kind.as_str()))
        .filter(sso_providers::Column::Issuer.eq(issuer))
        .filter(sso_providers::Column::Enabled.eq(true))
        .all(db)
        .await
}

/// The kinds of enabled provider in any organisation, sorted by their spelling
/// (`/auth/setup-status`). A kind this build does not know is an error.
pub async fn enabled_kinds_global<C: ConnectionTrait>(db: &C) -> Result<Vec<SsoKind>, DbErr> {
    sso_providers::Entity::find()
        .select_only()
        .column(sso_providers::Column::Kind)
        .filter(sso_providers::Column::Enabled.eq(true))
        .distinct()
        .order_by_asc(sso_providers::Column::Kind)
        .into_tuple::<String>()
        .all(db)
        .await?
        .iter()
        .map(|kind| kind.parse().map_err(|e| super::unknown(&e)))
        .collect()
}

/// A provider to store (its configuration already validated, its secret sealed).
pub struct NewProvider {
    pub kind: SsoKind,
    pub name: String,
    pub enabled: bool,
    pub issuer: Option<String>,
    pub config: serde_json::Value,
    pub client_secret_enc: Option<String>,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    new: NewProvider,
    now: DateTime<Utc>,
) -> Result<sso_providers::Model, DbErr> {
    sso_providers::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        kind: Set(new.kind.as_str().to_owned()),
        name: Set(new.name),
        enabled: Set(new.enabled),
        issuer: Set(new.issuer),
        config: Set(new.config),
        client_secret_enc: Set(new.client_secret_enc),
        last_error: Set(None),
        last_error_at: Set(None),
        last_login_at: Set(None),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
    }
    .insert(db)
    .await
}

/// What an update changes on a provider: `None` leaves a field as it is; the issuer and the
/// configuration are always written.
pub struct ProviderChange {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// The sealed client secret (`Some(None)` removes it).
    pub client_secret_enc: Option<Option<String>>,
    pub issuer: Option<String>,
    pub config: serde_json::Value,
}

/// Saves a provider already known to belong to `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: sso_providers::Model,
    change: ProviderChange,
    now: DateTime<Utc>,
) -> Result<sso_providers::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("sso provider".to_owned()));
    }
    let mut model: sso_providers::ActiveModel = row.into();
    if let Some(name) = change.name {
        model.name = Set(name);
    }
    if let Some(enabled) = change.enabled {
        model.enabled = Set(enabled);
    }
    if let Some(sealed) = change.client_secret_enc {
        model.client_secret_enc = Set(sealed);
    }
    model.issuer = Set(change.issuer);
    model.config = Set(change.config);
    model.updated_at = Set(ts(now));
    super::update_in_org(db, model, sso_providers::Column::OrgId, org).await
}

/// Records the last failure (or success time) of a provider.
pub async fn note<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: SsoProviderId,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = sso_providers::Entity::update_many()
        .filter(sso_providers::Column::Id.eq(id.0))
        .filter(sso_providers::Column::OrgId.eq(org.0));
    update = match error {
        Some(message) => update
            .col_expr(
                sso_providers::Column::LastError,
                sea_orm::sea_query::Expr::value(message.chars().take(1000).collect::<String>()),
            )
            .col_expr(
                sso_providers::Column::LastErrorAt,
                sea_orm::sea_query::Expr::value(ts(now)),
            ),
        None => update.col_expr(
            sso_providers::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(ts(now)),
        ),
    };
    update.exec(db).await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: SsoProviderId,
) -> Result<u64, DbErr> {
    // Identities of this provider go with it (they name it in `provider`).
    identities::Entity::delete_many()
        .filter(identities::Column::OrgId.eq(org.0))
        .filter(identities::Column::Provider.eq(id.0.to_string()))
        .exec(db)
        .await?;
    Ok(sso_providers::Entity::delete_many()
        .filter(sso_providers::Column::Id.eq(id.0))
        .filter(sso_providers::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// A flow record to store.
pub struct NewFlow<'a> {
    /// The keyed hash of the state, SAML request id or pick-up code.
    pub id: &'a str,
    pub purpose: &'a str,
    pub org: OrgId,
    pub provider: Option<SsoProviderId>,
    pub binding_hash: Option<&'a str>,
    pub secret_enc: Option<String>,
    pub nonce: Option<&'a str>,
    pub return_to: &'a str,
    pub user: Option<UserId>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_flow<C: ConnectionTrait>(
    db: &C,
    new: NewFlow<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    sso_flows::ActiveModel {
        id: Set(new.id.to_owned()),
        purpose: Set(new.purpose.to_owned()),
        org_id: Set(new.org.0),
        provider_id: Set(new.provider.map(|p| p.0)),
        binding_hash: Set(new.binding_hash.map(str::to_owned)),
        secret_enc: Set(new.secret_enc),
        nonce: Set(new.nonce.map(str::to_owned)),
        return_to: Set(new.return_to.to_owned()),
        user_id: Set(new.user.map(|u| u.0)),
        created_at: Set(ts(now)),
        expires_at: Set(ts(new.expires_at)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Takes a flow record (deleting it), once: a second call, or one after expiry, finds nothing.
pub async fn take_flow_global<C: ConnectionTrait>(
    db: &C,
    id: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<sso_flows::Model>, DbErr> {
    let Some(row) = sso_flows::Entity::find_by_id(id.to_owned())
        .filter(sso_flows::Column::Purpose.eq(purpose))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let deleted = sso_flows::Entity::delete_many()
        .filter(sso_flows::Column::Id.eq(id))
        .exec(db)
        .await?
        .rows_affected;
    // Whoever deleted it owns it; an expired record is consumed and refused.
    Ok((deleted == 1 && row.expires_at > ts(now)).then_some(row))
}

/// A flow record that is still valid, without consuming it (the link page reads its pending
/// link before the person proves the account).
pub async fn find_flow_global<C: ConnectionTrait>(
    db: &C,
    id: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<sso_flows::Model>, DbErr> {
    sso_flows::Entity::find_by_id(id.to_owned())
        .filter(sso_flows::Column::Purpose.eq(purpose))
        .filter(sso_flows::Column::ExpiresAt.gt(ts(now)))
        .one(db)
        .await
}

/// Remembers a consumed SAML assertion until it expires. False when it was seen already.
#[cfg(feature = "saml")]
pub async fn claim_assertion<C: ConnectionTrait>(
    db: &C,
    id: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = sso_replays::Entity::insert(sso_replays::ActiveModel {
        id: Set(id.to_owned()),
        expires_at: Set(ts(expires_at)),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(sso_replays::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// Deletes expired flows and replay entries; returns how many.
pub async fn purge_expired<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let flows = sso_flows::Entity::delete_many()
        .filter(sso_flows::Column::ExpiresAt.lt(ts(now)))
        .exec(db)
        .await?
        .rows_affected;
    let replays = sso_replays::Entity::delete_many()
        .filter(sso_replays::Column::ExpiresAt.lt(ts(now)))
        .exec(db)
        .await?
        .rows_affected;
    Ok(flows + replays)
}

/// The identity a provider's subject is linked to.
pub async fn find_identity<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    provider: SsoProviderId,
    subject: &str,
) -> Result<Option<identities::Model>, DbErr> {
    identities::Entity::find()
        .filter(identities::Column::OrgId.eq(org.0))
        .filter(identities::Column::Provider.eq(provider.0.to_string()))
        .filter(identities::Column::Subject.eq(subject))
        .one(db)
        .await
}

pub async fn identities_of<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
) -> Result<Vec<identities::Model>, DbErr> {
    identities::Entity::find()
        .filter(identities::Column::OrgId.eq(org.0))
        .filter(identities::Column::UserId.eq(user.0))
        .order_by_asc(identities::Column::CreatedAt)
        .all(db)
        .await
}

pub struct NewIdentity<'a> {
    pub user: UserId,
    pub provider: SsoProviderId,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    /// When the person proved they own the account (a link confirmed with its password or a
    /// session); `None` for automatic links and provisioned accounts.
    pub proven_at: Option<DateTime<Utc>>,
}

pub async fn insert_identity<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    new: NewIdentity<'_>,
    now: DateTime<Utc>,
) -> Result<identities::Model, DbErr> {
    identities::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(new.user.0),
        org_id: Set(Some(org.0)),
        provider: Set(new.provider.0.to_string()),
        subject: Set(new.subject.to_owned()),
        email: Set(new.email.map(str::to_owned)),
        email_verified: Set(new.email_verified),
        created_at: Set(ts(now)),
        last_login_at: Set(Some(ts(now))),
        synced_groups: Set(None),
        proven_at: Set(new.proven_at.map(ts)),
    }
    .insert(db)
    .await
}

/// Saves an identity known to belong to `org`.
async fn update_identity<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: identities::Model,
    change: impl FnOnce(&mut identities::ActiveModel),
) -> Result<identities::Model, DbErr> {
    if row.org_id != Some(org.0) {
        return Err(DbErr::RecordNotFound("identity".to_owned()));
    }
    let mut model: identities::ActiveModel = row.into();
    change(&mut model);
    super::update_in_org(db, model, identities::Column::OrgId, org).await
}

/// A sign-in through a linked identity: what the provider says of its email now, and when.
pub async fn record_identity_login<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: identities::Model,
    email: Option<String>,
    email_verified: bool,
    now: DateTime<Utc>,
) -> Result<identities::Model, DbErr> {
    update_identity(db, org, row, |m| {
        m.email = Set(email);
        m.email_verified = Set(email_verified);
        m.last_login_at = Set(Some(ts(now)));
    })
    .await
}

/// The person proved the account of a linked identity at `proven_at` (and signed in with it at
/// `now`).
pub async fn record_identity_proof<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: identities::Model,
    proven_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<identities::Model, DbErr> {
    update_identity(db, org, row, |m| {
        m.proven_at = Set(Some(ts(proven_at)));
        m.last_login_at = Set(Some(ts(now)));
    })
    .await
}

/// The groups the last group sync added the identity's user to.
pub async fn set_synced_groups<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: identities::Model,
    groups: serde_json::Value,
) -> Result<identities::Model, DbErr> {
    update_identity(db, org, row, |m| {
        m.synced_groups = Set(Some(groups));
    })
    .await
}

pub async fn delete_identity<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    id: IdentityId,
) -> Result<u64, DbErr> {
    Ok(identities::Entity::delete_many()
        .filter(identities::Column::Id.eq(id.0))
        .filter(identities::Column::OrgId.eq(org.0))
        .filter(identities::Column::UserId.eq(user.0))
        .exec(db)
        .await?
        .rows_affected)
}
