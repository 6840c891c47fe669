//! Plans, the organisation's subscription, and credits (docs/BILLING.md).
//!
//! Every model call is metered: before it, [`Meter::reserve`] holds the call's worst case
//! (every byte of the prompt as a token, plus its output cap) in the current period's row with
//! one conditional UPDATE — so neither concurrent requests nor several instances sharing the
//! database can overspend — and answers 402 in seed 001's words when it does not fit. After the
//! call, [`Hold::settle`] releases the hold and charges what the provider produced: its usage
//! when it reported one, else the prompt and the streamed text counted (a cancelled or dropped
//! stream included). A hold that is dropped unsettled (the call never started) is released.
//! When calls of an organisation overlap on this instance, they are held out of its lease of
//! the period instead, a block taken with the same conditional UPDATE and spent in memory
//! ([`crate::services::leases`]).
//!
//! Periods are calendar months (UTC) unless the organisation has a `period_anchor` (set when
//! it subscribes to a plan): then months from the anchor. A period's row is created by its
//! first call, so nothing runs at midnight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use serde_json::Value;

use crate::actor::{Actor, Principal};
use crate::db::entities::{credit_periods, plans};
use crate::services::leases::{self, Amount, Held, PeriodLease};
use crate::services::rate_limits;
use crate::store::{self, billing::PeriodKey, billing::Settlement, billing::UserPeriodKey, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::billing::{PersonTokens, Plan, Quota, Subscription};
use aerie_contract::ids::{OrgId, UserId};

/// How long plans, an organisation's terms and the price table are cached (changes made by
/// another instance show after at most this long).
const TTL: Duration = Duration::from_secs(10);

/// Tokens a message costs beyond its text (role, separators), and an image at most.
const MESSAGE_OVERHEAD: u64 = 8;
const IMAGE_TOKENS: u64 = 1_600;

/// The cached terms and prices.
#[derive(Default)]
pub struct Billing {
    terms: Mutex<HashMap<OrgId, (Terms, Instant)>>,
    prices: Mutex<Option<(Arc<Prices>, Instant)>>,
}

/// What an organisation's calls are measured against.
#[derive(Clone, Debug)]
struct Terms {
    plan: plans::Model,
    anchor: Option<DateTime<Utc>>,
}

/// Credits per million tokens, input and output apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input_per_mtok: i64,
    pub output_per_mtok: i64,
}

impl Price {
    /// Credits for `input` and `output` tokens, rounded up (a call that used anything costs at
    /// least one credit when its price is not zero).
    pub fn cost(self, input: u64, output: u64) -> i64 {
        let micro = u128::from(input) * u128::try_from(self.input_per_mtok.max(0)).unwrap_or(0)
            + u128::from(output) * u128::try_from(self.output_per_mtok.max(0)).unwrap_or(0);
        i64::try_from(micro.div_ceil(1_000_000)).unwrap_or(i64::MAX)
    }
}

#[derive(Debug)]
struct Prices {
    by_model: HashMap<String, Price>,
    default: Price,
}

impl Prices {
    fn of(&self, model: &str) -> Price {
        self.by_model.get(model).copied().unwrap_or(self.default)
    }
}

/// The billing period containing `now`: calendar months (UTC), or months from `anchor`.
pub fn period_at(
    anchor: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let anchor = anchor.unwrap_or_else(|| {
        Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(now)
    });
    let months = (now.year() - anchor.year()) * 12 + now.month() as i32 - anchor.month() as i32;
    let at = |n: i32| {
        u32::try_from(n.max(0))
            .ok()
            .and_then(|n| anchor.checked_add_months(Months::new(n)))
            .unwrap_or(anchor)
    };
    let mut n = months.max(0);
    if at(n) > now && n > 0 {
        n -= 1;
    }
    (at(n), at(n + 1))
}

fn plan_dto(p: &plans::Model) -> Plan {
    Plan {
        slug: p.slug.clone(),
        name: p.name.clone(),
        price_label: p.price_label.clone(),
        monthly_credits: p.monthly_credits,
        monthly_tokens_per_user: p.monthly_tokens_per_user,
        requests_per_minute: p.requests_per_minute,
        tokens_per_minute: p.tokens_per_minute,
        features: serde_json::from_value(p.features.clone()).unwrap_or_default(),
    }
}

/// The plans on offer (public: `GET /v1/billings/plans/`).
pub async fn plans(ctx: &AppContext) -> Result<Vec<Plan>> {
    Ok(store::billing::plans_global(ctx.db())
        .await?
        .iter()
        .map(plan_dto)
        .collect())
}

/// Forgets the cached terms of `org` (its plan changed, or it was deleted).
pub(crate) fn forget(ctx: &AppContext, org: OrgId) {
    if let Ok(mut cache) = ctx.billing().terms.lock() {
        cache.remove(&org);
    }
}

