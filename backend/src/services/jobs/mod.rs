//! Background jobs: durable work that outlives a request and survives a restart (document
//! ingestion, reindexing, deletions of what a knowledge base held, later governed runs and
//! webhooks).
//!
//! A job is a row of `jobs` (kind, JSON payload, status, attempts). A [`Runner`] in each
//! instance claims due jobs with a lease, runs the [`JobHandler`] registered for the kind,
//! renews the lease while it runs (storing progress on the way), and ends the job: `succeeded`,
//! `failed` (out of attempts, or a failure no retry can fix), `cancelled`, or `queued` again
//! after a back-off. A job whose runner died (`kill -9`, a crashed host) is taken again once its
//! lease expires, by this instance or another one sharing the database; a claim is one
//! conditional `UPDATE`, and every later write names the lease (runner and attempt), so two
//! runners never run one job at once and a runner that lost its lease writes nothing
//! (`backend/src/store/jobs.rs`).
//!
//! Enqueue in the same transaction as the rows the job works on ([`enqueue`] takes any
//! connection), then [`wake`] the local runner once committed.

mod runner;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{AppContext, Error, Result, store};
use aerie_contract::JobStatus;
use aerie_contract::ids::{JobId, OrgId};

pub use runner::{JobFailure, JobHandler, JobRun, Runner, RunnerConfig};

/// A job to queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The handler that runs it ([`JobHandler::kind`]).
    pub kind: &'static str,
    /// The organisation whose data it works on; `None` for instance-wide work.
    pub org: Option<OrgId>,
    pub payload: Value,
    /// Attempts before it fails for good (at least 1).
    pub max_attempts: u32,
    /// Not before this long from now.
    pub delay: Duration,
}

impl NewJob {
    /// A job of `kind` for `org`, due now, with 5 attempts.
    pub fn new(kind: &'static str, org: Option<OrgId>, payload: Value) -> Self {
        Self {
            kind,
            org,
            payload,
            max_attempts: 5,
            delay: Duration::ZERO,
        }
    }
}

/// Queues a job on `db` (a transaction of the caller's, so the job exists exactly when the
/// rows it works on do). Call [`wake`] after the commit to start it without waiting for the
/// next poll.
pub async fn enqueue<C: ConnectionTrait>(db: &C, job: NewJob) -> Result<JobId> {
    let now = Utc::now();
    let id = JobId::new();
    let delay = chrono::Duration::from_std(job.delay).unwrap_or(chrono::Duration::MAX);
    store::jobs::insert(
        db,
        store::jobs::NewJob {
            id,
            org: job.org,
            kind: job.kind.to_owned(),
            payload: job.payload,
            max_attempts: i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX),
            run_at: now.checked_add_signed(delay).unwrap_or(now),
        },
        now,
    )
    .await?;
    Ok(id)
}

/// Tells this instance's runner that a job is due.
pub fn wake(ctx: &AppContext) {
    ctx.jobs().notify.notify_one();
}

/// Asks a job of `org` to stop: a queued job is cancelled at once; a running one is stopped by
/// its runner (at once when it runs in this instance, else at its next heartbeat). Returns the
/// status it has now (`cancelled`, `cancelling`, or the final status it already had).
pub async fn cancel(ctx: &AppContext, org: Option<OrgId>, id: JobId) -> Result<JobStatus> {
    let status = store::jobs::cancel(ctx.db(), org, id, Utc::now())
        .await?
        .ok_or(Error::NotFound)?;
    if status == JobStatus::Cancelling {
        ctx.jobs().cancel_local(id);
    }
    Ok(status)
}

/// This instance's runner, started by [`start`].
pub struct Started {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Started {
    /// Stops claiming jobs and stops the running ones (they go back to the queue); waits at
    /// most `within` for them to be handed back.
    pub async fn stop(self, within: Duration) {
        self.stop.cancel();
        if tokio::time::timeout(within, self.task).await.is_err() {
            tracing::warn!(
                "jobs still running at shutdown; they run again once their lease expires"
            );
        }
    }
}

/// Starts this instance's runner with every product job kind: `knowledge.delete`,
/// `knowledge.ingest`, `knowledge.document.delete`, `knowledge.reindex` (`services::knowledge`), `run.execute` and `run.expire`
/// (`services::runs`). It also ends jobs whose runner died and that no runner may take
/// again.
pub fn start(ctx: &AppContext) -> Started {
    let stop = CancellationToken::new();
    let runner = Runner::new(
        ctx.db().clone(),
        ctx.jobs().clone(),
        RunnerConfig {
            lease: Duration::from_secs(ctx.config().job_lease_secs.max(3)),
            ..RunnerConfig::default()
        },
    )
    .handle(crate::services::knowledge::DeleteJob::new(ctx.clone()))
    .handle(crate::services::knowledge::IngestJob::new(ctx.clone()))
    .handle(crate::services::knowledge::DocumentDeleteJob::new(
        ctx.clone(),
    ))
    .handle(crate::services::knowledge::ReindexJob::new(ctx.clone()))
    .handle(crate::services::runs::execute::ExecuteJob::new(ctx.clone()))
    .handle(crate::services::runs::execute::ExpireJob::new(ctx.clone()));
    let task = tokio::spawn(runner.run(stop.clone()));
    Started { stop, task }
}

/// A job as its owner or the operator sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    pub id: JobId,
    pub org: Option<OrgId>,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub progress: Option<Value>,
    pub error: Option<String>,
    pub run_at: chrono::DateTime<Utc>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

fn view(j: crate::db::entities::jobs::Model) -> Result<JobView> {
    Ok(JobView {
        id: JobId(j.id),
        org: j.org_id.map(OrgId),
        status: j.status()?,
        kind: j.kind,
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        progress: j.progress,
        error: j.error,
        run_at: store::utc(j.run_at),
        created_at: store::utc(j.created_at),
        updated_at: store::utc(j.updated_at),
    })
}

/// The most recent jobs of every organisation (the operator's view: `aerie jobs`).
pub async fn recent(
    ctx: &AppContext,
    status: Option<JobStatus>,
    limit: u64,
) -> Result<Vec<JobView>> {
    store::jobs::recent_global(ctx.db(), status, limit.clamp(1, 1000))
        .await?
        .into_iter()
        .map(view)
        .collect()
}

/// This instance's side of the jobs: the runner's wake-up call and the jobs it runs now (so a
/// cancel served here stops one without waiting for a heartbeat).
#[derive(Default)]
pub struct JobsRuntime {
    notify: Notify,
    running: Mutex<HashMap<JobId, CancellationToken>>,
}

impl JobsRuntime {
    fn cancel_local(&self, id: JobId) {
        if let Ok(running) = self.running.lock()
            && let Some(token) = running.get(&id)
        {
            token.cancel();
        }
    }

    fn started(&self, id: JobId, token: CancellationToken) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(id, token);
        }
    }

    fn ended(&self, id: JobId) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
    }
}
