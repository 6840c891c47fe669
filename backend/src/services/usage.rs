//! Usage records: one per model call, written in batches by one writer task so the request
//! path never waits for the database; `/v1/logs` and `/v1/auth/profile` (the credits and
//! token quota are [`billing`]'s).

use std::sync::OnceLock;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Principal};
use crate::db::entities::usage_records;
use crate::services::billing;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{AgentId, ApiKeyId, OrgId, ProviderId, UsageId, UserId};
use aerie_contract::usage::{Profile, UsageLog};
use aerie_contract::{CallEndpoint, CallStatus};

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

/// The batching writer.
#[derive(Default)]
pub struct Usage {
    sink: OnceLock<mpsc::UnboundedSender<Cmd>>,
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

/// Queues a usage record.
pub fn record(ctx: &AppContext, call: Call) {
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

/// Email, plan and the organisation's token balance for this period (the same row
/// `GET /v1/billings/subscription/` reads).
pub async fn profile(ctx: &AppContext, actor: &Actor) -> Result<Profile> {
    let p = actor.principal()?;
    let (user, _) = store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let standing = billing::standing(ctx, p.org_id).await?;
    let (total, used, remaining) = billing::token_balance(ctx, &standing).await?;
    Ok(Profile {
        email: user.email,
        name: user.name,
        organization: org.name,
        subscription_tier: standing.plan.slug,
        monthly_token_quota: total,
        used_monthly_tokens: used,
        remaining_monthly_tokens: remaining,
        quota_resets_at: standing.key.end,
    })
}
