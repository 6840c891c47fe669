//! Executing runs (docs/RUNS.md). A foreground run executes inside its request, detached from
//! the connection, with a heartbeat (`lease_until`) that housekeeping watches: a foreground run
//! whose instance died ends in `error` (its caller's request failed with it). A background or
//! approved run executes as a `run.execute` job, which survives a restart: a job whose runner
//! died is taken again once its lease expires, and executes the run again from its input. A
//! paused run has a `run.expire` job due at its deadline.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::routes;
use crate::actor::{Credential, KeyLimits, Principal};
use crate::db::entities::runs;
use crate::services::chat::engine::Outcome;
use crate::services::chat::openai;
use crate::services::jobs::{self, JobFailure, JobHandler, JobRun, NewJob};
use crate::store;
use crate::store::runs::Change;
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{ApiKeyId, OrgId, RouteId, RunId, UserId};
use aerie_contract::runs::{RunMessage, RunRole};
use aerie_contract::{CallEndpoint, ErrorCode, RunStatus, UserStatus};

/// The job kind that executes a queued or approved run.
pub const EXECUTE_KIND: &str = "run.execute";
/// The job kind that ends a paused run nobody decided on.
pub const EXPIRE_KIND: &str = "run.expire";
/// How long a foreground run's heartbeat holds; it is renewed every third of it.
pub const LEASE: Duration = Duration::from_secs(60);

/// [`LEASE`] as a time span.
pub fn lease() -> chrono::Duration {
    chrono::Duration::from_std(LEASE).unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct Payload {
    run: RunId,
}

/// A run's messages as an upstream request takes them.
pub(crate) fn wire_messages(messages: &[RunMessage]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| serde_json::json!({ "role": m.role.as_str(), "content": m.content }))
        .collect()
}

/// The text of OpenAI chat messages (a paused chat completion keeps its text parts; images,
/// tool calls and tool results are not kept).
pub(crate) fn text_messages(messages: &[Value]) -> Vec<RunMessage> {
    messages
        .iter()
        .filter_map(|m| {
            let role = RunRole::parse(m.get("role").and_then(Value::as_str)?)?;
            let content = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => return None,
            };
            Some(RunMessage { role, content })
        })
        .collect()
}

/// Queues `run` for execution as a job and wakes this instance's runner.
pub(crate) async fn enqueue(ctx: &AppContext, run: &runs::Model) -> Result<()> {
    let payload =
        serde_json::to_value(Payload { run: RunId(run.id) }).map_err(|e| anyhow::anyhow!(e))?;
    jobs::enqueue(
        ctx.db(),
        NewJob::new(EXECUTE_KIND, Some(OrgId(run.org_id)), payload),
    )
    .await?;
    jobs::wake(ctx);
    Ok(())
}

/// Queues the end of paused `run` at its deadline.
pub(crate) async fn schedule_expiry(
    ctx: &AppContext,
    run: &runs::Model,
    minutes: u32,
) -> Result<()> {
    let payload =
        serde_json::to_value(Payload { run: RunId(run.id) }).map_err(|e| anyhow::anyhow!(e))?;
    jobs::enqueue(
        ctx.db(),
        NewJob {
            delay: Duration::from_secs(u64::from(minutes) * 60),
            ..NewJob::new(EXPIRE_KIND, Some(OrgId(run.org_id)), payload)
        },
    )
    .await?;
    Ok(())
}

/// The person a run acts for, as when they created it (an API key's own rate limits aside);
/// someone no longer an active member cannot have a run executed.
async fn principal_of(ctx: &AppContext, run: &runs::Model) -> Result<Principal> {
    let org = OrgId(run.org_id);
    let (user, membership) = store::users::find_member(ctx.db(), org, UserId(run.user_id))
        .await?
        .ok_or_else(gone)?;
    if user.status()? != UserStatus::Active {
        return Err(gone());
    }
    Ok(Principal {
        user_id: UserId(run.user_id),
        org_id: org,
        role: membership.role()?,
        credential: match run.api_key_id {
            Some(k) => Credential::ApiKey(ApiKeyId(k)),
            None => Credential::Session,
        },
        key_limits: KeyLimits::default(),
    })
}