async fn terms(ctx: &AppContext, org: OrgId) -> Result<Terms> {
    if let Ok(cache) = ctx.billing().terms.lock()
        && let Some((t, at)) = cache.get(&org)
        && at.elapsed() < TTL
    {
        return Ok(t.clone());
    }
    let o = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    let plan = match store::billing::plan_global(ctx.db(), &o.plan).await? {
        Some(p) => p,
        None => {
            // A plan the operator removed: the organisation falls back to the first plan.
            tracing::warn!(org = %org.0, plan = %o.plan, "an organisation's plan does not exist; using the first plan");
            store::billing::plans_global(ctx.db())
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("no plan exists")))?
        }
    };
    let t = Terms {
        plan,
        anchor: o.period_anchor.map(utc),
    };
    if let Ok(mut cache) = ctx.billing().terms.lock() {
        cache.insert(org, (t.clone(), Instant::now()));
    }
    Ok(t)
}

async fn prices(ctx: &AppContext) -> Result<Arc<Prices>> {
    if let Ok(cache) = ctx.billing().prices.lock()
        && let Some((p, at)) = cache.as_ref()
        && at.elapsed() < TTL
    {
        return Ok(p.clone());
    }
    let mut by_model = HashMap::new();
    let mut default = Price {
        input_per_mtok: 1000,
        output_per_mtok: 1000,
    };
    for row in store::billing::prices_global(ctx.db()).await? {
        let price = Price {
            input_per_mtok: row.input_per_mtok,
            output_per_mtok: row.output_per_mtok,
        };
        if row.model == "*" {
            default = price;
        } else {
            by_model.insert(row.model, price);
        }
    }
    let p = Arc::new(Prices { by_model, default });
    if let Ok(mut cache) = ctx.billing().prices.lock() {
        *cache = Some((p.clone(), Instant::now()));
    }
    Ok(p)
}

/// The operator's token cap per organisation and period (`AERIE_MONTHLY_TOKEN_QUOTA`).
fn token_cap(ctx: &AppContext) -> Option<i64> {
    let q = ctx.config().monthly_token_quota;
    (q > 0).then_some(q)
}

fn period_key(ctx: &AppContext, org: OrgId, t: &Terms, now: DateTime<Utc>) -> PeriodKey {
    let (start, end) = period_at(t.anchor, now);
    PeriodKey {
        org,
        start,
        end,
        credits_granted: t.plan.monthly_credits,
        tokens_granted: token_cap(ctx),
    }
}

/// The text of a chat request's messages (string contents and text parts) and its images.
fn prompt_size(body: &Value) -> (u64, u64, u64) {
    let (mut bytes, mut messages, mut images) = (0u64, 0u64, 0u64);
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        messages += 1;
        match m.get("content") {
            Some(Value::String(s)) => bytes += s.len() as u64,
            Some(Value::Array(parts)) => {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        bytes += t.len() as u64;
                    } else {
                        images += 1;
                    }
                }
            }
            _ => {}
        }
        if let Some(calls) = m.get("tool_calls") {
            bytes += calls.to_string().len() as u64;
        }
    }
    if let Some(tools) = body.get("tools") {
        bytes += tools.to_string().len() as u64;
    }
    (bytes, messages, images)
}

/// The most a chat request (an upstream body) can use: every byte of its prompt as a token (no
/// tokenizer makes more tokens than bytes), per-message and per-image overheads, and its
/// output cap (`max_completion_tokens` or `max_tokens`, else `default_output`).
pub fn worst_case(body: &Value, default_output: u64) -> (u64, u64) {
    let (bytes, messages, images) = prompt_size(body);
    let input = bytes + messages * MESSAGE_OVERHEAD + images * IMAGE_TOKENS + MESSAGE_OVERHEAD;
    let output = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .unwrap_or(default_output);
    (input, output)
}

/// The worst-case cost in credits of the upstream request `body` on `model` (what
/// [`Meter::reserve`] would hold), without holding anything: a route's approval threshold is
/// compared with it.
pub async fn estimate(ctx: &AppContext, model: &str, body: &Value) -> Result<i64> {
    let (input, output) = worst_case(body, ctx.config().max_output_tokens.max(1));
    Ok(prices(ctx).await?.of(model).cost(input, output))
}

/// The plan's requests and tokens per minute of `org` (`None`: unlimited).
pub(crate) async fn rate_limits_of(
    ctx: &AppContext,
    org: OrgId,
) -> Result<(Option<i32>, Option<i64>)> {
    let t = terms(ctx, org).await?;
    Ok((t.plan.requests_per_minute, t.plan.tokens_per_minute))
}

/// Meters the model calls of one organisation on one model.
#[derive(Clone)]
pub struct Meter {
    ctx: AppContext,
    org: OrgId,
    /// The person the calls are made for: their tokens count against the plan's tokens per
    /// person (none for the organisation's own calls, e.g. ingestion).
    user: Option<UserId>,
    model: String,
    /// The rate-limit counters the calls' tokens go to (`rate_limits::admit`).
    subjects: Vec<String>,
}

