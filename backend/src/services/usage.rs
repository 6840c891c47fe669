//! Usage records: one per model call, written in batches by one writer task so the request
//! path never waits for the database; the monthly token quota per organisation; `/v1/logs` and
//! `/v1/auth/profile`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Principal};
use crate::db::entities::usage_records;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{AgentId, ApiKeyId, OrgId, ProviderId, UsageId, UserId};
use aerie_contract::usage::{Profile, UsageLog};
use aerie_contract::{CallEndpoint, CallStatus, ErrorCode};

/// One model call, as the chat engine reports it.
#[derive(Clone, Debug)]
pub struct Call {
    pub org: OrgId,
    pub user: Option<UserId>,
    pub api_key: Option<ApiKeyId>,
    pub agent: Option<AgentId>,
    pub provider: Option<ProviderId>,
    pub model: String,
    pub endpoint: CallEndpoint,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: u64,
    pub status: CallStatus,
}

enum Cmd {
    Record(Box<store::usage::NewUsageRecord>),
    Flush(oneshot::Sender<()>),
}

/// The batching writer and the quota counters.
#[derive(Default)]
pub struct Usage {
    sink: OnceLock<mpsc::UnboundedSender<Cmd>>,
    used: Mutex<HashMap<OrgId, Counter>>,
}

#[derive(Clone, Copy)]
struct Counter {
    month: DateTime<Utc>,
    used: i64,
    loaded: Instant,
}

const RELOAD: Duration = Duration::from_secs(30);

fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

fn next_month(now: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

fn sink(ctx: &AppContext) -> &mpsc::UnboundedSender<Cmd> {
    ctx.usage().sink.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(ctx.clone(), rx));
        tx
    })
}

async fn writer(ctx: AppContext, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    let mut batch = Vec::new();
    let mut waiters = Vec::new();
    while let Some(cmd) = rx.recv().await {
        let mut next = Some(cmd);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Record(row) => batch.push(*row),
                Cmd::Flush(done) => waiters.push(done),
            }
            if batch.len() < 500 {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let n = batch.len();
            if let Err(e) = store::usage::insert_many(ctx.db(), std::mem::take(&mut batch)).await {
                tracing::error!(error = %e, records = n, "writing usage records failed");
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// Queues a usage record and counts its tokens against the organisation's quota.
pub fn record(ctx: &AppContext, call: Call) {
    let tokens = i64::try_from(call.input_tokens + call.output_tokens).unwrap_or(i64::MAX);
    if let Ok(mut used) = ctx.usage().used.lock()
        && let Some(c) = used.get_mut(&call.org)
    {
        c.used = c.used.saturating_add(tokens);
    }
    let row = store::usage::NewUsageRecord {
        id: UsageId::new(),
        org: call.org,
        user: call.user,
        api_key: call.api_key,
        agent: call.agent,
        provider: call.provider,
        model: call.model,
        endpoint: call.endpoint,
        input_tokens: i64::try_from(call.input_tokens).unwrap_or(i64::MAX),
        output_tokens: i64::try_from(call.output_tokens).unwrap_or(i64::MAX),
        latency_ms: i32::try_from(call.latency_ms).unwrap_or(i32::MAX),
        status: call.status,
        created_at: Utc::now(),
    };
    if sink(ctx).send(Cmd::Record(Box::new(row))).is_err() {
        tracing::error!("the usage writer has stopped; a usage record was lost");
    }
}

/// Waits until every queued record is written.
pub async fn flush(ctx: &AppContext) {
    let (tx, rx) = oneshot::channel();
    if sink(ctx).send(Cmd::Flush(tx)).is_ok() {
        let _ = rx.await;
    }
}

/// Tokens the organisation used this month (cached for 30 s, plus what was recorded since).
async fn used_this_month(ctx: &AppContext, org: OrgId) -> Result<i64> {
    let now = Utc::now();
    let month = month_start(now);
    if let Ok(used) = ctx.usage().used.lock()
        && let Some(c) = used.get(&org)
        && c.month == month
        && c.loaded.elapsed() < RELOAD
    {
        return Ok(c.used);
    }
    flush(ctx).await;
    let used = store::usage::tokens_since(ctx.db(), org, month).await?;
    if let Ok(mut map) = ctx.usage().used.lock() {
        map.insert(
            org,
            Counter {
                month,
                used,
                loaded: Instant::now(),
            },
        );
    }
    Ok(used)
}

fn quota(ctx: &AppContext) -> Option<i64> {
    let q = ctx.config().monthly_token_quota;
    (q > 0).then_some(q)
}

/// Refuses (402) a model call when the organisation's monthly tokens are used up. The body's
/// `detail` is seed 001's sentence on every family; the reset date and how to raise the limit
/// are in `why` and `fix`.
pub async fn check_quota(ctx: &AppContext, org: OrgId) -> Result<()> {
    let Some(total) = quota(ctx) else {
        return Ok(());
    };
    let used = used_this_month(ctx, org).await?;
    if used >= total {
        return Err(quota_exhausted(total, used, Utc::now()));
    }
    Ok(())
}

fn quota_exhausted(total: i64, used: i64, now: DateTime<Utc>) -> Error {
    Error::Explained {
        code: ErrorCode::QuotaExhausted,
        why: format!(
            "Your organisation used {used} of its {total} tokens for this month; the quota resets on {} (UTC).",
            next_month(now).format("%Y-%m-%d")
        ),
        fix: "Wait for the reset, or ask the operator to raise AERIE_MONTHLY_TOKEN_QUOTA (0 means unlimited); GET /v1/auth/profile shows the balance.".to_owned(),
    }
}

fn to_log(r: usage_records::Model) -> Result<UsageLog> {
    let (endpoint, status) = (r.endpoint()?, r.status()?);
    Ok(UsageLog {
        id: UsageId(r.id),
        created_at: utc(r.created_at),
        model_id: r.model,
        agent_id: r.agent_id.map(AgentId),
        user_id: r.user_id.map(UserId),
        api_key_id: r.api_key_id.map(ApiKeyId),
        endpoint,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        latency_ms: i64::from(r.latency_ms),
        status,
    })
}

/// The caller's most recent usage records (`limit` 1..=1000, default 100).
pub async fn logs(ctx: &AppContext, actor: &Actor, limit: Option<u64>) -> Result<Vec<UsageLog>> {
    let p: &Principal = actor.principal()?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 1000."));
    }
    flush(ctx).await;
    store::usage::recent_for_user(ctx.db(), p.org_id, p.user_id, limit)
        .await?
        .into_iter()
        .map(to_log)
        .collect()
}

/// Email, plan and the organisation's token balance for this month.
pub async fn profile(ctx: &AppContext, actor: &Actor) -> Result<Profile> {
    let p = actor.principal()?;
    let (user, _) = store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let used = used_this_month(ctx, p.org_id).await?;
    let total = quota(ctx);
    Ok(Profile {
        email: user.email,
        name: user.name,
        organization: org.name,
        subscription_tier: org.plan,
        monthly_token_quota: total,
        used_monthly_tokens: used,
        remaining_monthly_tokens: total.map(|t| (t - used).max(0)),
        quota_resets_at: next_month(Utc::now()),
    })
}
