//! The job runner (`backend/src/services/jobs/`) on a real database: jobs run, retry with
//! back-off and end; cancellation of queued and running jobs; a job whose runner died is taken
//! again after its lease expires; a runner that lost its lease stops and writes nothing; and two
//! runners with their own connection pools never run one job twice at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aerie_backend::config::DbKind;
use aerie_backend::services::jobs::{
    self, JobFailure, JobHandler, JobRun, JobsRuntime, NewJob, Runner, RunnerConfig,
};
use aerie_backend::testing::store;
use aerie_contract::JobStatus;
use aerie_contract::ids::JobId;
use rstest::rstest;
use sea_orm_migration::sea_orm::DatabaseConnection;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::TestApp;

fn fast() -> RunnerConfig {
    RunnerConfig {
        lease: Duration::from_millis(900),
        poll: Duration::from_millis(50),
        workers: 4,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(100),
    }
}

/// Starts `handlers` on a runner of its own over `db`; cancel the token to stop it.
fn start(
    db: &DatabaseConnection,
    runtime: Arc<JobsRuntime>,
    config: RunnerConfig,
    handlers: Vec<Arc<dyn JobHandler>>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let runner = handlers
        .into_iter()
        .fold(Runner::new(db.clone(), runtime, config), Runner::handle);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));
    (stop, task)
}

async fn enqueue(
    db: &DatabaseConnection,
    kind: &'static str,
    payload: serde_json::Value,
    max_attempts: u32,
) -> JobId {
    jobs::enqueue(
        db,
        NewJob {
            max_attempts,
            ..NewJob::new(kind, None, payload)
        },
    )
    .await
    .expect("enqueue")
}

