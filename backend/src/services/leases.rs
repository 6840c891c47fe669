//! An instance's leases: blocks of its organisations' credits and of its callers' rate-limit
//! requests, taken from the shared counters with one statement and spent in memory, so that
//! a model call under load costs no write of its own (docs/BILLING.md "Leases").
//!
//! **Credits.** A call on a period with limits is held exactly in the database (one
//! conditional UPDATE, [`crate::services::billing`]) while it is the only call of its
//! organisation in progress on this instance. When calls overlap, the next ones are held out
//! of the period's lease: a block added to the row's `credits_reserved`/`tokens_reserved` by the
//! same conditional UPDATE (so all instances together still never hold more than the period
//! grants), then spent and given back in memory. Near the end of the credits the block shrinks
//! to exactly what the call lacks, so a lease never refuses a call the period could cover on
//! one instance. A period without limits needs no hold at all: its calls are counted in memory.
//! Settled charges are written every [`TICK`] (one UPDATE per period), and a lease with no
//! call in progress for [`IDLE`] gives its block back. [`flush`] with `release` writes and
//! gives back everything (at shutdown).
//!
//! **Rate windows.** A subject (a user or an API key) with a requests-per-minute limit takes
//! `limit / 20` requests of its window at once (at least one: small limits stay exact); the
//! tokens of settled calls are added every tick. This instance's own unwritten counts always
//! take part in its checks.
//!
//! What another instance reads lags by at most a tick (plus [`IDLE`] for an unused block); what
//! this instance reads is exact ([`PeriodLease::adjust`]). If the process dies, its unwritten
//! charges (at most a tick's) are lost and its block stays held until the period ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::store::{self, billing::PeriodKey, billing::Settlement};
use crate::{AppContext, Result};
use aerie_contract::ids::OrgId;

/// How often charges and tokens are written.
pub const TICK: Duration = Duration::from_millis(500);
/// A lease with no call in progress for this long gives its block back.
pub const IDLE: Duration = Duration::from_secs(1);
/// A block covers this many calls like the one that takes it…
const BLOCK_CALLS: i64 = 32;
/// …but never more than this fraction (1/n) of the period's grant.
const BLOCK_SHARE: i64 = 32;

/// Credits and tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    pub credits: i64,
    pub tokens: i64,
}

impl Amount {
    fn add(&mut self, o: Amount) {
        self.credits = self.credits.saturating_add(o.credits);
        self.tokens = self.tokens.saturating_add(o.tokens);
    }
    fn sub(&mut self, o: Amount) {
        self.credits = self.credits.saturating_sub(o.credits);
        self.tokens = self.tokens.saturating_sub(o.tokens);
    }
    fn covers(self, o: Amount) -> bool {
        self.credits >= o.credits && self.tokens >= o.tokens
    }
}

/// This instance's calls and block in one period of one organisation.
#[derive(Debug)]
struct LeaseState {
    /// What the database's `credits_reserved`/`tokens_reserved` hold for this lease.
    held: Amount,
    /// What the lease's calls in progress hold (part of `held` on a limited period).
    active: Amount,
    /// Charged by settled calls and not written yet (part of `held` on a limited period).
    charged: Amount,
    /// Calls in progress, held exactly or out of the lease.
    calls: u32,
    last_used: Instant,
    /// Taken out of [`Leases`]: a call that finds it so takes a new lease.
    retired: bool,
}

impl LeaseState {
    fn free(&self) -> Amount {
        let mut f = self.held;
        f.sub(self.active);
        f.sub(self.charged);
        f
    }
}

/// One period's lease.
pub struct PeriodLease {
    org: OrgId,
    start: DateTime<Utc>,
    limited: bool,
    state: Mutex<LeaseState>,
    /// Taken while the lease's block grows, so concurrent calls top it up once.
    refill: tokio::sync::Mutex<()>,
    /// Taken while the lease's counts are written, and by readers that add them to the row.
    io: Arc<tokio::sync::Mutex<()>>,
}

/// How a call is held.
pub enum Held {
    /// Out of the lease: in memory.
    Leased,
    /// Alone: the caller holds it in the database itself.
    Exact,
}

