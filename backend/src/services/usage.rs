//! Usage records: one per model call, written in batches by one writer task so the request
//! path never waits for the database; `/v1/logs` and `/v1/auth/profile` (the credits and
//! token quota are [`billing`]'s); the usage views: a report grouped by day, model, user, agent
//! or key (`GET /api/usage`) and every record as CSV (`GET /api/usage.csv`, streamed).

use std::sync::OnceLock;

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Principal, Role};
use crate::db::entities::usage_records;
use crate::services::csv_export::{self, ROWS_PER_PAGE};
use crate::services::{billing, license};
use crate::store::usage::GroupKey;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{AgentId, ApiKeyId, OrgId, ProviderId, UsageId, UserId};
use aerie_contract::usage::{Profile, UsageLog, UsageReport, UsageRow, UsageScope};
use aerie_contract::{CallEndpoint, CallStatus, ErrorCode, LicenseFeature, UsageGroup};

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
    /// Credits the call was charged.
    pub credits: i64,
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
        credits: call.credits,
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

/// The longest range a report or an export covers, in days. A range's days lie between
/// 1970-01-01 and 9999-12-31 (both databases store every time between them).
pub const MAX_RANGE_DAYS: u64 = 366;

/// What a usage report or export asks for. Days are UTC; both ends are included.
#[derive(Clone, Debug, Default)]
pub struct UsageFilter {
    /// First day; default: the first day of the organisation's current billing period.
    pub from: Option<NaiveDate>,
    /// Last day; default: today.
    pub to: Option<NaiveDate>,
    /// One person's calls (an admin's choice; a member always sees their own).
    pub user_id: Option<UserId>,
}

impl UsageFilter {
    /// One of the billing page's ranges, ending today: the billing period, or the last days.
    pub fn of_period(period: aerie_contract::usage::UsagePeriod) -> Self {
        let today = Utc::now().date_naive();
        Self {
            from: period
                .days()
                .and_then(|d| today.checked_sub_days(Days::new(d.saturating_sub(1)))),
            to: Some(today),
            user_id: None,
        }
    }
}

/// Whose calls, over which days.
struct Range {
    org: OrgId,
    user: Option<UserId>,
    scope: UsageScope,
    from: NaiveDate,
    to: NaiveDate,
}

impl Range {
    /// `[from 00:00, to + 1 day 00:00)` in UTC.
    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        let end = self
            .to
            .checked_add_days(Days::new(1))
            .map_or(DateTime::<Utc>::MAX_UTC, start);
        (start(self.from), end)
    }
}

/// Admins and owners see the organisation's usage (or one person's, when they name one); a
/// member sees their own, and naming anyone else is refused.
async fn range(ctx: &AppContext, actor: &Actor, f: &UsageFilter) -> Result<Range> {
    let p = actor.principal()?;
    let admin = p.role >= Role::Admin;
    let user = match f.user_id {
        Some(u) if u == p.user_id => Some(u),
        Some(u) if admin => {
            // Someone of this organisation (404 for anyone else's people).
            store::users::find_member(ctx.db(), p.org_id, u)
                .await?
                .ok_or(Error::NotFound)?;
            Some(u)
        }
        Some(_) => {
            return Err(Error::detailed(
                ErrorCode::Forbidden,
                "Only an organisation admin sees other people's usage; leave user_id out to see your own.",
            ));
        }
        None if admin => None,
        None => Some(p.user_id),
    };
    let today = Utc::now().date_naive();
    let from = match f.from {
        Some(d) => d,
        None => billing::standing(ctx, p.org_id)
            .await?
            .key
            .start
            .date_naive(),
    };
    let to = f.to.unwrap_or(today);
    let (earliest, latest) = (
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
    );
    for (field, day) in [("from", from), ("to", to)] {
        if !(earliest..=latest).contains(&day) {
            return Err(Error::invalid(
                field,
                format!("{field} must be a day between {earliest} and {latest}."),
            ));
        }
    }
    if from > to {
        return Err(Error::invalid("from", "from must not be after to."));
    }
    if (to - from).num_days() >= i64::try_from(MAX_RANGE_DAYS).unwrap_or(i64::MAX) {
        return Err(Error::invalid(
            "to",
            format!("A range covers at most {MAX_RANGE_DAYS} days."),
        ));
    }
    Ok(Range {
        org: p.org_id,
        user,
        scope: if user.is_some() {
            UsageScope::User
        } else {
            UsageScope::Organization
        },
        from,
        to,
    })
}

fn row(key: String, label: String, (n, i, o, c): store::usage::Sums) -> UsageRow {
    UsageRow {
        key,
        label,
        requests: n,
        input_tokens: i,
        output_tokens: o,
        credits: c,
    }
}

/// The names of the organisation's people, agents and keys, by id (labels of reports and the
/// export's columns).
#[derive(Default)]
struct Names {
    users: HashMap<uuid::Uuid, String>,
    agents: HashMap<uuid::Uuid, String>,
    keys: HashMap<uuid::Uuid, String>,
}

impl Names {
    async fn load(ctx: &AppContext, org: OrgId, which: &[UsageGroup]) -> Result<Self> {
        let db = ctx.db();
        let mut names = Names::default();
        if which.contains(&UsageGroup::User) {
            names.users = store::users::list_members(db, org, None)
                .await?
                .into_iter()
                .map(|(u, _)| (u.id, u.email))
                .collect();
        }
        if which.contains(&UsageGroup::Agent) {
            names.agents = store::agents::list(db, org)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
        }
        if which.contains(&UsageGroup::Key) {
            names.keys = store::api_keys::list(db, org)
                .await?
                .into_iter()
                .map(|k| (k.id, k.name))
                .collect();
        }
        Ok(names)
    }

