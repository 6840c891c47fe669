//! The runner: claims due jobs, runs their handlers with a bounded number of workers, renews
//! leases, and ends each job (see `mod.rs` for the life of a job).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::JobsRuntime;
use crate::store::jobs::{self as stored, Ending, Lease};
use aerie_contract::JobStatus;
use aerie_contract::ids::{JobId, OrgId};

/// How a runner paces itself.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// How long a claim holds a job without a heartbeat. The runner renews it every third of
    /// this, and stops a job itself when it could not renew in time, before another runner may
    /// take it.
    pub lease: Duration,
    /// How often to look for due jobs when nothing woke the runner.
    pub poll: Duration,
    /// Jobs run at once by this runner.
    pub workers: usize,
    /// The wait after a first failed attempt; it doubles with each attempt, up to `backoff_cap`
    /// (each wait varies by ±25 % so retries of many jobs spread out).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            workers: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, 4),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a job did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth another attempt (a provider or the network failed); the message is kept.
    Retry(String),
    /// No retry can fix it (a corrupt file, a missing knowledge base).
    Fatal(String),
    /// The handler stopped because [`JobRun::cancelled`] fired.
    Cancelled,
}

impl From<crate::Error> for JobFailure {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::NotFound => JobFailure::Fatal("What the job works on is gone.".into()),
            crate::Error::Invalid { message, .. } | crate::Error::State { message, .. } => {
                JobFailure::Fatal(message)
            }
            other => JobFailure::Retry(other.to_string()),
        }
    }
}

/// Runs the jobs of one kind.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind it runs (stored in `jobs.kind`, at most 64 characters).
    fn kind(&self) -> &'static str;

    /// Does the work. Idempotent: an attempt may follow one that did part of the work and
    /// died. Long work checks [`JobRun::cancelled`] between steps and reports progress.
    async fn run(&self, job: JobRun) -> Result<(), JobFailure>;
}

/// One attempt at a job, as its handler sees it.
pub struct JobRun {
    pub id: JobId,
    pub org: Option<OrgId>,
    pub payload: Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    cancel: CancellationToken,
    progress: watch::Sender<Option<Value>>,
}

impl JobRun {
    /// Fires when the job should stop: cancelled by a user, the instance shutting down, or the
    /// lease lost. Return [`JobFailure::Cancelled`] soon after.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Records how far the job got (stored with the next heartbeat, at most a second later).
    pub fn progress(&self, progress: Value) {
        self.progress.send_replace(Some(progress));
    }

    /// The payload of a job of one organisation, read as `T`; a payload that does not read or
    /// a job without an organisation fails for good.
    pub fn org_payload<T: serde::de::DeserializeOwned>(&self) -> Result<(T, OrgId), JobFailure> {
        let payload = serde_json::from_value(self.payload.clone())
            .map_err(|e| JobFailure::Fatal(format!("payload: {e}")))?;
        let org = self
            .org
            .ok_or_else(|| JobFailure::Fatal("the job names no organisation".to_owned()))?;
        Ok((payload, org))
    }
}

/// Why the runner stopped a job before its handler returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Running,
    /// Someone cancelled it.
    Cancel,
    /// This instance is shutting down: the job goes back to the queue.
    Shutdown,
}

/// Claims and runs jobs until shut down. Several runners (instances) may share a database.
pub struct Runner {
    db: DatabaseConnection,
    runtime: Arc<JobsRuntime>,
    config: RunnerConfig,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    owner: String,
}

