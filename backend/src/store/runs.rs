//! Governed runs and their transitions (docs/RUNS.md). A run's status only moves by
//! [`transition`]: one conditional `UPDATE … WHERE status IN (…)`, so two writers (an approver
//! and the timeout, two runners) never both move it, and the transition is recorded with it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::run_transitions::{self, Column as T, Entity as Transitions};
use crate::db::entities::runs::{self, Column as R, Entity as Runs};
use aerie_contract::RunStatus;
use aerie_contract::ids::{OrgId, RunId, UserId};

/// Inserts a run with its first transition.
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    row: runs::Model,
    reason: &str,
) -> Result<runs::Model, DbErr> {
    let txn = db.begin().await?;
    let run = row.into_active_model().reset_all().insert(&txn).await?;
    record(&txn, &run, reason, None).await?;
    txn.commit().await?;
    Ok(run)
}

async fn record<C: ConnectionTrait>(
    db: &C,
    run: &runs::Model,
    reason: &str,
    by: Option<UserId>,
) -> Result<(), DbErr> {
    run_transitions::ActiveModel {
        id: Set(Uuid::now_v7()),
        run_id: Set(run.id),
        status: Set(run.status.clone()),
        at: Set(run.updated_at),
        reason: Set(reason.to_owned()),
        by_user: Set(by.map(|u| u.0)),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: RunId,
) -> Result<Option<runs::Model>, DbErr> {
    Runs::find_by_id(id.0)
        .filter(R::OrgId.eq(org.0))
        .one(db)
        .await
}

pub async fn transitions<C: ConnectionTrait>(
    db: &C,
    run: RunId,
) -> Result<Vec<run_transitions::Model>, DbErr> {
    Transitions::find()
        .filter(T::RunId.eq(run.0))
        .order_by_asc(T::At)
        .order_by_asc(T::Id)
        .all(db)
        .await
}

/// What a transition writes besides the status (`None`: unchanged).
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub response: Option<String>,
    pub tokens: Option<(i64, i64)>,
    pub error: Option<(String, String)>,
    pub decision: Option<(String, UserId, String)>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `Some(None)` clears it.
    pub lease_until: Option<Option<DateTime<Utc>>>,
}

/// Moves run `id` of `org` from one of `from` to `to`, writing `change` and recording the
/// transition, in one transaction. `None` when the run is not (or no longer) in one of `from`.
#[expect(clippy::too_many_arguments)]
pub async fn transition<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    org: OrgId,
    id: RunId,
    from: &[RunStatus],
    to: RunStatus,
    change: Change,
    reason: &str,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Option<runs::Model>, DbErr> {
    let txn = db.begin().await?;
    let mut update = Runs::update_many()
        .col_expr(R::Status, Expr::value(to.as_str()))
        .col_expr(R::UpdatedAt, Expr::value(ts(now)));
    if let Some(response) = change.response {
        update = update.col_expr(R::Response, Expr::value(response));
    }
    if let Some((prompt, completion)) = change.tokens {
        update = update
            .col_expr(R::PromptTokens, Expr::value(prompt))
            .col_expr(R::CompletionTokens, Expr::value(completion));
    }
    if let Some((code, message)) = change.error {
        update = update
            .col_expr(R::ErrorCode, Expr::value(code))
            .col_expr(R::ErrorMessage, Expr::value(message));
    }
    if let Some((decision, by, comment)) = change.decision {
        update = update
            .col_expr(R::Decision, Expr::value(decision))
            .col_expr(R::DecidedBy, Expr::value(by.0))
            .col_expr(R::DecisionComment, Expr::value(comment))
            .col_expr(R::DecidedAt, Expr::value(ts(now)));
    }
    if let Some(at) = change.expires_at {
        update = update.col_expr(R::ExpiresAt, Expr::value(ts(at)));
    }
    if let Some(lease) = change.lease_until {
        update = update.col_expr(R::LeaseUntil, Expr::value(lease.map(ts)));
    }
    let result = update
        .filter(R::Id.eq(id.0))
        .filter(R::OrgId.eq(org.0))
        .filter(R::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    let Some(run) = find(&txn, org, id).await? else {
        return Ok(None);
    };
    record(&txn, &run, reason, by).await?;
    txn.commit().await?;
    Ok(Some(run))
}

/// Extends the heartbeat of a running foreground run.
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    id: RunId,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Runs::update_many()
        .col_expr(R::LeaseUntil, Expr::value(ts(until)))
        .filter(R::Id.eq(id.0))
        .filter(R::Status.eq(RunStatus::Running.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Runs of `org` newest first, optionally of one status, before the cursor `(created_at, id)`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    status: Option<RunStatus>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<runs::Model>, DbErr> {
    let mut q = Runs::find().filter(R::OrgId.eq(org.0));
    if let Some(s) = status {
        q = q.filter(R::Status.eq(s.as_str()));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            Condition::any().add(R::CreatedAt.lt(ts(at))).add(
                Condition::all()
                    .add(R::CreatedAt.eq(ts(at)))
                    .add(R::Id.lt(id)),
            ),
        );
    }
    q.order_by_desc(R::CreatedAt)
        .order_by_desc(R::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Foreground runs still `running` whose heartbeat stopped before `now` (their instance died),
/// of every organisation.
pub async fn stale_foreground<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Vec<runs::Model>, DbErr> {
    Runs::find()
        .filter(R::Status.eq(RunStatus::Running.as_str()))
        .filter(R::Background.eq(false))
        .filter(R::LeaseUntil.lt(ts(now)))
        .limit(500)
        .all(db)
        .await
}