impl Meter {
    pub fn new(ctx: &AppContext, org: OrgId, model: &str) -> Self {
        Self {
            ctx: ctx.clone(),
            org,
            user: None,
            model: model.to_owned(),
            subjects: Vec::new(),
        }
    }

    /// Admits a request of `p` under its rate limits (429 past them) and meters its calls on
    /// `model`, counting their tokens against the same limits and the person's tokens.
    pub async fn for_request(ctx: &AppContext, p: &Principal, model: &str) -> Result<Self> {
        let subjects = rate_limits::admit(ctx, p).await?;
        Ok(Self {
            subjects,
            user: Some(p.user_id),
            ..Self::new(ctx, p.org_id, model)
        })
    }

    /// Holds the worst case of the upstream request `body`; 402 when the period cannot cover it.
    pub async fn reserve(&self, body: &Value) -> Result<Hold> {
        let (input, output) = worst_case(body, self.ctx.config().max_output_tokens.max(1));
        self.reserve_tokens(input, output).await
    }

    /// Holds `input` prompt tokens and `output` generated tokens at most.
    pub async fn reserve_tokens(&self, input: u64, output: u64) -> Result<Hold> {
        let ctx = &self.ctx;
        let now = Utc::now();
        let t = terms(ctx, self.org).await?;
        let price = prices(ctx).await?.of(&self.model);
        let key = period_key(ctx, self.org, &t, now);
        let credits = price.cost(input, output);
        let tokens = i64::try_from(input.saturating_add(output)).unwrap_or(i64::MAX);
        let need = Amount { credits, tokens };
        let Some((lease, held)) = leases::hold(ctx, &key, need).await? else {
            return Err(refusal(ctx, &key, credits, tokens).await);
        };
        let exact = matches!(held, Held::Exact);
        if exact {
            // Alone on this instance: held in the period's row, as the lease's block would be.
            let reserved = async {
                let mut held =
                    store::billing::reserve(ctx.db(), &key, credits, tokens, now).await?;
                if !held {
                    store::billing::open_period(ctx.db(), &key, now).await?;
                    held = store::billing::reserve(ctx.db(), &key, credits, tokens, now).await?;
                }
                Ok::<bool, Error>(held)
            }
            .await;
            match reserved {
                Ok(true) => {}
                Ok(false) => {
                    lease.end_exact();
                    return Err(refusal(ctx, &key, credits, tokens).await);
                }
                Err(e) => {
                    lease.end_exact();
                    return Err(e);
                }
            }
        }
        let mut hold = Hold {
            ctx: ctx.clone(),
            subjects: self.subjects.clone(),
            org: self.org,
            start: key.start,
            price,
            credits,
            tokens,
            capped: key.credits_granted.is_some() || key.tokens_granted.is_some(),
            output_cap: output,
            user: None,
            lease,
            exact,
            settled: false,
        };
        if let (Some(user), Some(granted)) = (self.user, t.plan.monthly_tokens_per_user) {
            let ukey = UserPeriodKey {
                org: self.org,
                user,
                start: key.start,
                granted,
            };
            let mut held = store::billing::reserve_user(ctx.db(), &ukey, tokens, now).await?;
            if !held {
                store::billing::open_user_period(ctx.db(), &ukey, now).await?;
                held = store::billing::reserve_user(ctx.db(), &ukey, tokens, now).await?;
            }
            if !held {
                // Dropping `hold` releases the organisation's part.
                return Err(user_refusal(ctx, &ukey, key.end, tokens).await);
            }
            hold.user = Some(ukey);
            hold.capped = true;
        }
        Ok(hold)
    }
}

/// Why a call does not fit the person's tokens of the period (402, seed 001's sentence).
async fn user_refusal(
    ctx: &AppContext,
    key: &UserPeriodKey,
    end: DateTime<Utc>,
    tokens: i64,
) -> Error {
    let row = store::billing::user_period(ctx.db(), key.org, key.user, key.start)
        .await
        .ok()
        .flatten();
    let (used, reserved) = row
        .as_ref()
        .map_or((0, 0), |r| (r.tokens_used, r.tokens_reserved));
    Error::Explained {
        code: ErrorCode::QuotaExhausted,
        why: format!(
            "You used {used} of your {} tokens for this period ({reserved} more are held by your calls in progress) and this call may need up to {tokens}; your tokens reset on {} (UTC).",
            key.granted,
            end.format("%Y-%m-%d")
        ),
        fix: "Wait for the reset, ask for a smaller max_tokens, or ask the operator for a plan with more tokens per person; GET /v1/billings/subscription/ shows your balance.".to_owned(),
    }
}

