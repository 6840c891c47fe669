//! Requests and tokens per minute, per API key and per user, from the organisation's plan
//! (docs/BILLING.md). Counted per one-minute window — in Redis when `AERIE_REDIS_URL` is set,
//! else in the database (`rate_windows`) — so every instance sharing them enforces one limit.
//! A chat request is admitted (and counted) before its first model call; the tokens of every
//! call are added when it settles. Past a limit: 429 with `Retry-After` (the window's end).
//! An API key may have limits of its own (`api_keys.requests_per_minute`, `tokens_per_minute`),
//! which replace the plan's for the calls made with it.
//!
//! Under a requests-per-minute limit an instance takes `limit / 20` requests of a window at
//! once (at least one, so small limits stay exact) and admits from them in memory; tokens are
//! added every half second ([`flush`], run by the lease ticker of
//! [`crate::services::leases`]). This instance's unwritten counts always take part in its own
//! checks, so one instance enforces a limit exactly and several within a block each.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;

use crate::actor::Principal;
use crate::services::billing;
use crate::store;
use crate::{AppContext, Error, Result};

/// Windows live this long in Redis (two windows: the current one and the one just ended).
const REDIS_TTL_SECS: i64 = 120;

/// The Redis connection of the counters, opened on first use.
#[derive(Default)]
pub struct RateLimits {
    redis: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// This instance's share of each subject's current windows, by subject and window start.
    windows: Mutex<HashMap<(String, i64), Window>>,
}

/// One subject's window as this instance counts it.
#[derive(Debug, Default)]
struct Window {
    /// Requests this instance took from the shared counter…
    granted: i64,
    /// …and admitted.
    used: i64,
    /// The window's tokens as the shared counter last answered.
    shared_tokens: i64,
    /// Tokens of this instance's settled calls not added to the shared counter yet.
    local_tokens: i64,
}

impl Window {
    fn over_tokens(&self, tpm: Option<i64>) -> bool {
        tpm.is_some_and(|limit| self.shared_tokens.saturating_add(self.local_tokens) >= limit)
    }
}

fn windows(ctx: &AppContext) -> MutexGuard<'_, HashMap<(String, i64), Window>> {
    ctx.rate_limits()
        .windows
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Requests a window lease takes at once under `rpm`.
fn request_block(rpm: i32) -> i64 {
    (i64::from(rpm) / 20).max(1)
}

/// The counters a caller's requests and tokens go to: its user, and its API key when it used
/// one.
pub fn subjects(p: &Principal) -> Vec<String> {
    let mut s = vec![format!("user:{}", p.user_id.0)];
    if let Some(k) = p.api_key_id() {
        s.push(format!("key:{}", k.0));
    }
    s
}

/// The minute containing `now`, and the seconds until it ends.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, u64) {
    let secs = now.timestamp();
    let start = secs - secs.rem_euclid(60);
    let at = Utc.timestamp_opt(start, 0).single().unwrap_or(now);
    (at, u64::try_from(start + 60 - secs).unwrap_or(60))
}

async fn redis(ctx: &AppContext) -> Option<MultiplexedConnection> {
    let url = ctx.config().redis_url.0.as_str();
    if url.is_empty() {
        return None;
    }
    let mut guard = ctx.rate_limits().redis.lock().await;
    if let Some(c) = guard.as_ref() {
        return Some(c.clone());
    }
    let opened = async {
        redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await
    };
    match opened.await {
        Ok(c) => {
            *guard = Some(c.clone());
            Some(c)
        }
        Err(e) => {
            // Logged without the URL (it may hold a password); the database counts meanwhile.
            tracing::warn!(error = %e, "Redis is unreachable; rate limits are counted in the database");
            None
        }
    }
}

async fn forget_redis(ctx: &AppContext) {
    *ctx.rate_limits().redis.lock().await = None;
}

fn keys(subject: &str, window: DateTime<Utc>) -> (String, String) {
    let w = window.timestamp();
    (
        format!("aerie:rl:{subject}:{w}:r"),
        format!("aerie:rl:{subject}:{w}:t"),
    )
}

/// Counts `n` requests; answers the window's `(requests, tokens)` after them.
async fn hit(ctx: &AppContext, subject: &str, window: DateTime<Utc>, n: i64) -> Result<(i64, i64)> {
    if let Some(mut conn) = redis(ctx).await {
        let (rk, tk) = keys(subject, window);
        let counted: redis::RedisResult<(i64, Option<i64>)> = redis::pipe()
            .atomic()
            .cmd("INCRBY")
            .arg(&rk)
            .arg(n)
            .cmd("EXPIRE")
            .arg(&rk)
            .arg(REDIS_TTL_SECS)
            .ignore()
            .cmd("GET")
            .arg(&tk)
            .query_async(&mut conn)
            .await;
        match counted {
            Ok((requests, tokens)) => return Ok((requests, tokens.unwrap_or(0))),
            Err(e) => {
                tracing::warn!(error = %e, "counting a request in Redis failed; counting it in the database");
                forget_redis(ctx).await;
            }
        }
    }
    Ok(store::billing::hit_window(ctx.db(), subject, window, n).await?)
}

