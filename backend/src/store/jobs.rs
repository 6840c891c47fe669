//! Background jobs (`backend/src/services/jobs/`). A runner owns a job through a lease: every
//! write of a running job names the runner (`lease_owner`) and the attempt it claimed
//! (`attempts`), so a runner whose lease was taken over writes nothing (the fence).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use super::ts;
use crate::db::entities::jobs;
use aerie_contract::ids::{JobId, OrgId};
use aerie_contract::{JobStatus, UnknownValue};

impl jobs::Model {
    /// Where the job stands: the one reading of the stored `status` column.
    pub fn status(&self) -> Result<JobStatus, UnknownValue> {
        self.status.parse()
    }
}

/// A job to queue.
pub struct NewJob {
    pub id: JobId,
    /// `None` for instance-wide work.
    pub org: Option<OrgId>,
    pub kind: String,
    pub payload: Value,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
}

/// The runner and attempt that hold a job's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub job: JobId,
    pub owner: String,
    /// The value of `attempts` this claim wrote.
    pub attempt: i32,
}

impl Lease {
    /// The job, still running (or cancelling) under this lease.
    fn held(&self) -> Condition {
        Condition::all()
            .add(jobs::Column::Id.eq(self.job.0))
            .add(jobs::Column::LeaseOwner.eq(self.owner.as_str()))
            .add(jobs::Column::Attempts.eq(self.attempt))
            .add(
                jobs::Column::Status
                    .is_in([JobStatus::Running.as_str(), JobStatus::Cancelling.as_str()]),
            )
    }
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    job: NewJob,
    now: DateTime<Utc>,
) -> Result<jobs::Model, DbErr> {
    jobs::ActiveModel {
        id: Set(job.id.0),
        org_id: Set(job.org.map(|o| o.0)),
        kind: Set(job.kind),
        payload: Set(job.payload),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        max_attempts: Set(job.max_attempts),
        run_at: Set(ts(job.run_at)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        progress: Set(None),
        error: Set(None),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
    }
    .insert(db)
    .await
}

/// A job of `org`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: JobId,
) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find_by_id(id.0)
        .filter(jobs::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// A job by id in any organisation: the runner's and the operator's view.
pub async fn find_global<C: ConnectionTrait>(
    db: &C,
    id: JobId,
) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find_by_id(id.0).one(db).await
}

/// The most recent jobs (all organisations), newest first, optionally of one status.
pub async fn recent_global<C: ConnectionTrait>(
    db: &C,
    status: Option<JobStatus>,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbErr> {
    let mut q = jobs::Entity::find();
    if let Some(s) = status {
        q = q.filter(jobs::Column::Status.eq(s.as_str()));
    }
    q.order_by_desc(jobs::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

/// The payloads of the jobs of `kind` that a runner may still run (queued, running or being
/// cancelled), in every organisation.
pub async fn pending_payloads_global<C: ConnectionTrait>(
    db: &C,
    kind: &str,
) -> Result<Vec<Value>, DbErr> {
    jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Payload)
        .filter(jobs::Column::Kind.eq(kind))
        .filter(jobs::Column::Status.is_in([
            JobStatus::Queued.as_str(),
            JobStatus::Running.as_str(),
            JobStatus::Cancelling.as_str(),
        ]))
        .into_tuple()
        .all(db)
        .await
}

/// Runnable now: queued and due, or running on a lease that expired (its runner died) with
/// attempts left.
fn runnable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(jobs::Column::Status.eq(JobStatus::Queued.as_str()))
                .add(jobs::Column::RunAt.lte(ts(now))),
        )
        .add(
            Condition::all()
                .add(jobs::Column::Status.eq(JobStatus::Running.as_str()))
                .add(jobs::Column::LeaseExpiresAt.lt(ts(now)))
                .add(Expr::col(jobs::Column::Attempts).lt(Expr::col(jobs::Column::MaxAttempts))),
        )
}

/// A job of no organisation, or of one that is not suspended: a suspended organisation's jobs
/// wait (queued, or with an expired lease) until it is resumed.
fn of_an_active_organisation() -> Condition {
    use crate::db::entities::organizations;
    use sea_orm::sea_query::Query;
    let suspended = Query::select()
        .column(organizations::Column::Id)
        .from(organizations::Entity)
        .and_where(Expr::col(organizations::Column::SuspendedAt).is_not_null())
        .to_owned();
    Condition::any()
        .add(jobs::Column::OrgId.is_null())
        .add(jobs::Column::OrgId.not_in_subquery(suspended))
}

/// Up to `limit` runnable jobs of `kinds`, the longest-waiting first (none of a suspended
/// organisation).
pub async fn due_global<C: ConnectionTrait>(
    db: &C,
    kinds: &[&str],
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::Kind.is_in(kinds.iter().copied()))
        .filter(runnable(now))
        .filter(of_an_active_organisation())
        .order_by_asc(jobs::Column::RunAt)
        .limit(limit)
        .all(db)
        .await
}

