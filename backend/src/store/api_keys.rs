use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::ts;
use crate::db::entities::api_keys;
use aerie_contract::ids::{ApiKeyId, OrgId, UserId};

/// A key by its public prefix, in any organisation: authentication starts here.
pub async fn find_by_prefix_global<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
) -> Result<Option<api_keys::Model>, DbErr> {
    api_keys::Entity::find()
        .filter(api_keys::Column::Prefix.eq(prefix))
        .one(db)
        .await
}

/// A key by id, in any organisation: the operator's `aerie keys revoke <id>` starts here.
pub async fn find_by_id_global<C: ConnectionTrait>(
    db: &C,
    id: ApiKeyId,
) -> Result<Option<api_keys::Model>, DbErr> {
    api_keys::Entity::find_by_id(id.0).one(db).await
}

/// One key of `user` in `org`.
pub async fn find_owned<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    id: ApiKeyId,
) -> Result<Option<api_keys::Model>, DbErr> {
    api_keys::Entity::find_by_id(id.0)
        .filter(api_keys::Column::OrgId.eq(org.0))
        .filter(api_keys::Column::UserId.eq(user.0))
        .one(db)
        .await
}

/// The keys of `user` in `org`, newest first.
pub async fn list_owned<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
) -> Result<Vec<api_keys::Model>, DbErr> {
    api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(org.0))
        .filter(api_keys::Column::UserId.eq(user.0))
        .order_by_desc(api_keys::Column::CreatedAt)
        .all(db)
        .await
}

/// Every key of `org`, newest first (operators and admins).
pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<api_keys::Model>, DbErr> {
    api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(org.0))
        .order_by_desc(api_keys::Column::CreatedAt)
        .all(db)
        .await
}

pub struct NewKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub requests_per_minute: Option<i32>,
    pub tokens_per_minute: Option<i64>,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    new: NewKey<'_>,
    now: DateTime<Utc>,
) -> Result<api_keys::Model, DbErr> {
    api_keys::ActiveModel {
        id: Set(ApiKeyId::new().0),
        org_id: Set(org.0),
        user_id: Set(user.0),
        name: Set(new.name.to_owned()),
        prefix: Set(new.prefix.to_owned()),
        secret_hash: Set(new.secret_hash.to_owned()),
        created_at: Set(ts(now)),
        last_used_at: Set(None),
        expires_at: Set(new.expires_at.map(ts)),
        revoked_at: Set(None),
        requests_per_minute: Set(new.requests_per_minute),
        tokens_per_minute: Set(new.tokens_per_minute),
    }
    .insert(db)
    .await
}

/// Saves a key already known to belong to `org` after `change`.
async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    key: api_keys::Model,
    change: impl FnOnce(&mut api_keys::ActiveModel),
) -> Result<api_keys::Model, DbErr> {
    if key.org_id != org.0 {
        return Err(DbErr::RecordNotFound("api key".to_owned()));
    }
    let mut active: api_keys::ActiveModel = key.into();
    change(&mut active);
    super::update_in_org(db, active, api_keys::Column::OrgId, org).await
}

/// What [`apply`] changes (`None`: unchanged; an inner `None` clears).
#[derive(Default)]
pub struct KeyChanges {
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub requests_per_minute: Option<Option<i32>>,
    pub tokens_per_minute: Option<Option<i64>>,
}

/// Saves `changes` to a key of `org`.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    key: api_keys::Model,
    changes: KeyChanges,
) -> Result<api_keys::Model, DbErr> {
    update(db, org, key, |k| {
        if let Some(at) = changes.expires_at {
            k.expires_at = Set(at.map(ts));
        }
        if let Some(rpm) = changes.requests_per_minute {
            k.requests_per_minute = Set(rpm);
        }
        if let Some(tpm) = changes.tokens_per_minute {
            k.tokens_per_minute = Set(tpm);
        }
    })
    .await
}

/// Replaces a key's prefix and secret hash; it has not been used since.
pub async fn replace_secret<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    key: api_keys::Model,
    prefix: String,
    secret_hash: String,
) -> Result<api_keys::Model, DbErr> {
    update(db, org, key, |k| {
        k.prefix = Set(prefix);
        k.secret_hash = Set(secret_hash);
        k.last_used_at = Set(None);
    })
    .await
}

/// Marks a key revoked at `now`.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    key: api_keys::Model,
    now: DateTime<Utc>,
) -> Result<api_keys::Model, DbErr> {
    update(db, org, key, |k| k.revoked_at = Set(Some(ts(now)))).await
}

/// Records use, at most once per key per `every` (no write on every request).
pub async fn touch<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::LastUsedAt, Expr::value(ts(now)))
        .filter(api_keys::Column::Id.eq(id.0))
        .filter(api_keys::Column::OrgId.eq(org.0))
        .exec(db)
        .await
        .map(|_| ())
}