fn gone() -> Error {
    Error::detailed(
        ErrorCode::Forbidden,
        "The person who created the run is no longer an active member of the organisation.",
    )
}

/// Asks the route's model for the run's answer.
async fn answer(
    ctx: &AppContext,
    run: &runs::Model,
    cancel: &CancellationToken,
) -> Result<Outcome> {
    let p = principal_of(ctx, run).await?;
    let row = store::routes::find(ctx.db(), p.org_id, RouteId(run.route_id))
        .await?
        .ok_or_else(|| {
            Error::detailed(
                ErrorCode::Conflict,
                format!(
                    "The route `{}` was deleted before the run executed.",
                    run.route_name
                ),
            )
        })?;
    let route = routes::to_dto(&row)?;
    let target = routes::target(ctx, &p, &route).await?;
    let guardrails = routes::guardrails(ctx, p.org_id, &route).await?;
    let messages: Vec<RunMessage> =
        serde_json::from_value(run.messages.clone()).map_err(|e| anyhow::anyhow!(e))?;
    let mut passthrough = Map::new();
    if let Some(cap) = route.max_output_tokens {
        passthrough.insert("max_tokens".to_owned(), Value::from(cap));
    }
    // The input was screened when the run was created; the answer is screened here.
    let mut prep = openai::build(
        ctx,
        p,
        target,
        wire_messages(&messages),
        passthrough,
        guardrails,
        CallEndpoint::Run,
        false,
        false,
        route.name.clone(),
    )
    .await?;
    openai::complete_until(ctx, &mut prep, cancel).await
}

/// Ends running `run` with `result`. `None` when the run had already left `running`.
async fn finish(
    ctx: &AppContext,
    run: &runs::Model,
    result: Result<Outcome>,
) -> Result<Option<runs::Model>> {
    let (to, change, reason) = match result {
        Ok(out) => (
            RunStatus::Completed,
            Change {
                response: Some(out.content),
                tokens: Some((
                    i64::try_from(out.usage.prompt_tokens).unwrap_or(i64::MAX),
                    i64::try_from(out.usage.completion_tokens).unwrap_or(i64::MAX),
                )),
                lease_until: Some(None),
                ..Change::default()
            },
            "Completed.".to_owned(),
        ),
        Err(e) => {
            let (code, message) = super::error_of(&e);
            (
                RunStatus::Error,
                Change {
                    error: Some((code.info().code.to_owned(), message.clone())),
                    lease_until: Some(None),
                    ..Change::default()
                },
                message,
            )
        }
    };
    Ok(store::runs::transition(
        ctx.db(),
        OrgId(run.org_id),
        RunId(run.id),
        &[RunStatus::Running],
        to,
        change,
        &reason,
        None,
        Utc::now(),
    )
    .await?)
}

/// Executes a foreground run (already `running`, its heartbeat set) inside its request, but
/// detached from it: a client that goes away does not stop it. Answers the ended run.
pub(crate) async fn inline(ctx: &AppContext, run: runs::Model) -> Result<runs::Model> {
    let ctx = ctx.clone();
    let task = tokio::spawn(async move {
        let id = RunId(run.id);
        let beat = async {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                if let Err(e) = store::runs::renew(ctx.db(), id, Utc::now() + lease()).await {
                    tracing::warn!(error = %e, run = %id, "renewing a run's heartbeat");
                }
            }
        };
        let never = CancellationToken::new();
        let result = tokio::select! {
            r = answer(&ctx, &run, &never) => r,
            _ = beat => unreachable_beat(),
        };
        let ended = finish(&ctx, &run, result).await?;
        match ended {
            Some(r) => Ok(r),
            None => store::runs::find(ctx.db(), OrgId(run.org_id), id)
                .await?
                .ok_or(Error::NotFound),
        }
    });
    task.await
        .map_err(|e| Error::Internal(anyhow::anyhow!("a run's task stopped: {e}")))?
}