/// Takes a runnable job for `owner` until `until`, if it is still runnable and still at
/// `attempts` (nobody claimed it in between): one conditional `UPDATE`, so of several runners
/// racing for a job exactly one wins. Counts the attempt.
pub async fn claim_global<C: ConnectionTrait>(
    db: &C,
    id: JobId,
    attempts: i32,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Lease>, DbErr> {
    let attempt = attempts.saturating_add(1);
    let result = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Running.as_str()),
        )
        .col_expr(jobs::Column::LeaseOwner, Expr::value(owner))
        .col_expr(jobs::Column::LeaseExpiresAt, Expr::value(ts(until)))
        .col_expr(jobs::Column::Attempts, Expr::value(attempt))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(jobs::Column::Id.eq(id.0))
        .filter(jobs::Column::Attempts.eq(attempts))
        .filter(runnable(now))
        .filter(of_an_active_organisation())
        .exec(db)
        .await?;
    Ok((result.rows_affected == 1).then(|| Lease {
        job: id,
        owner: owner.to_owned(),
        attempt,
    }))
}

/// Extends a held lease to `until` (and stores `progress` when given). `None` when the lease
/// is no longer held (taken over after it expired, or the job was removed); else the job's
/// status, which says whether it was asked to stop (`cancelling`).
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    lease: &Lease,
    until: DateTime<Utc>,
    progress: Option<Value>,
    now: DateTime<Utc>,
) -> Result<Option<JobStatus>, DbErr> {
    let mut update = jobs::Entity::update_many()
        .col_expr(jobs::Column::LeaseExpiresAt, Expr::value(ts(until)))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)));
    if let Some(p) = progress {
        update = update.col_expr(jobs::Column::Progress, Expr::value(p));
    }
    let result = update.filter(lease.held()).exec(db).await?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    let row = jobs::Entity::find().filter(lease.held()).one(db).await?;
    row.map(|r| r.status().map_err(|e| super::unknown(&e)))
        .transpose()
}

/// How a runner ends its hold on a job.
#[derive(Clone, Debug, PartialEq)]
pub struct Ending {
    /// Final (`succeeded`, `failed`, `cancelled`), or `queued` for another attempt.
    pub status: JobStatus,
    /// When queued again: not before this.
    pub run_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub progress: Option<Value>,
    /// The attempt does not count (the runner was stopping, the job did not fail).
    pub refund: bool,
}

/// Ends a held job as `ending` says. False when the lease was no longer held (nothing written).
pub async fn release<C: ConnectionTrait>(
    db: &C,
    lease: &Lease,
    ending: Ending,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(ending.status.as_str()))
        .col_expr(
            jobs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
        )
        .col_expr(jobs::Column::Error, Expr::value(ending.error))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)));
    if let Some(at) = ending.run_at {
        update = update.col_expr(jobs::Column::RunAt, Expr::value(ts(at)));
    }
    if let Some(p) = ending.progress {
        update = update.col_expr(jobs::Column::Progress, Expr::value(p));
    }
    if ending.refund {
        update = update.col_expr(
            jobs::Column::Attempts,
            Expr::value(lease.attempt.saturating_sub(1)),
        );
    }
    let result = update.filter(lease.held()).exec(db).await?;
    Ok(result.rows_affected == 1)
}

/// Ends jobs whose runner died and that no runner may take again: `cancelling` ones become
/// `cancelled`, `running` ones out of attempts become `failed`. Returns how many of each.
pub async fn settle_abandoned_global<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let expired = || {
        Condition::all()
            .add(jobs::Column::LeaseExpiresAt.lt(ts(now)))
            .add(jobs::Column::LeaseOwner.is_not_null())
    };
    let cancelled = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Cancelled.as_str()),
        )
        .col_expr(
            jobs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(jobs::Column::Status.eq(JobStatus::Cancelling.as_str()))
        .filter(expired())
        .exec(db)
        .await?
        .rows_affected;
    let failed = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Failed.as_str()),
        )
        .col_expr(
            jobs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            jobs::Column::Error,
            Expr::value("Its runner stopped during the last attempt (the lease expired)."),
        )
        .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
        .filter(expired())
        .filter(Expr::col(jobs::Column::Attempts).gte(Expr::col(jobs::Column::MaxAttempts)))
        .exec(db)
        .await?
        .rows_affected;
    Ok((cancelled, failed))
}

/// Asks a job of `org` to stop: a queued one is cancelled at once, a running one becomes
/// `cancelling` (its runner stops it). Returns the status it has now, `None` if not found.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    org: Option<OrgId>,
    id: JobId,
    now: DateTime<Utc>,
) -> Result<Option<JobStatus>, DbErr> {
    let scoped = |status: JobStatus| {
        let c = Condition::all()
            .add(jobs::Column::Id.eq(id.0))
            .add(jobs::Column::Status.eq(status.as_str()));
        match org {
            Some(o) => c.add(jobs::Column::OrgId.eq(o.0)),
            None => c,
        }
    };
    for (from, to) in [
        (JobStatus::Queued, JobStatus::Cancelled),
        (JobStatus::Running, JobStatus::Cancelling),
    ] {
        let result = jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(to.as_str()))
            .col_expr(jobs::Column::UpdatedAt, Expr::value(ts(now)))
            .filter(scoped(from))
            .exec(db)
            .await?;
        if result.rows_affected == 1 {
            return Ok(Some(to));
        }
    }
    let row = match org {
        Some(o) => find(db, o, id).await?,
        None => find_global(db, id).await?,
    };
    row.map(|r| r.status().map_err(|e| super::unknown(&e)))
        .transpose()
}
