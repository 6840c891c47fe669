//! Login and token endpoints are rate-limited per client IP and per account (GCRA via
//! `governor`), answering 429 with `Retry-After`; so are single sign-on flow starts per client
//! IP, and the audit events of anonymous single sign-on refusals are sampled.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::backend::{Error, Result};

/// Attempts per client IP: 20 a minute, bursts of 20.
const PER_IP_PER_MINUTE: u32 = 20;
/// Attempts per account: 5 a minute, bursts of 5.
const PER_ACCOUNT_PER_MINUTE: u32 = 5;

pub struct LoginLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
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

impl LoginLimits {
    pub fn new(per_ip: u32, per_account: u32) -> Self {
        Self {
            by_ip: RateLimiter::keyed(per_minute(per_ip)),
            by_account: RateLimiter::keyed(per_minute(per_account)),
        }
    }

    /// Counts one attempt from `ip` alone (token refresh).
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        let clock = DefaultClock::default();
        self.by_ip
            .check_key(&ip)
            .map_err(|not_until| Error::RateLimited {
                retry_after_secs: not_until.wait_time_from(clock.now()).as_secs() + 1,
            })
    }

    /// Counts one attempt; refuses it when the IP or the account is over its limit.
    pub fn check(&self, ip: Option<IpAddr>, account: &str) -> Result<()> {
        let clock = DefaultClock::default();
        let wait = |not_until: governor::NotUntil<_>| {
            let d: Duration = not_until.wait_time_from(clock.now());
            Error::RateLimited {
                retry_after_secs: d.as_secs() + 1,
            }
        };
        if let Some(ip) = ip {
            self.by_ip.check_key(&ip).map_err(wait)?;
        }
        self.by_account
            .check_key(&account.to_owned())
            .map_err(wait)?;
        // Keep memory bounded under a spray of distinct keys.
        if self.by_account.len() > 100_000 {
            self.by_account.retain_recent();
        }
        if self.by_ip.len() > 100_000 {
            self.by_ip.retain_recent();
        }
        Ok(())
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

    /// Counts one flow start from `ip`; refuses it when that address is over its limit.
    pub fn check_flow_start(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        let clock = DefaultClock::default();
        let checked = self.flow_starts.check_key(&ip);
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