/// Adds `tokens` to the window; answers its tokens after them.
async fn add(ctx: &AppContext, subject: &str, window: DateTime<Utc>, tokens: i64) -> Result<i64> {
    if let Some(mut conn) = redis(ctx).await {
        let (_, tk) = keys(subject, window);
        let added: redis::RedisResult<(i64,)> = redis::pipe()
            .atomic()
            .cmd("INCRBY")
            .arg(&tk)
            .arg(tokens)
            .cmd("EXPIRE")
            .arg(&tk)
            .arg(REDIS_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await;
        match added {
            Ok((total,)) => return Ok(total),
            Err(e) => {
                tracing::warn!(error = %e, "adding tokens in Redis failed; adding them in the database");
                forget_redis(ctx).await;
            }
        }
    }
    Ok(store::billing::add_window_tokens(ctx.db(), subject, window, tokens).await?)
}

/// Admits one request of `subject` in the window starting at `start` under `rpm` and `tpm`:
/// from this instance's share of the window when it has one left, else after taking more.
async fn admit_one(
    ctx: &AppContext,
    subject: &str,
    start: DateTime<Utc>,
    rpm: Option<i32>,
    tpm: Option<i64>,
) -> Result<bool> {
    let at = (subject.to_owned(), start.timestamp());
    if rpm.is_some() {
        let mut map = windows(ctx);
        let w = map.entry(at.clone()).or_default();
        if w.used < w.granted {
            w.used += 1;
            return Ok(!w.over_tokens(tpm));
        }
    }
    // Without a request limit the request is counted as it comes (one each), for the limits
    // other calls check on the same counter.
    let n = rpm.map_or(1, request_block);
    let (requests, tokens) = hit(ctx, subject, start, n).await?;
    let before = requests.saturating_sub(n);
    let fits = rpm.map_or(n, |limit| (i64::from(limit) - before).clamp(0, n));
    let mut map = windows(ctx);
    let w = map.entry(at).or_default();
    w.granted += fits;
    w.shared_tokens = w.shared_tokens.max(tokens);
    if w.used < w.granted {
        w.used += 1;
        Ok(!w.over_tokens(tpm))
    } else {
        Ok(false)
    }
}

/// Admits a chat request of `p` under its plan's limits, counting it; 429 past a limit. Answers
/// the subjects its calls' tokens are added to (none when the plan has no limits).
pub async fn admit(ctx: &AppContext, p: &Principal) -> Result<Vec<String>> {
    let plan = billing::rate_limits_of(ctx, p.org_id).await?;
    let key = p.key_limits;
    // A key with limits of its own is held to them instead of the plan's, and its calls are not
    // checked against the person's counter (they still count on it, for the person's other
    // calls).
    let key_limits = (
        key.requests_per_minute.or(plan.0),
        key.tokens_per_minute.or(plan.1),
    );
    let limited = |(rpm, tpm): (Option<i32>, Option<i64>)| rpm.is_some() || tpm.is_some();
    if !limited(plan) && !limited(key_limits) {
        return Ok(Vec::new());
    }
    let (start, retry_after_secs) = window(Utc::now());
    let subjects = subjects(p);
    for subject in &subjects {
        let (rpm, tpm) = if subject.starts_with("key:") {
            key_limits
        } else if key.any() {
            (None, None)
        } else {
            plan
        };
        if !admit_one(ctx, subject, start, rpm, tpm).await? {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    Ok(subjects)
}

/// Adds a settled call's tokens to its subjects' current windows (written by [`flush`]).
pub fn add_tokens(ctx: &AppContext, subjects: &[String], tokens: u64) {
    if subjects.is_empty() || tokens == 0 {
        return;
    }
    let (start, _) = window(Utc::now());
    let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
    crate::services::leases::start_ticker(ctx);
    let mut map = windows(ctx);
    for subject in subjects {
        let w = map.entry((subject.clone(), start.timestamp())).or_default();
        w.local_tokens = w.local_tokens.saturating_add(tokens);
    }
}

/// Adds this instance's unwritten tokens to the shared windows and forgets the windows that
/// ended (run every tick by [`crate::services::leases`], and at shutdown).
pub async fn flush(ctx: &AppContext) {
    let (current, _) = window(Utc::now());
    let pending: Vec<((String, i64), i64)> = {
        let mut map = windows(ctx);
        let pending = map
            .iter()
            .filter(|(_, w)| w.local_tokens > 0)
            .map(|(k, w)| (k.clone(), w.local_tokens))
            .collect();
        // Ended windows with nothing to write go (their counters expire on their own).
        map.retain(|(_, at), w| *at >= current.timestamp() || w.local_tokens > 0);
        pending
    };
    for ((subject, at), tokens) in pending {
        let Some(start) = Utc.timestamp_opt(at, 0).single() else {
            continue;
        };
        match add(ctx, &subject, start, tokens).await {
            Ok(total) => {
                let k = (subject, at);
                let mut map = windows(ctx);
                let ended = map.get_mut(&k).is_some_and(|w| {
                    w.local_tokens = w.local_tokens.saturating_sub(tokens);
                    w.shared_tokens = w.shared_tokens.max(total);
                    at < current.timestamp() && w.local_tokens == 0
                });
                if ended {
                    map.remove(&k);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "counting calls' tokens for their rate limit failed; trying again at the next tick")
            }
        }
    }
}

/// Deletes the database's windows older than ten minutes (housekeeping).
pub async fn purge(ctx: &AppContext) -> Result<u64> {
    let before = Utc::now() - chrono::Duration::minutes(10);
    Ok(store::billing::purge_windows_global(ctx.db(), before).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_window_is_the_minute_around_now(secs in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000) {
            let now = Utc.timestamp_opt(secs, nanos).single().expect("time");
            let (start, retry) = window(now);
            prop_assert!(start <= now);
            prop_assert_eq!(start.timestamp() % 60, 0);
            prop_assert!(now.timestamp() - start.timestamp() < 60);
            prop_assert!((1..=60).contains(&retry));
        }
    }
}