    fn label(&self, by: UsageGroup, id: Option<uuid::Uuid>) -> String {
        let (map, none) = match by {
            UsageGroup::User => (&self.users, "(no user)"),
            UsageGroup::Agent => (&self.agents, "(no agent)"),
            _ => (&self.keys, "(no key)"),
        };
        match id {
            None => none.to_owned(),
            Some(id) => map
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "(deleted)".to_owned()),
        }
    }
}

/// `GET /api/usage`: the calls of the range, grouped.
pub async fn report(
    ctx: &AppContext,
    actor: &Actor,
    filter: &UsageFilter,
    by: UsageGroup,
) -> Result<UsageReport> {
    let r = range(ctx, actor, filter).await?;
    flush(ctx).await;
    let groups = store::usage::sums(ctx.db(), r.org, r.user, r.bounds(), by).await?;
    let names = Names::load(ctx, r.org, &[by]).await?;
    let mut rows: Vec<UsageRow> = Vec::with_capacity(groups.len());
    if by == UsageGroup::Day {
        let by_day: HashMap<String, store::usage::Sums> = groups
            .into_iter()
            .filter_map(|(k, v)| match k {
                GroupKey::Text(day) => Some((day, v)),
                GroupKey::Id(_) => None,
            })
            .collect();
        let mut day = Some(r.from);
        while let Some(d) = day.filter(|d| *d <= r.to) {
            let key = d.format("%Y-%m-%d").to_string();
            let sums = by_day.get(&key).copied().unwrap_or_default();
            rows.push(row(key.clone(), key, sums));
            day = d.succ_opt();
        }
    } else {
        for (k, sums) in groups {
            rows.push(match k {
                GroupKey::Text(model) => row(model.clone(), model, sums),
                GroupKey::Id(id) => row(
                    id.map(|i| i.to_string()).unwrap_or_default(),
                    names.label(by, id),
                    sums,
                ),
            });
        }
        rows.sort_by(|a, b| {
            b.credits
                .cmp(&a.credits)
                .then(b.requests.cmp(&a.requests))
                .then(a.label.cmp(&b.label))
        });
    }
    let total = rows.iter().fold(
        row("total".to_owned(), "total".to_owned(), (0, 0, 0, 0)),
        |mut t, r| {
            t.requests += r.requests;
            t.input_tokens += r.input_tokens;
            t.output_tokens += r.output_tokens;
            t.credits += r.credits;
            t
        },
    );
    Ok(UsageReport {
        from: r.from,
        to: r.to,
        group_by: by,
        scope: r.scope,
        rows,
        total,
    })
}

/// The CSV export's columns.
pub const CSV_HEADER: [&str; 16] = [
    "id",
    "created_at",
    "user_id",
    "user_email",
    "api_key_id",
    "api_key_name",
    "agent_id",
    "agent_name",
    "provider_id",
    "model",
    "endpoint",
    "status",
    "input_tokens",
    "output_tokens",
    "credits",
    "latency_ms",
];

pub use super::csv_export::Export;

/// `GET /api/usage.csv` (the Pro tier): every call of the range, oldest first, streamed from
/// the database a page at a time (`services/csv_export.rs`).
pub async fn export(ctx: &AppContext, actor: &Actor, filter: &UsageFilter) -> Result<Export> {
    let r = range(ctx, actor, filter).await?;
    license::require(ctx, LicenseFeature::UsageExport).await?;
    flush(ctx).await;
    let names = Names::load(
        ctx,
        r.org,
        &[UsageGroup::User, UsageGroup::Agent, UsageGroup::Key],
    )
    .await?;
    let db = ctx.db().clone();
    let (org, user, bounds) = (r.org, r.user, r.bounds());
    let page = move |after| {
        let db = db.clone();
        async move { store::usage::page_range(&db, org, user, bounds, after, ROWS_PER_PAGE).await }
    };
    Ok(csv_export::stream(
        format!("aerie-usage-{}-{}.csv", r.from, r.to),
        "usage",
        &CSV_HEADER,
        page,
        |rec: &usage_records::Model| (crate::store::utc(rec.created_at), rec.id),
        move |rec| csv_row(&names, rec),
    ))
}

fn csv_row(names: &Names, r: &usage_records::Model) -> [String; 16] {
    let id = |v: Option<uuid::Uuid>| v.map(|i| i.to_string()).unwrap_or_default();
    let name = |by, v: Option<uuid::Uuid>| {
        if v.is_some() {
            csv_export::safe(&names.label(by, v))
        } else {
            String::new()
        }
    };
    [
        r.id.to_string(),
        utc(r.created_at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        id(r.user_id),
        name(UsageGroup::User, r.user_id),
        id(r.api_key_id),
        name(UsageGroup::Key, r.api_key_id),
        id(r.agent_id),
        name(UsageGroup::Agent, r.agent_id),
        id(r.provider_id),
        csv_export::safe(&r.model),
        r.endpoint.clone(),
        r.status.clone(),
        r.input_tokens.to_string(),
        r.output_tokens.to_string(),
        r.credits.to_string(),
        r.latency_ms.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_covers_whole_utc_days() {
        let day = |s: &str| s.parse::<NaiveDate>().expect("a date");
        let r = Range {
            org: OrgId(uuid::Uuid::nil()),
            user: None,
            scope: UsageScope::Organization,
            from: day("2026-12-01"),
            to: day("2026-12-05"),
        };
        let (from, to) = r.bounds();
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-06T00:00:00+00:00");
        // The last day there is still ends.
        let last = Range {
            to: NaiveDate::MAX,
            ..r
        };
        assert_eq!(last.bounds().1, DateTime::<Utc>::MAX_UTC);
    }
}