/// Why a call does not fit (402, seed 001's sentence in `detail`).
async fn refusal(ctx: &AppContext, key: &PeriodKey, credits: i64, tokens: i64) -> Error {
    let row = store::billing::period(ctx.db(), key.org, key.start)
        .await
        .ok()
        .flatten();
    let (cu, cr, tu, tr) = row.as_ref().map_or((0, 0, 0, 0), |r| {
        (
            r.credits_used,
            r.credits_reserved,
            r.tokens_used,
            r.tokens_reserved,
        )
    });
    let reset = key.end.format("%Y-%m-%d");
    let tokens_short = key.tokens_granted.is_some_and(|g| tu + tr + tokens > g);
    match (tokens_short, key.credits_granted, key.tokens_granted) {
        (true, _, Some(g)) => Error::Explained {
            code: ErrorCode::QuotaExhausted,
            why: format!(
                "Your organisation used {tu} of its {g} tokens for this period ({tr} more are held by calls in progress) and this call may need up to {tokens}; the quota resets on {reset} (UTC)."
            ),
            fix: "Wait for the reset, or ask the operator to raise AERIE_MONTHLY_TOKEN_QUOTA (0 means unlimited); GET /v1/auth/profile shows the balance.".to_owned(),
        },
        (_, Some(g), _) => Error::Explained {
            code: ErrorCode::QuotaExhausted,
            why: format!(
                "Your organisation used {cu} of its {g} credits for this period ({cr} more are held by calls in progress) and this call may cost up to {credits}; the credits reset on {reset} (UTC)."
            ),
            fix: "Wait for the reset, ask for a smaller max_tokens, or ask the operator to move the organisation to a larger plan (GET /v1/billings/plans/ lists them); GET /v1/billings/subscription/ shows the balance.".to_owned(),
        },
        _ => Error::Explained {
            code: ErrorCode::QuotaExhausted,
            why: format!("This call may cost up to {credits} credits, more than the period allows; the quota resets on {reset} (UTC)."),
            fix: "Ask for a smaller max_tokens, or wait for the reset.".to_owned(),
        },
    }
}

fn held_of(s: &Settlement) -> Amount {
    Amount {
        credits: s.reserved_credits,
        tokens: s.reserved_tokens,
    }
}

fn charged_of(s: &Settlement) -> Amount {
    Amount {
        credits: s.charged_credits,
        tokens: s.charged_tokens,
    }
}

/// Credits and tokens held for one model call until it settles.
pub struct Hold {
    ctx: AppContext,
    subjects: Vec<String>,
    org: OrgId,
    start: DateTime<Utc>,
    price: Price,
    credits: i64,
    tokens: i64,
    /// The period is limited: a charge never exceeds the hold.
    capped: bool,
    output_cap: u64,
    /// The person's period the tokens are also held in (the plan limits tokens per person).
    user: Option<UserPeriodKey>,
    /// The lease the hold is taken from, or that counts it when it is held in the row.
    lease: Arc<PeriodLease>,
    /// Held in the period's row (the call was alone), not out of the lease.
    exact: bool,
    settled: bool,
}

impl Hold {
    /// The most output tokens the call was reserved for: the engine stops a stream there.
    pub fn output_cap(&self) -> u64 {
        self.output_cap
    }

    fn settlement(&self, input: u64, output: u64) -> Settlement {
        let mut credits = self.price.cost(input, output);
        let mut tokens = i64::try_from(input.saturating_add(output)).unwrap_or(i64::MAX);
        if self.capped {
            // The hold is the most a limited period can lose to one call: a provider that
            // overshot its cap is charged the hold (the usage record keeps the real count).
            credits = credits.min(self.credits);
            tokens = tokens.min(self.tokens);
        }
        Settlement {
            reserved_credits: self.credits,
            reserved_tokens: self.tokens,
            charged_credits: credits,
            charged_tokens: tokens,
        }
    }

    /// Releases the hold and charges `input` and `output` tokens at the model's price (and
    /// counts them against the caller's tokens per minute); answers the credits charged.
    pub async fn settle(mut self, input: u64, output: u64) -> i64 {
        self.settled = true;
        let s = self.settlement(input, output);
        let charged = s.charged_credits;
        let now = Utc::now();
        if self.exact {
            if let Err(e) =
                store::billing::settle(self.ctx.db(), self.org, self.start, s, now).await
            {
                tracing::error!(error = %e, org = %self.org.0, "settling a credit hold failed");
            }
            self.lease.end_exact();
        } else {
            self.lease.settle(held_of(&s), charged_of(&s));
        }
        if let Some(ukey) = &self.user
            && let Err(e) = store::billing::settle_user(
                self.ctx.db(),
                ukey,
                s.reserved_tokens,
                s.charged_tokens,
                now,
            )
            .await
        {
            tracing::error!(error = %e, org = %self.org.0, "settling a person's token hold failed");
        }
        rate_limits::add_tokens(&self.ctx, &self.subjects, input.saturating_add(output));
        charged
    }
}

