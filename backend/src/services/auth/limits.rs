//! Login and token endpoints are rate-limited per client and per account, answering 429 with
//! `Retry-After`.
//!
//! - Per client (its IPv4 address or IPv6 /64, see `client_addr::limit_key`): 20
//!   attempts a minute, bursts of 20 (GCRA via `governor`); every attempt counts.
//! - Per account: 5 wrong passwords within a minute lock the account for unknown clients until
//!   the oldest of them is a minute old. A client the account signed in from before (in the
//!   last 30 days, remembered by this process) is judged by its own failures only, so an
//!   attacker spraying an account — the owner's break-glass login included — does not lock its
//!   owner out of their usual address; elsewhere the lock ends one window after the failures
//!   that caused it (refused attempts do not count, so they cannot extend it).
//!
//! Single sign-on flow starts are limited per client too, and the audit events of anonymous
//! single sign-on refusals are sampled ([`SsoLimits`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client_addr::limit_key;
use crate::{Error, Result};

/// Attempts per client: 20 a minute, bursts of 20.
const PER_IP_PER_MINUTE: u32 = 20;
/// Wrong passwords per account (or per account and known client) within [`WINDOW`].
const PER_ACCOUNT_PER_MINUTE: u32 = 5;
/// The account lock-out's window.
const WINDOW: Duration = Duration::from_secs(60);
/// How long a client that signed in to an account stays known to it.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Known clients remembered per account (the most recent ones).
const KNOWN_PER_ACCOUNT: usize = 8;
/// Accounts tracked before stale entries are swept.
const MAX_ACCOUNTS: usize = 100_000;

pub struct LoginLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account: usize,
    accounts: Mutex<HashMap<String, Account>>,
}

/// What the account limit knows of one account.
#[derive(Default)]
struct Account {
    /// Wrong passwords within the window, oldest first, with the client's key.
    failures: VecDeque<(Instant, Option<IpAddr>)>,
    /// Clients (keys) that signed in, with when they last did.
    known: Vec<(IpAddr, Instant)>,
}

impl Account {
    fn forget_before(&mut self, now: Instant) {
        while self
            .failures
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.failures.pop_front();
        }
        self.known
            .retain(|(_, t)| now.saturating_duration_since(*t) < KNOWN_FOR);
    }

    fn is_empty(&self) -> bool {
        self.failures.is_empty() && self.known.is_empty()
    }
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimits")
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self::new(PER_IP_PER_MINUTE, PER_ACCOUNT_PER_MINUTE)
    }
}

fn retry_after(wait: Duration) -> Error {
    Error::RateLimited {
        retry_after_secs: wait.as_secs() + 1,
    }
}

impl LoginLimits {
    pub fn new(per_ip: u32, per_account: u32) -> Self {
        Self {
            by_ip: RateLimiter::keyed(per_minute(per_ip)),
            per_account: per_account.max(1) as usize,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `ip` alone (token refresh).
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        let clock = DefaultClock::default();
        self.by_ip
            .check_key(&limit_key(ip))
            .map_err(|not_until| retry_after(not_until.wait_time_from(clock.now())))?;
        if self.by_ip.len() > MAX_ACCOUNTS {
            self.by_ip.retain_recent();
        }
        Ok(())
    }

    /// Counts one attempt that is not a password check (signup): the client's budget, and one
    /// entry against the account as if it had failed.
    pub fn check(&self, ip: Option<IpAddr>, account: &str) -> Result<()> {
        self.check_login(ip, account)?;
        self.login_failed(ip, account);
        Ok(())
    }

    /// Before checking a password for `account` from `ip`: refuses when the client is over its
    /// budget or the account is locked for this client.
    pub fn check_login(&self, ip: Option<IpAddr>, account: &str) -> Result<()> {
        self.check_ip(ip)?;
        self.account_open_at(ip.map(limit_key), account, Instant::now())
    }

    /// After a wrong password (or unknown account) for `account` from `ip`.
    pub fn login_failed(&self, ip: Option<IpAddr>, account: &str) {
        self.failed_at(ip.map(limit_key), account, Instant::now());
    }

    /// After a successful sign-in: `ip` becomes a known client of `account`.
    pub fn login_succeeded(&self, ip: Option<IpAddr>, account: &str) {
        if let Some(ip) = ip {
            self.succeeded_at(limit_key(ip), account, Instant::now());
        }
    }

    fn account_open_at(&self, key: Option<IpAddr>, account: &str, now: Instant) -> Result<()> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = accounts.get_mut(account) else {
            return Ok(());
        };
        entry.forget_before(now);
        let known = key.is_some_and(|k| entry.known.iter().any(|(ip, _)| *ip == k));
        // A known client answers for its own failures; anyone else for all of them.
        let mut counted = entry
            .failures
            .iter()
            .filter(|(_, from)| !known || *from == key);
        let Some((oldest, _)) = counted.clone().next() else {
            return Ok(());
        };
        if counted.nth(self.per_account - 1).is_none() {
            return Ok(());
        }
        Err(retry_after(
            WINDOW.saturating_sub(now.saturating_duration_since(*oldest)),
        ))
    }