/// The job's row once `done` holds for it (within 20 s).
async fn until(
    db: &DatabaseConnection,
    id: JobId,
    done: impl Fn(&aerie_backend::testing::entities::jobs::Model) -> bool,
) -> aerie_backend::testing::entities::jobs::Model {
    for _ in 0..400 {
        let row = store::jobs::find_global(db, id)
            .await
            .expect("read")
            .expect("job");
        if done(&row) {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = store::jobs::find_global(db, id)
        .await
        .expect("read")
        .expect("job");
    panic!("job {id} never reached the expected state: {row:?}");
}

fn status(row: &aerie_backend::testing::entities::jobs::Model) -> JobStatus {
    row.status().expect("known status")
}

/// Fails with `Retry` until attempt `payload.succeed_at` (never, if absent), `Fatal` when
/// `payload.fatal`; reports progress on the way.
struct Flaky;

#[async_trait::async_trait]
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        job.progress(json!({"attempt": job.attempt}));
        if job.payload["fatal"].as_bool() == Some(true) {
            return Err(JobFailure::Fatal("the input cannot be read".into()));
        }
        match job.payload["succeed_at"].as_u64() {
            Some(n) if u64::from(job.attempt) >= n => Ok(()),
            _ => Err(JobFailure::Retry(format!(
                "upstream down (attempt {})",
                job.attempt
            ))),
        }
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn jobs_retry_with_back_off_and_end_succeeded_or_failed(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let db = app.ctx.db();
    let (stop, task) = start(db, Arc::default(), fast(), vec![Arc::new(Flaky)]);

    let third_time = enqueue(db, "test.flaky", json!({"succeed_at": 3}), 5).await;
    let never = enqueue(db, "test.flaky", json!({}), 2).await;
    let fatal = enqueue(db, "test.flaky", json!({"fatal": true}), 5).await;
    let is_final = |r: &aerie_backend::testing::entities::jobs::Model| status(r).is_final();

    let row = until(db, third_time, is_final).await;
    assert_eq!(status(&row), JobStatus::Succeeded);
    assert_eq!(row.attempts, 3);
    assert_eq!(row.error, None, "a success clears the last attempt's error");
    assert_eq!(row.progress, Some(json!({"attempt": 3})));
    assert_eq!((row.lease_owner, row.lease_expires_at), (None, None));

    let row = until(db, never, is_final).await;
    assert_eq!(status(&row), JobStatus::Failed);
    assert_eq!(row.attempts, 2, "max_attempts is honoured");
    assert_eq!(row.error.as_deref(), Some("upstream down (attempt 2)"));

    let row = until(db, fatal, is_final).await;
    assert_eq!(status(&row), JobStatus::Failed);
    assert_eq!(row.attempts, 1, "a fatal failure is not retried");
    assert_eq!(row.error.as_deref(), Some("the input cannot be read"));

    // A job of a kind this runner does not handle stays queued.
    let other = enqueue(db, "test.unknown", json!({}), 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = store::jobs::find_global(db, other)
        .await
        .expect("read")
        .expect("job");
    assert_eq!((status(&row), row.attempts), (JobStatus::Queued, 0));

    stop.cancel();
    task.await.expect("runner stops");
}

/// Runs until cancelled, or forever; `stopped` records each run that ended, however it ended
/// (returned, or dropped by its runner).
struct Waits {
    stopped: Arc<Mutex<Vec<JobId>>>,
}

/// Records its job in `stopped` when dropped.
struct Stopped(JobId, Arc<Mutex<Vec<JobId>>>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(mut stopped) = self.1.lock() {
            stopped.push(self.0);
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for Waits {
    fn kind(&self) -> &'static str {
        "test.waits"
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        let _stopped = Stopped(job.id, self.stopped.clone());
        job.progress(json!({"step": "waiting"}));
        job.cancelled().cancelled().await;
        Err(JobFailure::Cancelled)
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn queued_and_running_jobs_can_be_cancelled_here_or_from_another_instance(
    #[case] kind: DbKind,
) {
    let app = TestApp::spawn(kind).await;
    let db = app.ctx.db();
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(Waits {
        stopped: stopped.clone(),
    });
    let (stop, task) = start(db, app.ctx.jobs().clone(), fast(), vec![handler]);

    // Queued (not due for an hour): cancelled at once, never runs.
    let later = jobs::enqueue(
        db,
        NewJob {
            delay: Duration::from_secs(3600),
            ..NewJob::new("test.waits", None, json!({}))
        },
    )
    .await
    .expect("enqueue");
    assert_eq!(
        jobs::cancel(&app.ctx, None, later).await.expect("cancel"),
        JobStatus::Cancelled
    );

    // Running here: the cancel reaches the handler through this instance at once.
    let here = enqueue(db, "test.waits", json!({}), 5).await;
    let running = |r: &aerie_backend::testing::entities::jobs::Model| {
        status(r) == JobStatus::Running && r.progress.is_some()
    };
    until(db, here, running).await;
    assert_eq!(
        jobs::cancel(&app.ctx, None, here).await.expect("cancel"),
        JobStatus::Cancelling
    );
    let row = until(db, here, |r| status(r).is_final()).await;
    assert_eq!(status(&row), JobStatus::Cancelled);

    // Running, cancelled through the database by another instance: the runner sees it at its
    // next heartbeat.
    let there = enqueue(db, "test.waits", json!({}), 5).await;
    until(db, there, running).await;
    let now = chrono::Utc::now();
    assert_eq!(
        store::jobs::cancel(db, None, there, now)
            .await
            .expect("cancel"),
        Some(JobStatus::Cancelling)
    );
    let row = until(db, there, |r| status(r).is_final()).await;
    assert_eq!(status(&row), JobStatus::Cancelled);
    assert_eq!(row.attempts, 1);

    let stopped = stopped.lock().expect("lock").clone();
    assert_eq!(stopped, vec![here, there], "each handler was stopped");
    assert_eq!(
        jobs::cancel(&app.ctx, None, here).await.expect("cancel"),
        JobStatus::Cancelled,
        "cancelling an ended job changes nothing"
    );
    stop.cancel();
    task.await.expect("runner stops");
}

/// Succeeds at once, counting its runs.
struct Counts {
    runs: Arc<Mutex<Vec<JobId>>>,
}

#[async_trait::async_trait]
impl JobHandler for Counts {
    fn kind(&self) -> &'static str {
        "test.counts"
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        if let Ok(mut runs) = self.runs.lock() {
            runs.push(job.id);
        }
        Ok(())
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_job_whose_runner_died_runs_again_once_its_lease_expires(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let db = app.ctx.db();
    // A runner claimed the job and died (no heartbeat will come): its lease runs out in 3 s.
    let id = enqueue(db, "test.counts", json!({}), 5).await;
    let now = chrono::Utc::now();
    let dead = store::jobs::claim_global(
        db,
        id,
        0,
        "dead-runner",
        now + chrono::Duration::seconds(3),
        now,
    )
    .await
    .expect("claim")
    .expect("claimed");
    assert_eq!(dead.attempt, 1);

    let runs = Arc::new(Mutex::new(Vec::new()));
    let (stop, task) = start(
        db,
        Arc::default(),
        fast(),
        vec![Arc::new(Counts { runs: runs.clone() })],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        runs.lock().expect("lock").is_empty(),
        "not while the lease holds"
    );

    let row = until(db, id, |r| status(r).is_final()).await;
    assert_eq!(status(&row), JobStatus::Succeeded);
    assert_eq!(row.attempts, 2, "the dead runner's attempt counts");
    assert_eq!(runs.lock().expect("lock").clone(), vec![id]);

    // The dead runner's late ending writes nothing.
    let late = store::jobs::Ending {
        status: JobStatus::Failed,
        run_at: None,
        error: Some("late".into()),
        progress: None,
        refund: false,
    };
    assert!(
        !store::jobs::release(db, &dead, late, chrono::Utc::now())
            .await
            .expect("release")
    );
    let row = store::jobs::find_global(db, id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!((status(&row), row.error), (JobStatus::Succeeded, None));

    // Out of attempts when its runner died: failed, with the reason.
    let last = enqueue(db, "test.never-handled", json!({}), 1).await;
    let now = chrono::Utc::now();
    store::jobs::claim_global(
        db,
        last,
        0,
        "dead-runner",
        now + chrono::Duration::milliseconds(200),
        now,
    )
    .await
    .expect("claim")
    .expect("claimed");
    let row = until(db, last, |r| status(r).is_final()).await;
    assert_eq!(status(&row), JobStatus::Failed);
    assert!(
        row.error
            .as_deref()
            .unwrap_or_default()
            .contains("lease expired"),
        "{row:?}"
    );

    stop.cancel();
    task.await.expect("runner stops");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_runner_that_lost_its_lease_stops_the_job_and_writes_nothing(#[case] kind: DbKind) {
    use aerie_backend::testing::entities::jobs as rows;
    use sea_orm_migration::sea_orm::sea_query::Expr;
    use sea_orm_migration::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = TestApp::spawn(kind).await;
    let db = app.ctx.db();
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(Waits {
        stopped: stopped.clone(),
    });
    let (stop, task) = start(db, Arc::default(), fast(), vec![handler]);
    let id = enqueue(db, "test.waits", json!({}), 5).await;
    until(db, id, |r| {
        status(r) == JobStatus::Running && r.progress.is_some()
    })
    .await;

    // Another runner took it over (as if the lease had expired): the first one must notice at
    // its next heartbeat, stop its handler and leave the row alone.
    rows::Entity::update_many()
        .col_expr(rows::Column::LeaseOwner, Expr::value("another-runner"))
        .col_expr(rows::Column::Attempts, Expr::value(2))
        .filter(rows::Column::Id.eq(id.0))
        .exec(db)
        .await
        .expect("take over");
    for _ in 0..100 {
        if !stopped.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stopped.lock().expect("lock").clone(),
        vec![id],
        "the handler was stopped"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = store::jobs::find_global(db, id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(status(&row), JobStatus::Running);
    assert_eq!(row.lease_owner.as_deref(), Some("another-runner"));
    assert_eq!(row.attempts, 2);
    stop.cancel();
    task.await.expect("runner stops");
}

/// Records overlapping runs of one job (there must be none) and how often each job ran.
#[derive(Default)]
struct Ledger {
    active: HashSet<JobId>,
    overlaps: Vec<JobId>,
    runs: HashMap<JobId, u32>,
    by_runner: HashMap<&'static str, u32>,
}

struct Exclusive {
    name: &'static str,
    ledger: Arc<Mutex<Ledger>>,
}

#[async_trait::async_trait]
impl JobHandler for Exclusive {
    fn kind(&self) -> &'static str {
        "test.exclusive"
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        if let Ok(mut l) = self.ledger.lock() {
            if !l.active.insert(job.id) {
                l.overlaps.push(job.id);
            }
            *l.runs.entry(job.id).or_default() += 1;
            *l.by_runner.entry(self.name).or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(
            5 + u64::from(job.id.0.as_u128() as u8 % 20),
        ))
        .await;
        if let Ok(mut l) = self.ledger.lock() {
            l.active.remove(&job.id);
        }
        Ok(())
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_sharing_a_database_run_each_job_exactly_once(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    // Each runner has its own pool, as two instances would.
    let first = aerie_backend::db::connect(&app.db.config())
        .await
        .expect("pool");
    let second = aerie_backend::db::connect(&app.db.config())
        .await
        .expect("pool");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let runner = |name| -> Vec<Arc<dyn JobHandler>> {
        vec![Arc::new(Exclusive {
            name,
            ledger: ledger.clone(),
        })]
    };
    let (stop_a, a) = start(&first, Arc::default(), fast(), runner("a"));
    let (stop_b, b) = start(&second, Arc::default(), fast(), runner("b"));

    let mut ids = Vec::new();
    for i in 0..80 {
        let db = if i % 2 == 0 { &first } else { &second };
        ids.push(enqueue(db, "test.exclusive", json!({"n": i}), 3).await);
    }
    for id in &ids {
        let row = until(&first, *id, |r| status(r).is_final()).await;
        assert_eq!(status(&row), JobStatus::Succeeded, "{row:?}");
        assert_eq!(row.attempts, 1, "{row:?}");
    }
    stop_a.cancel();
    stop_b.cancel();
    a.await.expect("runner a stops");
    b.await.expect("runner b stops");
    let l = ledger.lock().expect("lock");
    assert!(
        l.overlaps.is_empty(),
        "jobs run twice at once: {:?}",
        l.overlaps
    );
    assert_eq!(l.runs.len(), ids.len());
    assert!(
        l.runs.values().all(|n| *n == 1),
        "a job ran more than once: {:?}",
        l.runs
    );
    assert_eq!(l.by_runner.values().sum::<u32>(), 80);
}

/// A suspended organisation's jobs wait: none is taken while it is suspended, and they run once
/// it is resumed; jobs of other organisations and of none run meanwhile.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_suspended_organisations_jobs_wait_until_it_resumes(#[case] kind: DbKind) {
    use aerie_contract::ids::OrgId;
    let app = TestApp::spawn(kind).await;
    let db = app.ctx.db();
    let now = chrono::Utc::now();
    let paused = OrgId(
        store::orgs::insert(db, "paused", "Paused", now)
            .await
            .expect("org")
            .id,
    );
    let active = OrgId(
        store::orgs::insert(db, "active", "Active", now)
            .await
            .expect("org")
            .id,
    );
    store::orgs::set_suspended(db, paused, Some(now), now)
        .await
        .expect("suspend");
    let job = |org| jobs::enqueue(db, NewJob::new("test.flaky", org, json!({"succeed_at": 1})));
    let waiting = job(Some(paused)).await.expect("enqueue");
    let theirs = job(Some(active)).await.expect("enqueue");
    let nobodys = job(None).await.expect("enqueue");
    let (stop, task) = start(db, Arc::default(), fast(), vec![Arc::new(Flaky)]);
    let succeeded =
        |r: &aerie_backend::testing::entities::jobs::Model| status(r) == JobStatus::Succeeded;
    until(db, theirs, succeeded).await;
    until(db, nobodys, succeeded).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = store::jobs::find_global(db, waiting)
        .await
        .expect("read")
        .expect("job");
    assert_eq!((status(&row), row.attempts), (JobStatus::Queued, 0));

    store::orgs::set_suspended(db, paused, None, chrono::Utc::now())
        .await
        .expect("resume");
    let row = until(db, waiting, succeeded).await;
    assert_eq!(row.attempts, 1);
    stop.cancel();
    task.await.expect("runner stops");
}