impl Drop for Hold {
    /// An unsettled hold belongs to a call that never reached the provider: released.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let s = self.settlement(0, 0);
        let exact = self.exact;
        if exact {
            self.lease.end_exact();
        } else {
            self.lease.settle(held_of(&s), charged_of(&s));
            if self.user.is_none() {
                return;
            }
        }
        let (db, org, start, user) = (self.ctx.db().clone(), self.org, self.start, self.user);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let now = Utc::now();
                    if exact
                        && let Err(e) = store::billing::settle(&db, org, start, s, now).await
                    {
                        tracing::error!(error = %e, org = %org.0, "releasing a credit hold failed");
                    }
                    if let Some(ukey) = user
                        && let Err(e) =
                            store::billing::settle_user(&db, &ukey, s.reserved_tokens, 0, now)
                                .await
                    {
                        tracing::error!(error = %e, org = %org.0, "releasing a person's token hold failed");
                    }
                });
            }
            Err(_) => {
                tracing::error!(org = %org.0, "a credit hold was dropped outside the runtime")
            }
        }
    }
}

/// Where the caller's organisation stands this period.
pub(crate) struct Standing {
    pub plan: plans::Model,
    pub key: PeriodKey,
    pub row: Option<credit_periods::Model>,
}

pub(crate) async fn standing(ctx: &AppContext, org: OrgId) -> Result<Standing> {
    let t = terms(ctx, org).await?;
    let key = period_key(ctx, org, &t, Utc::now());
    // This instance's lease (its unwritten charges, its unspent block) is part of the balance.
    let view = leases::view(ctx, org, key.start).await;
    let row = store::billing::period(ctx.db(), org, key.start)
        .await?
        .map(|mut r| {
            let (used, reserved) = view.adjust(
                Amount {
                    credits: r.credits_used,
                    tokens: r.tokens_used,
                },
                Amount {
                    credits: r.credits_reserved,
                    tokens: r.tokens_reserved,
                },
            );
            r.credits_used = used.credits;
            r.tokens_used = used.tokens;
            r.credits_reserved = reserved.credits.max(0);
            r.tokens_reserved = reserved.tokens.max(0);
            r
        });
    drop(view);
    Ok(Standing {
        plan: t.plan,
        key,
        row,
    })
}

impl Standing {
    pub fn quota(&self) -> Quota {
        let r = self.row.as_ref();
        let used = r.map_or(0, |r| r.credits_used);
        let reserved = r.map_or(0, |r| r.credits_reserved);
        let tokens_used = r.map_or(0, |r| r.tokens_used);
        let tokens_reserved = r.map_or(0, |r| r.tokens_reserved);
        Quota {
            credits_total: self.key.credits_granted,
            credits_used: used,
            credits_reserved: reserved,
            credits_remaining: self
                .key
                .credits_granted
                .map(|g| (g - used - reserved).max(0)),
            tokens_total: self.key.tokens_granted,
            tokens_used,
            tokens_remaining: self
                .key
                .tokens_granted
                .map(|g| (g - tokens_used - tokens_reserved).max(0)),
        }
    }
}

/// The period's tokens as seed 002's profile shows them, `(total, used, remaining)`: the
/// operator's token cap when set, else what the plan's credits buy at the default price
/// (`None`: unlimited).
pub(crate) async fn token_balance(
    ctx: &AppContext,
    s: &Standing,
) -> Result<(Option<i64>, i64, Option<i64>)> {
    let q = s.quota();
    if q.tokens_total.is_some() {
        return Ok((q.tokens_total, q.tokens_used, q.tokens_remaining));
    }
    let price = prices(ctx).await?.default;
    let per_mtok = price.input_per_mtok.max(price.output_per_mtok);
    if per_mtok <= 0 {
        return Ok((None, q.tokens_used, None));
    }
    let to_tokens = |credits: i64| {
        i64::try_from(i128::from(credits) * 1_000_000 / i128::from(per_mtok)).unwrap_or(i64::MAX)
    };
    Ok((
        q.credits_total.map(to_tokens),
        q.tokens_used,
        q.credits_remaining.map(to_tokens),
    ))
}

/// The caller's organisation's plan and balance (`GET /v1/billings/subscription/`).
pub async fn subscription(ctx: &AppContext, actor: &Actor) -> Result<Subscription> {
    let p = actor.principal()?;
    let s = standing(ctx, p.org_id).await?;
    let your_tokens = match s.plan.monthly_tokens_per_user {
        Some(total) => {
            let row =
                store::billing::user_period(ctx.db(), p.org_id, p.user_id, s.key.start).await?;
            let (used, reserved) = row
                .as_ref()
                .map_or((0, 0), |r| (r.tokens_used, r.tokens_reserved));
            Some(PersonTokens {
                tokens_total: total,
                tokens_used: used,
                tokens_remaining: (total - used - reserved).max(0),
            })
        }
        None => None,
    };
    Ok(Subscription {
        plan: plan_dto(&s.plan),
        status: "active".to_owned(),
        current_period_start: s.key.start,
        current_period_end: s.key.end,
        current_quota: s.quota(),
        your_tokens,
    })
}