    fn failed_at(&self, key: Option<IpAddr>, account: &str, now: Instant) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        sweep(&mut accounts, now);
        let entry = accounts.entry(account.to_owned()).or_default();
        entry.forget_before(now);
        entry.failures.push_back((now, key));
        // Only the last few matter to any decision.
        let keep = self.per_account * (KNOWN_PER_ACCOUNT + 1);
        while entry.failures.len() > keep {
            entry.failures.pop_front();
        }
    }

    fn succeeded_at(&self, key: IpAddr, account: &str, now: Instant) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        sweep(&mut accounts, now);
        let entry = accounts.entry(account.to_owned()).or_default();
        entry.forget_before(now);
        entry.known.retain(|(ip, _)| *ip != key);
        entry.known.push((key, now));
        if entry.known.len() > KNOWN_PER_ACCOUNT {
            entry.known.remove(0);
        }
    }
}

/// Keeps memory bounded under a spray of distinct accounts: past the cap, drops what no
/// longer matters, then (still over) the accounts that only hold failures.
fn sweep(accounts: &mut HashMap<String, Account>, now: Instant) {
    if accounts.len() < MAX_ACCOUNTS {
        return;
    }
    accounts.retain(|_, a| {
        a.forget_before(now);
        !a.is_empty()
    });
    if accounts.len() >= MAX_ACCOUNTS {
        accounts.retain(|_, a| !a.known.is_empty());
    }
}

/// Single sign-on flows a client address may start: 30 a minute, bursts of 30. Each start
/// stores a flow record (kept 10 minutes).
const FLOW_STARTS_PER_MINUTE: u32 = 30;
/// Audit events kept of refused anonymous single sign-on requests (no flow or provider behind
/// them), per reason, instance-wide: the first 10, then one a minute. The rest are only counted.
const ANONYMOUS_REFUSALS_BURST: u32 = 10;

/// Bounds on what unauthenticated single sign-on requests may write: flow starts per client
/// address, and a sample of the audit events of refused anonymous requests.
pub struct SsoLimits {
    flow_starts: DefaultKeyedRateLimiter<IpAddr>,
    anonymous_refusals: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for SsoLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsoLimits")
    }
}

impl Default for SsoLimits {
    fn default() -> Self {
        Self::new(FLOW_STARTS_PER_MINUTE, ANONYMOUS_REFUSALS_BURST)
    }
}

impl SsoLimits {
    /// `flow_starts` a minute per address; `anonymous_refusals` audited at once per reason,
    /// then one a minute.
    pub fn new(flow_starts: u32, anonymous_refusals: u32) -> Self {
        let burst = NonZeroU32::new(anonymous_refusals).unwrap_or(NonZeroU32::MIN);
        Self {
            flow_starts: RateLimiter::keyed(per_minute(flow_starts)),
            anonymous_refusals: RateLimiter::keyed(per_minute(1).allow_burst(burst)),
        }
    }

    /// Counts one flow start from `ip` (IPv6 per /64); refuses it when that client is over its
    /// limit.
    pub fn check_flow_start(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        let clock = DefaultClock::default();
        let checked = self.flow_starts.check_key(&limit_key(ip));
        // Keep memory bounded under a spray of distinct addresses.
        if self.flow_starts.len() > 100_000 {
            self.flow_starts.retain_recent();
        }
        checked.map_err(|not_until| Error::RateLimited {
            retry_after_secs: not_until.wait_time_from(clock.now()).as_secs() + 1,
        })
    }