impl PeriodLease {
    fn state(&self) -> MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `need` from the lease when it covers it (or the period has no limits).
    fn take(&self, need: Amount) -> bool {
        let mut s = self.state();
        if !s.retired && (!self.limited || s.free().covers(need)) {
            s.active.add(need);
            s.calls += 1;
            s.last_used = Instant::now();
            true
        } else {
            false
        }
    }

    /// Gives back what a leased call held and charges what it used.
    pub fn settle(&self, held: Amount, charged: Amount) {
        let mut s = self.state();
        s.active.sub(held);
        s.charged.add(charged);
        s.calls = s.calls.saturating_sub(1);
        s.last_used = Instant::now();
    }

    /// An exactly held call ended (the caller settled it in the database).
    pub fn end_exact(&self) {
        let mut s = self.state();
        s.calls = s.calls.saturating_sub(1);
        s.last_used = Instant::now();
    }

    /// The period's row as this instance sees it: its unwritten charges counted as used, its
    /// unspent block not counted as held. Answers `(used, reserved)` deltas for credits and
    /// tokens.
    fn adjustment(&self) -> (Amount, Amount) {
        let s = self.state();
        // reserved' = reserved − held + active (on an unlimited period `held` is zero)
        let mut reserved = s.active;
        reserved.sub(s.held);
        (s.charged, reserved)
    }
}

/// The leases of this instance (on [`AppContext::leases`]).
#[derive(Default)]
pub struct Leases {
    /// By organisation, period start and whether the period is limited (a plan change inside a
    /// period starts a new lease beside the old one, which empties itself).
    periods: Mutex<HashMap<(OrgId, i64, bool), Arc<PeriodLease>>>,
    ticker: OnceLock<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the task that writes leases and rate-limit tokens every [`TICK`] (once).
pub(crate) fn start_ticker(ctx: &AppContext) {
    ctx.leases().ticker.get_or_init(|| {
        let ctx = ctx.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(TICK).await;
                    flush(&ctx, false).await;
                }
            });
        }
    });
}

fn lease_of(ctx: &AppContext, key: &PeriodKey, limited: bool) -> (Arc<PeriodLease>, bool) {
    let mut map = lock(&ctx.leases().periods);
    let mut created = false;
    let lease = map
        .entry((key.org, key.start.timestamp(), limited))
        .or_insert_with(|| {
            created = true;
            Arc::new(PeriodLease {
                org: key.org,
                start: key.start,
                limited,
                state: Mutex::new(LeaseState {
                    held: Amount::default(),
                    active: Amount::default(),
                    charged: Amount::default(),
                    calls: 0,
                    last_used: Instant::now(),
                    retired: false,
                }),
                refill: tokio::sync::Mutex::new(()),
                io: Arc::new(tokio::sync::Mutex::new(())),
            })
        })
        .clone();
    (lease, created)
}

/// How many calls like `need` a lease's block covers: [`BLOCK_CALLS`], fewer when that would
/// pass a [`BLOCK_SHARE`]th of a limited grant, at least one.
fn calls_per_block(need: Amount, key: &PeriodKey) -> i64 {
    let mut k = BLOCK_CALLS;
    for (granted, need) in [
        (key.credits_granted, need.credits),
        (key.tokens_granted, need.tokens),
    ] {
        if let Some(g) = granted
            && need > 0
        {
            k = k.min(g / BLOCK_SHARE / need);
        }
    }
    k.max(1)
}

/// What a lease that lacks `short` for a call of `need` asks for: the shortfall and `k − 1`
/// more such calls, so that calls of one size leave no fragment unspent.
fn block(need: Amount, short: Amount, k: i64) -> Amount {
    Amount {
        credits: short
            .credits
            .saturating_add(need.credits.saturating_mul(k - 1)),
        tokens: short
            .tokens
            .saturating_add(need.tokens.saturating_mul(k - 1)),
    }
}