/// The instance operator's editors of plans, prices and subscriptions: from the server's shell
/// (`aerie plans …`, `aerie prices …`, `aerie org plan …`), `/api/operator/plans|prices` and the
/// Operator page. Every change is audited. Other instances see a change within their cache
/// time (10 s); this one at once.
pub mod terms {
    use chrono::Utc;

    use super::{Price, forget, plan_dto};
    use crate::db::entities::plans;
    use crate::services::audit::{self, Event};
    use crate::services::operator::Operator;
    use crate::store::{self, ts};
    use crate::{AppContext, Error, Result};
    use aerie_contract::billing::Plan;
    use aerie_contract::ids::OrgId;

    /// What `aerie plans set` changes; `None`: unchanged (or the default, for a new plan). An
    /// inner `None`: unlimited.
    #[derive(Clone, Debug, Default)]
    pub struct PlanChange {
        pub slug: String,
        pub name: Option<String>,
        pub price_label: Option<String>,
        pub monthly_credits: Option<Option<i64>>,
        pub monthly_tokens_per_user: Option<Option<i64>>,
        pub requests_per_minute: Option<Option<i32>>,
        pub tokens_per_minute: Option<Option<i64>>,
        pub features: Option<Vec<String>>,
    }

    /// A plan's slug: 1 to [`PLAN_SLUG_MAX`] characters of [`PLAN_SLUG_PATTERN`].
    pub const PLAN_SLUG_MAX: usize = 32;
    pub const PLAN_SLUG_PATTERN: &str = r"^[a-z0-9-]+$";
    /// The longest name of a plan.
    pub const PLAN_NAME_MAX: usize = 64;
    /// The longest price label of a plan.
    pub const PRICE_LABEL_MAX: usize = 120;
    /// A plan's feature flags: at most this many, of at most this many characters each.
    pub const PLAN_FEATURES_MAX: usize = 64;
    /// The longest model name a price is set for.
    pub const PRICED_MODEL_MAX: usize = 200;