    /// Whether a refused anonymous request with this reason is audited (within the sample) or
    /// only counted. Reasons are a fixed set of codes, so the keys stay few.
    pub fn sample_anonymous_refusal(&self, reason: &str) -> bool {
        self.anonymous_refusals
            .check_key(&reason.to_owned())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_ips_are_limited_separately() {
        let limits = LoginLimits::new(3, 2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!(limits.check(Some(ip), "a@x.test").is_ok());
        assert!(limits.check(Some(ip), "a@x.test").is_ok());
        let err = limits.check(Some(ip), "a@x.test").unwrap_err();
        assert!(matches!(err, Error::RateLimited { retry_after_secs } if retry_after_secs >= 1));
        // The IP budget (3) is spent too: another account from it is refused...
        assert!(limits.check(Some(ip), "b@x.test").is_err());
        // ...but another IP may still try that account.
        assert!(limits.check(Some([10, 0, 0, 2].into()), "b@x.test").is_ok());
    }

    #[test]
    fn the_lock_out_lasts_one_window_and_spares_known_clients() {
        let limits = LoginLimits::new(1000, 3);
        let owner: IpAddr = [192, 0, 2, 10].into();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        limits.succeeded_at(owner, "o@x.test", at(0));
        // An attacker's three failures from three addresses lock the account...
        for (i, s) in [(1u8, 1), (2, 2), (3, 30)] {
            let attacker = Some(IpAddr::from([203, 0, 113, i]));
            assert!(limits.account_open_at(attacker, "o@x.test", at(s)).is_ok());
            limits.failed_at(attacker, "o@x.test", at(s));
        }
        let stranger = Some(IpAddr::from([198, 51, 100, 1]));
        let err = limits
            .account_open_at(stranger, "o@x.test", at(31))
            .unwrap_err();
        // ...until the oldest failure is a window old: 1 + 60 - 31 = 30 s (+1 rounding).
        assert!(matches!(
            err,
            Error::RateLimited {
                retry_after_secs: 31
            }
        ));
        assert!(limits.account_open_at(None, "o@x.test", at(60)).is_err());
        // Refused attempts did not extend it: one window after the first failure it is open.
        assert!(limits.account_open_at(stranger, "o@x.test", at(61)).is_ok());
        // The owner's known address was never locked by the attacker...
        assert!(
            limits
                .account_open_at(Some(owner), "o@x.test", at(31))
                .is_ok()
        );
        // ...but is by its own failures.
        for s in 40..43 {
            limits.failed_at(Some(owner), "o@x.test", at(s));
        }
        assert!(
            limits
                .account_open_at(Some(owner), "o@x.test", at(43))
                .is_err()
        );
        assert!(
            limits
                .account_open_at(Some(owner), "o@x.test", at(100))
                .is_ok()
        );
        // Known clients are forgotten after 30 days.
        assert!(
            limits
                .account_open_at(Some(owner), "o@x.test", at(30 * 24 * 3600 + 1))
                .is_ok()
        );
        for i in 1..=3u8 {
            limits.failed_at(
                Some(IpAddr::from([203, 0, 113, i])),
                "o@x.test",
                at(30 * 24 * 3600 + 2),
            );
        }
        assert!(
            limits
                .account_open_at(Some(owner), "o@x.test", at(30 * 24 * 3600 + 3))
                .is_err()
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let limits = LoginLimits::new(2, 1000);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limits.check_ip(Some(a)).is_ok());
        assert!(limits.check_ip(Some(b)).is_ok());
        assert!(limits.check_ip(Some(a)).is_err());
        assert!(limits.check_ip(Some(c)).is_ok());
    }

    #[test]
    fn flow_starts_are_limited_per_address_and_anonymous_refusals_sampled_per_reason() {
        let limits = SsoLimits::new(2, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(limits.check_flow_start(Some(a)).is_ok());
        assert!(limits.check_flow_start(Some(a)).is_ok());
        let err = limits.check_flow_start(Some(a)).unwrap_err();
        assert!(matches!(err, Error::RateLimited { retry_after_secs } if retry_after_secs >= 1));
        assert!(limits.check_flow_start(Some([10, 0, 0, 2].into())).is_ok());

        let sampled = (0..100)
            .filter(|_| limits.sample_anonymous_refusal("state_mismatch"))
            .count();
        assert_eq!(sampled, 3);
        assert!(limits.sample_anonymous_refusal("pickup_unknown"));
    }
}