/// Holds `need` for a call on the period `key`: out of the lease when it can, else exactly
/// (answered as [`Held::Exact`] when the call is alone: the caller writes the hold). `None`:
/// the period cannot cover it (the caller answers 402).
pub async fn hold(
    ctx: &AppContext,
    key: &PeriodKey,
    need: Amount,
) -> Result<Option<(Arc<PeriodLease>, Held)>> {
    start_ticker(ctx);
    loop {
        let limited = key.credits_granted.is_some() || key.tokens_granted.is_some();
        let (lease, created) = lease_of(ctx, key, limited);
        if let Some(held) = hold_on(ctx, key, &lease, created, need).await? {
            return Ok(held.map(|h| (lease, h)));
        }
        // The lease was retired between finding it and taking from it: take a new one.
    }
}

/// [`hold`] on one lease; `None`: the lease is retired.
async fn hold_on(
    ctx: &AppContext,
    key: &PeriodKey,
    lease: &Arc<PeriodLease>,
    created: bool,
    need: Amount,
) -> Result<Option<Option<Held>>> {
    if !lease.limited {
        if created {
            // The charges are written to the period's row: make sure it exists.
            store::billing::open_period(ctx.db(), key, Utc::now()).await?;
        }
        return Ok(lease.take(need).then_some(Some(Held::Leased)));
    }
    if lease.take(need) {
        return Ok(Some(Some(Held::Leased)));
    }
    {
        let mut s = lease.state();
        if s.retired {
            return Ok(None);
        }
        if s.calls == 0 && s.held == Amount::default() {
            s.calls += 1;
            s.last_used = Instant::now();
            return Ok(Some(Some(Held::Exact)));
        }
    }
    let _refill = lease.refill.lock().await;
    // Another call may have topped the lease up meanwhile.
    if lease.take(need) {
        return Ok(Some(Some(Held::Leased)));
    }
    let free = {
        let s = lease.state();
        if s.retired {
            return Ok(None);
        }
        s.free()
    };
    let short = Amount {
        credits: (need.credits - free.credits).max(0),
        tokens: (need.tokens - free.tokens).max(0),
    };
    let want = block(need, short, calls_per_block(need, key));
    let now = Utc::now();
    let db = ctx.db();
    let mut got = None;
    for ask in [want, short] {
        if store::billing::reserve(db, key, ask.credits, ask.tokens, now).await? {
            got = Some(ask);
            break;
        }
    }
    if got.is_none() {
        store::billing::open_period(db, key, now).await?;
        if store::billing::reserve(db, key, short.credits, short.tokens, now).await? {
            got = Some(short);
        }
    }
    let Some(got) = got else {
        return Ok(Some(None));
    };
    // Retirement needs `held` at zero and `calls` at zero, and this call's refill is not
    // counted in either yet: add and take under one lock.
    let mut s = lease.state();
    s.held.add(got);
    if s.free().covers(need) {
        s.active.add(need);
        s.calls += 1;
        s.last_used = Instant::now();
        Ok(Some(Some(Held::Leased)))
    } else {
        Ok(Some(None))
    }
}

/// What this instance adds to a period's row when it reads it: its unwritten charges as used,
/// its calls in progress as held instead of its unspent block. Holds the lease's writes off
/// while the caller reads the row.
pub struct View {
    leases: Vec<(Arc<PeriodLease>, tokio::sync::OwnedMutexGuard<()>)>,
}

impl View {
    /// `(used, reserved)` of the row, adjusted.
    pub fn adjust(&self, used: Amount, reserved: Amount) -> (Amount, Amount) {
        let (mut used, mut reserved) = (used, reserved);
        for (lease, _) in &self.leases {
            let (charged, delta) = lease.adjustment();
            used.add(charged);
            reserved.add(delta);
        }
        (used, reserved)
    }
}

/// This instance's [`View`] of `org`'s period starting at `start`.
pub async fn view(ctx: &AppContext, org: OrgId, start: DateTime<Utc>) -> View {
    let found: Vec<Arc<PeriodLease>> = {
        let map = lock(&ctx.leases().periods);
        [true, false]
            .iter()
            .filter_map(|limited| map.get(&(org, start.timestamp(), *limited)).cloned())
            .collect()
    };
    let mut leases = Vec::with_capacity(found.len());
    for lease in found {
        let guard = lease.io.clone().lock_owned().await;
        leases.push((lease, guard));
    }
    View { leases }
}