/// The heartbeat loops forever; this satisfies the type of its `select!` arm.
fn unreachable_beat() -> Result<Outcome> {
    Err(Error::Internal(anyhow::anyhow!("a run's heartbeat ended")))
}

/// Ends foreground runs whose instance died while they ran (their heartbeat stopped); returns
/// how many.
pub async fn end_stale(ctx: &AppContext) -> Result<usize> {
    let now = Utc::now();
    let mut ended = 0;
    for run in store::runs::stale_foreground(ctx.db(), now).await? {
        let message = "The server stopped while the run executed; create it again.".to_owned();
        let moved = store::runs::transition(
            ctx.db(),
            OrgId(run.org_id),
            RunId(run.id),
            &[RunStatus::Running],
            RunStatus::Error,
            Change {
                error: Some((
                    ErrorCode::Unavailable.info().code.to_owned(),
                    message.clone(),
                )),
                lease_until: Some(None),
                ..Change::default()
            },
            &message,
            None,
            now,
        )
        .await?;
        ended += usize::from(moved.is_some());
    }
    Ok(ended)
}

/// Runs `run.execute` jobs.
pub struct ExecuteJob {
    ctx: AppContext,
}

impl ExecuteJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }
}

#[async_trait::async_trait]
impl JobHandler for ExecuteJob {
    fn kind(&self) -> &'static str {
        EXECUTE_KIND
    }

    async fn run(&self, job: JobRun) -> std::result::Result<(), JobFailure> {
        let ctx = &self.ctx;
        let (Payload { run: id }, org) = job.org_payload()?;
        let Some(run) = store::runs::find(ctx.db(), org, id)
            .await
            .map_err(Error::from)?
        else {
            return Ok(());
        };
        let run = match run.status.parse::<RunStatus>().map_err(Error::from)? {
            RunStatus::Pending => {
                match store::runs::transition(
                    ctx.db(),
                    org,
                    id,
                    &[RunStatus::Pending],
                    RunStatus::Running,
                    Change::default(),
                    "Started.",
                    None,
                    Utc::now(),
                )
                .await
                .map_err(Error::from)?
                {
                    Some(r) => r,
                    None => return Ok(()),
                }
            }
            // An earlier attempt died while it ran: run it again from its input.
            RunStatus::Running if run.lease_until.is_none() => run,
            _ => return Ok(()),
        };
        let result = answer(ctx, &run, job.cancelled()).await;
        if job.cancelled().is_cancelled() {
            // Stopped by a shutdown: the job is queued again and the run stays `running`.
            return Err(JobFailure::Cancelled);
        }
        finish(ctx, &run, result).await?;
        Ok(())
    }
}

/// Runs `run.expire` jobs.
pub struct ExpireJob {
    ctx: AppContext,
}

impl ExpireJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }
}

#[async_trait::async_trait]
impl JobHandler for ExpireJob {
    fn kind(&self) -> &'static str {
        EXPIRE_KIND
    }

    async fn run(&self, job: JobRun) -> std::result::Result<(), JobFailure> {
        let ctx = &self.ctx;
        let (Payload { run: id }, org) = job.org_payload()?;
        let Some(run) = store::runs::find(ctx.db(), org, id)
            .await
            .map_err(Error::from)?
        else {
            return Ok(());
        };
        let now = Utc::now();
        if run.status != RunStatus::Paused.as_str()
            || run.expires_at.is_some_and(|at| store::utc(at) > now)
        {
            return Ok(());
        }
        let minutes = (store::utc(run.expires_at.unwrap_or(run.created_at))
            - store::utc(run.created_at))
        .num_minutes();
        let message = format!("No approver decided within {minutes} minutes.");
        store::runs::transition(
            ctx.db(),
            org,
            id,
            &[RunStatus::Paused],
            RunStatus::Blocked,
            Change {
                error: Some((
                    ErrorCode::ApprovalTimedOut.info().code.to_owned(),
                    message.clone(),
                )),
                ..Change::default()
            },
            &message,
            None,
            now,
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }
}