    pub(super) fn check_slug(slug: &str) -> Result<()> {
        let ok = !slug.is_empty()
            && slug.len() <= PLAN_SLUG_MAX
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "slug",
                "A plan's slug is 1 to 32 lower-case letters, digits or dashes.",
            ))
        }
    }

    fn check_limit<T: PartialOrd + Default>(
        field: &'static str,
        v: Option<Option<T>>,
    ) -> Result<()> {
        match v {
            Some(Some(n)) if n < T::default() => Err(Error::invalid(
                field,
                format!("{field} must be zero or more (or unlimited)."),
            )),
            _ => Ok(()),
        }
    }

    /// Creates the plan, or changes the fields given of an existing one.
    pub async fn set_plan(ctx: &AppContext, op: &Operator, change: PlanChange) -> Result<Plan> {
        check_slug(&change.slug)?;
        check_limit("monthly_credits", change.monthly_credits)?;
        check_limit("monthly_tokens_per_user", change.monthly_tokens_per_user)?;
        check_limit("requests_per_minute", change.requests_per_minute)?;
        check_limit("tokens_per_minute", change.tokens_per_minute)?;
        let now = ts(Utc::now());
        let existing = store::billing::plan_global(ctx.db(), &change.slug).await?;
        let position = match &existing {
            Some(p) => p.position,
            None => store::billing::plans_global(ctx.db())
                .await?
                .iter()
                .map(|p| p.position + 1)
                .max()
                .unwrap_or(0),
        };
        let base = existing.unwrap_or_else(|| plans::Model {
            slug: change.slug.clone(),
            name: change.slug.clone(),
            price_label: String::new(),
            monthly_credits: Some(0),
            monthly_tokens_per_user: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            features: serde_json::json!([]),
            position,
            created_at: now,
            updated_at: now,
        });
        let plan = plans::Model {
            name: change.name.unwrap_or(base.name),
            price_label: change.price_label.unwrap_or(base.price_label),
            monthly_credits: change.monthly_credits.unwrap_or(base.monthly_credits),
            monthly_tokens_per_user: change
                .monthly_tokens_per_user
                .unwrap_or(base.monthly_tokens_per_user),
            requests_per_minute: change
                .requests_per_minute
                .unwrap_or(base.requests_per_minute),
            tokens_per_minute: change.tokens_per_minute.unwrap_or(base.tokens_per_minute),
            features: change
                .features
                .map_or(base.features, |f| serde_json::json!(f)),
            updated_at: now,
            ..base
        };
        let saved = store::billing::save_plan(ctx.db(), plan).await?;
        forget_plans(ctx);
        let dto = plan_dto(&saved);
        audit::record(
            ctx.db(),
            None,
            op.actor(),
            Event::new("plan.saved")
                .target("plan", &dto.slug)
                .details(serde_json::to_value(&dto).unwrap_or_default()),
        )
        .await?;
        Ok(dto)
    }

    /// This instance applies a plan or price change at once (others within their cache time).
    fn forget_plans(ctx: &AppContext) {
        if let Ok(mut cache) = ctx.billing().terms.lock() {
            cache.clear();
        }
        if let Ok(mut cache) = ctx.billing().prices.lock() {
            *cache = None;
        }
    }

    /// The operator's `POST /api/operator/plans`: the whole plan, created or replaced by slug.
    pub async fn save_plan(
        ctx: &AppContext,
        op: &Operator,
        input: aerie_contract::operator::PlanInput,
    ) -> Result<Plan> {
        let slug = input.slug.as_str();
        let name = crate::services::validate::name("name", &input.name, PLAN_NAME_MAX)?;
        if input.price_label.chars().count() > PRICE_LABEL_MAX {
            return Err(Error::invalid(
                "price_label",
                "A price label is at most 120 characters.",
            ));
        }
        if input.features.len() > PLAN_FEATURES_MAX
            || input
                .features
                .iter()
                .any(|f| f.chars().count() > PLAN_FEATURES_MAX)
        {
            return Err(Error::invalid(
                "features",
                "At most 64 features of at most 64 characters each.",
            ));
        }
        set_plan(
            ctx,
            op,
            PlanChange {
                slug: slug.to_owned(),
                name: Some(name),
                price_label: Some(input.price_label.trim().to_owned()),
                monthly_credits: Some(input.monthly_credits),
                monthly_tokens_per_user: Some(input.monthly_tokens_per_user),
                requests_per_minute: Some(input.requests_per_minute),
                tokens_per_minute: Some(input.tokens_per_minute),
                features: Some(
                    input
                        .features
                        .iter()
                        .map(|f| f.trim().to_owned())
                        .filter(|f| !f.is_empty())
                        .collect(),
                ),
            },
        )
        .await
    }

    /// The operator's `POST /api/operator/prices`: prices `input.model`; answers the price as
    /// stored.
    pub async fn save_model_price(
        ctx: &AppContext,
        op: &Operator,
        input: aerie_contract::operator::ModelPrice,
    ) -> Result<aerie_contract::operator::ModelPrice> {
        let price = Price {
            input_per_mtok: input.input_per_mtok,
            output_per_mtok: input.output_per_mtok,
        };
        set_price(ctx, op, &input.model, price).await?;
        Ok(aerie_contract::operator::ModelPrice {
            model: input.model.trim().to_owned(),
            ..input
        })
    }

    /// Every price as the API lists it, `*` first.
    pub async fn price_list(ctx: &AppContext) -> Result<Vec<aerie_contract::operator::ModelPrice>> {
        Ok(prices(ctx)
            .await?
            .into_iter()
            .map(|(model, p)| aerie_contract::operator::ModelPrice {
                model,
                input_per_mtok: p.input_per_mtok,
                output_per_mtok: p.output_per_mtok,
            })
            .collect())
    }

    /// Every price: `(model, price)`, `*` first.
    pub async fn prices(ctx: &AppContext) -> Result<Vec<(String, Price)>> {
        let mut rows: Vec<(String, Price)> = store::billing::prices_global(ctx.db())
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.model,
                    Price {
                        input_per_mtok: r.input_per_mtok,
                        output_per_mtok: r.output_per_mtok,
                    },
                )
            })
            .collect();
        rows.sort_by(|a, b| (a.0 != "*", &a.0).cmp(&(b.0 != "*", &b.0)));
        Ok(rows)
    }

    /// Prices `model` (`*`: every model without a price of its own), in credits per million
    /// tokens.
    pub async fn set_price(
        ctx: &AppContext,
        op: &Operator,
        model: &str,
        price: Price,
    ) -> Result<()> {
        let model = model.trim();
        if model.is_empty() || model.chars().count() > PRICED_MODEL_MAX {
            return Err(Error::invalid(
                "model",
                "A model name is 1 to 200 characters.",
            ));
        }
        if price.input_per_mtok < 0 || price.output_per_mtok < 0 {
            return Err(Error::invalid("price", "Prices are zero or more credits."));
        }
        store::billing::save_price(
            ctx.db(),
            model,
            price.input_per_mtok,
            price.output_per_mtok,
            Utc::now(),
        )
        .await?;
        forget_plans(ctx);
        audit::record(
            ctx.db(),
            None,
            op.actor(),
            Event::new("price.saved")
                .target("model", model)
                .details(serde_json::json!({
                    "input_per_mtok": price.input_per_mtok,
                    "output_per_mtok": price.output_per_mtok,
                })),
        )
        .await?;
        Ok(())
    }

    /// Moves the organisation `org_slug` to the plan `plan_slug`; the current period's grant
    /// follows at its next call. Answers the organisation's name and the plan.
    pub async fn subscribe(
        ctx: &AppContext,
        op: &Operator,
        org_slug: &str,
        plan_slug: &str,
    ) -> Result<(String, Plan)> {
        let org = store::orgs::find_by_slug_global(ctx.db(), org_slug)
            .await?
            .ok_or_else(|| {
                Error::invalid("org", format!("No organisation has the slug {org_slug}."))
            })?;
        let plan = subscribe_org(ctx, op, OrgId(org.id), plan_slug).await?;
        Ok((org.name, plan))
    }

    /// Moves the organisation `org` to the plan `plan_slug` (404 for an unknown organisation, 400
    /// for an unknown plan).
    pub async fn subscribe_org(
        ctx: &AppContext,
        op: &Operator,
        org: OrgId,
        plan_slug: &str,
    ) -> Result<Plan> {
        store::orgs::find(ctx.db(), org)
            .await?
            .ok_or(Error::NotFound)?;
        let plan = store::billing::plan_global(ctx.db(), plan_slug)
            .await?
            .ok_or_else(|| Error::invalid("plan", format!("No plan has the slug {plan_slug}.")))?;
        store::orgs::set_plan(ctx.db(), org, &plan.slug, Utc::now()).await?;
        forget(ctx, org);
        audit::record(
            ctx.db(),
            Some(org),
            op.actor(),
            Event::new("organization.plan_changed").details(serde_json::json!({"plan": plan.slug})),
        )
        .await?;
        Ok(plan_dto(&plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn periods_are_calendar_months_without_an_anchor() {
        assert_eq!(
            period_at(None, at(2026, 12, 5, 3)),
            (at(2026, 12, 1, 0), at(2027, 1, 1, 0))
        );
    }

    #[test]
    fn periods_run_from_the_anchor() {
        let anchor = Some(at(2026, 1, 31, 12));
        // Months from the 31st end on the last day of shorter months.
        assert_eq!(
            period_at(anchor, at(2026, 3, 10, 0)),
            (at(2026, 2, 28, 12), at(2026, 3, 31, 12))
        );
        assert_eq!(
            period_at(anchor, at(2026, 3, 31, 12)),
            (at(2026, 3, 31, 12), at(2026, 4, 30, 12))
        );
        assert_eq!(
            period_at(anchor, at(2026, 1, 31, 11)),
            (at(2026, 1, 31, 12), at(2026, 2, 28, 12)),
            "before the anchor: the first period"
        );
    }

    #[test]
    fn the_worst_case_counts_every_byte_and_the_output_cap() {
        let body = json!({"messages": [
            {"role": "system", "content": "abcd"},
            {"role": "user", "content": [{"type": "text", "text": "héllo"}, {"type": "image_url"}]}
        ], "max_tokens": 50});
        let (input, output) = worst_case(&body, 4096);
        assert_eq!(
            input,
            4 + 6 + 2 * MESSAGE_OVERHEAD + IMAGE_TOKENS + MESSAGE_OVERHEAD
        );
        assert_eq!(output, 50);
        assert_eq!(worst_case(&json!({}), 4096), (MESSAGE_OVERHEAD, 4096));
    }

    #[test]
    fn a_price_rounds_up_to_whole_credits() {
        let p = Price {
            input_per_mtok: 1000,
            output_per_mtok: 3000,
        };
        assert_eq!(p.cost(0, 0), 0);
        assert_eq!(p.cost(1, 0), 1);
        assert_eq!(p.cost(1000, 1000), 4);
        assert_eq!(p.cost(1500, 0), 2);
    }

    proptest! {
        /// The slug pattern the OpenAPI document states accepts what the service accepts.
        #[test]
        fn the_documented_plan_slug_is_the_one_accepted(slug in "[a-z0-9 _A-Z-]{0,40}") {
            let pattern = regex::Regex::new(terms::PLAN_SLUG_PATTERN).expect("pattern");
            let documented = pattern.is_match(&slug)
                && (1..=terms::PLAN_SLUG_MAX).contains(&slug.chars().count());
            prop_assert_eq!(documented, terms::check_slug(&slug).is_ok());
        }

        #[test]
        fn periods_contain_now(anchor_s in 0i64..4_000_000_000, now_s in 0i64..4_000_000_000, anchored: bool) {
            let anchor = Utc.timestamp_opt(anchor_s, 0).single().expect("anchor");
            let now = Utc.timestamp_opt(now_s, 0).single().expect("now");
            let (start, end) = period_at(anchored.then_some(anchor), now);
            prop_assert!(start < end);
            if !anchored || now >= anchor {
                prop_assert!(start <= now && now < end, "{start} {now} {end}");
            }
        }

        #[test]
        fn the_worst_case_never_panics(s in ".{0,200}", n in proptest::option::of(0u64..u64::MAX)) {
            let body = json!({"messages": [{"role": "user", "content": s}], "max_tokens": n});
            let (input, _) = worst_case(&body, 4096);
            prop_assert!(input >= s.len() as u64);
        }
    }
}