impl Runner {
    /// A runner over `db`; `runtime` is the instance's (`AppContext::jobs`), so enqueues and
    /// cancels served by this instance reach it at once.
    pub fn new(db: DatabaseConnection, runtime: Arc<JobsRuntime>, config: RunnerConfig) -> Self {
        Self {
            db,
            runtime,
            config,
            handlers: HashMap::new(),
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Runs jobs of `handler.kind()` with `handler`.
    pub fn handle(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    /// The name its leases carry (`jobs.lease_owner`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims and runs due jobs until `shutdown` fires; then stops the running ones (they go
    /// back to the queue, the attempt not counted) and returns once they have.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.config.workers.max(1)));
        let kinds: Vec<&'static str> = this.handlers.keys().copied().collect();
        let mut workers = JoinSet::new();
        let mut settled_at: Option<Instant> = None;
        while !shutdown.is_cancelled() {
            while workers.try_join_next().is_some() {}
            if settled_at.is_none_or(|t| t.elapsed() >= this.config.lease / 2) {
                this.settle_abandoned().await;
                settled_at = Some(Instant::now());
            }
            let claimed = this
                .claim_due(&kinds, &permits, &mut workers, &shutdown)
                .await;
            if claimed > 0 && permits.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = this.runtime.notify.notified() => {}
                () = tokio::time::sleep(this.config.poll) => {}
                Some(_) = workers.join_next(), if !workers.is_empty() => {}
            }
        }
        while workers.join_next().await.is_some() {}
    }

    async fn settle_abandoned(&self) {
        match stored::settle_abandoned_global(&self.db, Utc::now()).await {
            Ok((0, 0)) => {}
            Ok((cancelled, failed)) => tracing::warn!(
                cancelled,
                failed,
                "ended jobs whose runner stopped (cancelled while running, or out of attempts)"
            ),
            Err(e) => tracing::warn!(error = %e, "jobs: settling abandoned jobs"),
        }
    }

    /// Claims as many due jobs as there are free workers and starts them; returns how many.
    async fn claim_due(
        self: &Arc<Self>,
        kinds: &[&'static str],
        permits: &Arc<Semaphore>,
        workers: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> usize {
        let free = permits.available_permits();
        if free == 0 || kinds.is_empty() {
            return 0;
        }
        let due = match stored::due_global(&self.db, kinds, Utc::now(), free as u64).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "jobs: looking for due jobs");
                return 0;
            }
        };
        let mut claimed = 0;
        for row in due {
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                break;
            };
            // Before the claim is sent: the lease surely holds until then + lease.
            let claimed_at = Instant::now();
            let now = Utc::now();
            let until = now + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
            let id = JobId(row.id);
            match stored::claim_global(&self.db, id, row.attempts, &self.owner, until, now).await {
                Ok(Some(lease)) => {
                    claimed += 1;
                    let this = Arc::clone(self);
                    let stop = shutdown.child_token();
                    workers.spawn(
                        async move { this.work(row, lease, claimed_at, permit, stop).await },
                    );
                }
                Ok(None) => {} // another runner was first
                Err(e) => tracing::warn!(error = %e, job = %id, "jobs: claiming"),
            }
        }
        claimed
    }

    /// Runs one claimed job to its end. `row` is the job as read before the claim (its kind,
    /// organisation, payload and attempts allowed never change).
    async fn work(
        self: Arc<Self>,
        row: crate::db::entities::jobs::Model,
        lease: Lease,
        claimed_at: Instant,
        _permit: OwnedSemaphorePermit,
        shutdown: CancellationToken,
    ) {
        let Some(handler) = self.handlers.get(row.kind.as_str()).cloned() else {
            return;
        };
        let max_attempts = u32::try_from(row.max_attempts).unwrap_or(1);
        let cancel = CancellationToken::new();
        let (progress, mut progressed) = watch::channel(None);
        let run = JobRun {
            id: lease.job,
            org: row.org_id.map(OrgId),
            payload: row.payload,
            attempt: u32::try_from(lease.attempt).unwrap_or(1),
            max_attempts,
            cancel: cancel.clone(),
            progress,
        };
        let span = tracing::info_span!("job", id = %lease.job, kind = handler.kind(), attempt = lease.attempt);
        tracing::debug!(parent: &span, "started");
        self.runtime.started(lease.job, cancel.clone());
        let task = tokio::spawn(async move { handler.run(run).await });
        let outcome = self
            .watch(
                &lease,
                task,
                &cancel,
                &mut progressed,
                &shutdown,
                claimed_at,
            )
            .await;
        self.runtime.ended(lease.job);
        let Some((result, stop)) = outcome else {
            tracing::warn!(parent: &span, "lost its lease (heartbeats failed): stopped here; another runner may take it");
            return;
        };
        // The last progress not stored yet (the handler, and with it the sender, may be gone).
        let progress = {
            let latest = progressed.borrow_and_update();
            if latest.has_changed() {
                latest.clone()
            } else {
                None
            }
        };
        let ending = self.ending(result, stop, lease.attempt, max_attempts, progress);
        tracing::info!(parent: &span, status = %ending.status, error = ending.error.as_deref(), "ended");
        match stored::release(&self.db, &lease, ending, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(parent: &span, "its lease was taken over before it ended; its ending was not stored")
            }
            Err(e) => {
                tracing::warn!(parent: &span, error = %e, "storing the job's ending; it runs again when its lease expires")
            }
        }
    }

    /// Waits for the handler, renewing the lease (with any new progress) and passing on a
    /// cancel or a shutdown. `None` when the lease was lost: the handler was stopped and nothing
    /// may be written.
    async fn watch(
        &self,
        lease: &Lease,
        mut task: tokio::task::JoinHandle<Result<(), JobFailure>>,
        cancel: &CancellationToken,
        progressed: &mut watch::Receiver<Option<Value>>,
        shutdown: &CancellationToken,
        claimed_at: Instant,
    ) -> Option<(Result<(), JobFailure>, Stop)> {
        let lease_len = self.config.lease;
        let renew_every = lease_len / 3;
        let tick = renew_every.min(Duration::from_secs(1));
        let mut held_until = claimed_at + lease_len;
        let mut renewed_at = claimed_at;
        let mut stop = Stop::Running;
        loop {
            tokio::select! {
                joined = &mut task => {
                    let result = joined.unwrap_or_else(|e| {
                        Err(JobFailure::Retry(if e.is_panic() {
                            "The job's handler panicked.".to_owned()
                        } else {
                            "The job's handler was stopped.".to_owned()
                        }))
                    });
                    return Some((result, stop));
                }
                () = shutdown.cancelled(), if stop == Stop::Running => {
                    stop = Stop::Shutdown;
                    cancel.cancel();
                }
                () = cancel.cancelled(), if stop == Stop::Running => {
                    // Cancelled through this instance (`jobs::cancel`).
                    stop = Stop::Cancel;
                }
                () = tokio::time::sleep(tick) => {
                    let changed = progressed.has_changed().unwrap_or(false);
                    if changed || renewed_at.elapsed() >= renew_every {
                        let sent = Instant::now();
                        let progress = if changed { progressed.borrow_and_update().clone() } else { None };
                        let now = Utc::now();
                        let until = now + chrono::Duration::from_std(lease_len).unwrap_or_default();
                        match stored::renew(&self.db, lease, until, progress, now).await {
                            Ok(Some(status)) => {
                                held_until = sent + lease_len;
                                renewed_at = sent;
                                if status == JobStatus::Cancelling && stop == Stop::Running {
                                    stop = Stop::Cancel;
                                    cancel.cancel();
                                }
                            }
                            Ok(None) => {
                                cancel.cancel();
                                task.abort();
                                return None;
                            }
                            Err(e) => tracing::warn!(error = %e, job = %lease.job, "jobs: renewing a lease"),
                        }
                    }
                    // Stop before the lease can expire, so no other runner ever runs it beside us.
                    if Instant::now() + lease_len / 6 >= held_until {
                        cancel.cancel();
                        task.abort();
                        return None;
                    }
                }
            }
        }
    }

    /// What to store once the handler returned.
    fn ending(
        &self,
        result: Result<(), JobFailure>,
        stop: Stop,
        attempt: i32,
        max_attempts: u32,
        progress: Option<Value>,
    ) -> Ending {
        let end = |status, error| Ending {
            status,
            run_at: None,
            error,
            progress: progress.clone(),
            refund: false,
        };
        match (result, stop) {
            (Ok(()), _) => end(JobStatus::Succeeded, None),
            (Err(_), Stop::Shutdown) => Ending {
                status: JobStatus::Queued,
                run_at: Some(Utc::now()),
                error: None,
                progress: progress.clone(),
                refund: true,
            },
            (Err(JobFailure::Cancelled), _) | (Err(_), Stop::Cancel) => {
                end(JobStatus::Cancelled, None)
            }
            (Err(JobFailure::Fatal(message)), _) => end(JobStatus::Failed, Some(message)),
            (Err(JobFailure::Retry(message)), _) => {
                if u32::try_from(attempt).unwrap_or(u32::MAX) >= max_attempts {
                    end(JobStatus::Failed, Some(message))
                } else {
                    let wait = backoff(&self.config, attempt);
                    Ending {
                        status: JobStatus::Queued,
                        run_at: Some(
                            Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                        ),
                        error: Some(message),
                        progress: progress.clone(),
                        refund: false,
                    }
                }
            }
        }
    }
}

/// The wait before the attempt after `attempt` (1-based): base·2^(attempt−1), capped, ±25 %.
pub(super) fn backoff(config: &RunnerConfig, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let wait = config
        .backoff_base
        .saturating_mul(1u32 << doublings)
        .min(config.backoff_cap);
    wait.mul_f64(rand::random_range(0.75..=1.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let config = RunnerConfig {
            backoff_base: Duration::from_secs(4),
            backoff_cap: Duration::from_secs(60),
            ..RunnerConfig::default()
        };
        for (attempt, nominal) in [
            (1, 4.0),
            (2, 8.0),
            (3, 16.0),
            (5, 60.0),
            (40, 60.0),
            (-3, 4.0),
        ] {
            let wait = backoff(&config, attempt).as_secs_f64();
            assert!(
                (nominal * 0.75..=nominal * 1.25).contains(&wait),
                "attempt {attempt}: {wait}s, nominal {nominal}s"
            );
        }
    }
}
