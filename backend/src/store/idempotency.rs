//! Idempotency keys (docs/IDEMPOTENCY.md): the row a request with an `Idempotency-Key` holds
//! while it runs, and its answer afterwards. Every write is one conditional statement, so two
//! instances sharing the database agree on which request runs.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, TryInsertResult,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::idempotency_keys::{self, Column as K, Entity as Keys};
use aerie_contract::ids::OrgId;

/// `state` of a request that runs.
pub const RUNNING: &str = "running";
/// `state` of a request whose answer is kept.
pub const DONE: &str = "done";

/// Where a key lives: its organisation, the credential (`key:<id>`, `user:<id>`) and the key.
#[derive(Clone, Copy, Debug)]
pub struct Slot<'a> {
    pub org: OrgId,
    pub scope: &'a str,
    pub key: &'a str,
}

/// The row of `slot`, whatever its state or age.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    slot: Slot<'_>,
) -> Result<Option<idempotency_keys::Model>, DbErr> {
    Keys::find()
        .filter(K::OrgId.eq(slot.org.0))
        .filter(K::Scope.eq(slot.scope))
        .filter(K::IdemKey.eq(slot.key))
        .one(db)
        .await
}

/// Claims `slot` for a new request unless a row holds it; returns the new row's id when this
/// call created it.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    slot: Slot<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    locked_until: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let id = Uuid::now_v7();
    let row = idempotency_keys::ActiveModel {
        id: Set(id),
        org_id: Set(slot.org.0),
        scope: Set(slot.scope.to_owned()),
        idem_key: Set(slot.key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        state: Set(RUNNING.to_owned()),
        locked_until: Set(ts(locked_until)),
        status_code: Set(None),
        content_type: Set(None),
        location: Set(None),
        body: Set(None),
        created_at: Set(ts(now)),
        expires_at: Set(ts(expires_at)),
    };
    let inserted = Keys::insert(row)
        .on_conflict_do_nothing_on([K::OrgId, K::Scope, K::IdemKey])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)).then_some(id))
}

/// Takes over a running row whose holder stopped renewing it (its process died): succeeds for
/// one caller only, the one that still sees the lock it read.
pub async fn take_over<C: ConnectionTrait>(
    db: &C,
    row: &idempotency_keys::Model,
    locked_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Keys::update_many()
        .col_expr(K::LockedUntil, Expr::value(ts(locked_until)))
        .filter(K::Id.eq(row.id))
        .filter(K::OrgId.eq(row.org_id))
        .filter(K::State.eq(RUNNING))
        .filter(K::LockedUntil.eq(row.locked_until))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes `row` if it has expired (a new request may then use its key).
pub async fn remove_expired<C: ConnectionTrait>(
    db: &C,
    row: &idempotency_keys::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Keys::delete_many()
        .filter(K::Id.eq(row.id))
        .filter(K::OrgId.eq(row.org_id))
        .filter(K::ExpiresAt.lte(ts(now)))
        .exec(db)
        .await
        .map(drop)
}

/// The answer to keep.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: i32,
    pub content_type: Option<String>,
    pub location: Option<String>,
    /// Sealed with the instance key.
    pub body: String,
}

/// Stores the answer of the running request `id`.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: Uuid,
    answer: Answer,
) -> Result<(), DbErr> {
    Keys::update_many()
        .col_expr(K::State, Expr::value(DONE))
        .col_expr(K::StatusCode, Expr::value(answer.status))
        .col_expr(K::ContentType, Expr::value(answer.content_type))
        .col_expr(K::Location, Expr::value(answer.location))
        .col_expr(K::Body, Expr::value(answer.body))
        .filter(K::Id.eq(id))
        .filter(K::OrgId.eq(org.0))
        .filter(K::State.eq(RUNNING))
        .exec(db)
        .await
        .map(drop)
}

/// Frees the key of the running request `id` (it failed: a retry runs again).
pub async fn release<C: ConnectionTrait>(db: &C, org: OrgId, id: Uuid) -> Result<(), DbErr> {
    Keys::delete_many()
        .filter(K::Id.eq(id))
        .filter(K::OrgId.eq(org.0))
        .filter(K::State.eq(RUNNING))
        .exec(db)
        .await
        .map(drop)
}

/// Deletes every key past its expiry, in every organisation (housekeeping).
pub async fn purge_expired_global<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Keys::delete_many()
        .filter(K::ExpiresAt.lte(ts(now)))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// Extends the hold of the running request `id` to `locked_until`.
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: Uuid,
    locked_until: DateTime<Utc>,
) -> Result<(), DbErr> {
    Keys::update_many()
        .col_expr(K::LockedUntil, Expr::value(ts(locked_until)))
        .filter(K::Id.eq(id))
        .filter(K::OrgId.eq(org.0))
        .filter(K::State.eq(RUNNING))
        .exec(db)
        .await
        .map(drop)
}