/// Writes every lease's settled charges; gives back the blocks of leases idle for [`IDLE`]
/// (all of them with `release`) and forgets those with nothing left. Then the rate-limit
/// windows' tokens ([`crate::services::rate_limits::flush`]).
pub async fn flush(ctx: &AppContext, release: bool) {
    let leases: Vec<Arc<PeriodLease>> = lock(&ctx.leases().periods).values().cloned().collect();
    for lease in leases {
        flush_one(ctx, &lease, release).await;
    }
    crate::services::rate_limits::flush(ctx).await;
}

async fn flush_one(ctx: &AppContext, lease: &Arc<PeriodLease>, release: bool) {
    let _io = lease.io.lock().await;
    let (charged, give, idle) = {
        let mut s = lease.state();
        let charged = std::mem::take(&mut s.charged);
        let idle = s.calls == 0 && (release || s.last_used.elapsed() >= IDLE);
        let mut give = Amount::default();
        if lease.limited {
            s.held.sub(charged);
            if idle {
                give = s.free();
                s.held.sub(give);
            }
        }
        (charged, give, idle)
    };
    if charged != Amount::default() || give != Amount::default() {
        let settlement = Settlement {
            reserved_credits: charged.credits.saturating_add(give.credits),
            reserved_tokens: charged.tokens.saturating_add(give.tokens),
            charged_credits: charged.credits,
            charged_tokens: charged.tokens,
        };
        let settlement = if lease.limited {
            settlement
        } else {
            Settlement {
                reserved_credits: 0,
                reserved_tokens: 0,
                ..settlement
            }
        };
        if let Err(e) =
            store::billing::settle(ctx.db(), lease.org, lease.start, settlement, Utc::now()).await
        {
            tracing::error!(error = %e, org = %lease.org.0, "writing a credit lease failed; trying again at the next tick");
            let mut s = lease.state();
            s.charged.add(charged);
            if lease.limited {
                s.held.add(charged);
                s.held.add(give);
            }
            return;
        }
    }
    if idle {
        let mut map = lock(&ctx.leases().periods);
        let mut s = lease.state();
        let empty = s.calls == 0
            && s.held == Amount::default()
            && s.active == Amount::default()
            && s.charged == Amount::default();
        if empty {
            s.retired = true;
            map.remove(&(lease.org, lease.start.timestamp(), lease.limited));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn key(credits: Option<i64>, tokens: Option<i64>) -> PeriodKey {
        let start = Utc.timestamp_opt(0, 0).single().expect("epoch");
        PeriodKey {
            org: OrgId(uuid::Uuid::nil()),
            start,
            end: start,
            credits_granted: credits,
            tokens_granted: tokens,
        }
    }

    #[test]
    fn a_block_is_whole_calls_and_a_small_share_of_the_grant() {
        let need = Amount {
            credits: 38,
            tokens: 38,
        };
        // 1,900 credits: a 32nd is 59, one call of 38.
        assert_eq!(calls_per_block(need, &key(Some(1_900), None)), 1);
        assert_eq!(calls_per_block(need, &key(Some(10_000_000), None)), 32);
        assert_eq!(calls_per_block(need, &key(None, Some(38 * 32 * 4))), 4);
        let short = Amount {
            credits: 20,
            tokens: 20,
        };
        assert_eq!(
            block(need, short, 3),
            Amount {
                credits: 20 + 76,
                tokens: 20 + 76
            }
        );
    }

    proptest! {
        /// A block never exceeds its share of a limited grant by more than one call, and
        /// always covers what the call lacks.
        #[test]
        fn blocks_stay_within_their_share(
            granted in 0i64..1_000_000_000,
            need in 1i64..10_000_000,
            short_share in 0i64..=100,
        ) {
            let need_a = Amount { credits: need, tokens: need };
            let short = Amount { credits: need * short_share / 100, tokens: need * short_share / 100 };
            let k = calls_per_block(need_a, &key(Some(granted), None));
            prop_assert!(k >= 1);
            let want = block(need_a, short, k);
            prop_assert!(want.credits >= short.credits);
            prop_assert!(want.credits <= (granted / BLOCK_SHARE).max(0) + need);
        }
    }
}
