//! `Idempotency-Key` (seed 004: "All POST create endpoints accept Idempotency-Key";
//! docs/IDEMPOTENCY.md). A request that creates something may carry a key; the first request
//! with a key runs, and its successful answer is kept for 24 hours and given again to every
//! repeat of the same request (same method, path, query and body) with the same key from the
//! same credential. The same key with another request is refused (422); a repeat that arrives
//! while the first still runs waits for its answer (409 after [`WAIT`]). Several instances
//! sharing the database agree: the slot is claimed by one conditional INSERT.
//!
//! Keys are scoped per credential: an API key's requests share its keys, a person's (session or
//! JWT) share the person's, and nobody sees another credential's answers. Only answers that
//! succeeded (2xx) are kept: a request that failed created nothing, and a repeat runs again.

use std::future::Future;
use std::time::Duration;

use aerie_contract::ErrorCode;
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::actor::Principal;
use crate::crypto;
use crate::store::idempotency::{self as store, Answer, DONE, Slot};
use crate::{AppContext, Error, Result};

/// The longest key accepted.
pub const KEY_MAX: usize = 255;
/// The document's pattern for a key: 1 to 255 visible ASCII characters.
pub const KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// The header.
pub const HEADER: &str = "idempotency-key";
/// The header a repeated answer carries.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key and its answer are kept.
pub const KEEP: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a running request holds its key without renewing it; a request whose process died
/// frees its key after this.
pub const LEASE: Duration = Duration::from_secs(60);
/// How long a repeat waits for the first request's answer before answering 409.
pub const WAIT: Duration = Duration::from_secs(10);
/// The largest answer kept; a larger one is not kept (a repeat runs again).
pub const ANSWER_MAX: usize = 1024 * 1024;

const SEAL_LABEL: &str = "idempotency-answer";

/// Checks a key as sent: 1 to [`KEY_MAX`] visible ASCII characters ([`KEY_PATTERN`]).
pub fn check_key(raw: &[u8]) -> Result<&str> {
    let valid =
        !raw.is_empty() && raw.len() <= KEY_MAX && raw.iter().all(|b| (b'!'..=b'~').contains(b));
    match std::str::from_utf8(raw) {
        Ok(key) if valid => Ok(key),
        _ => Err(Error::invalid(
            "Idempotency-Key",
            format!("Idempotency-Key must be 1 to {KEY_MAX} visible ASCII characters (no spaces)."),
        )),
    }
}

/// What identifies a request: its method, path and query, and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path_and_query.as_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(body);
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The credential a principal's keys belong to.
fn scope(principal: &Principal) -> String {
    match principal.api_key_id() {
        Some(key) => format!("key:{}", key.0),
        None => format!("user:{}", principal.user_id.0),
    }
}

/// A kept answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// The right to run the request that claimed a key.
#[derive(Clone, Debug)]
pub struct Ticket {
    org: aerie_contract::ids::OrgId,
    id: Uuid,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// Run it: no request with this key ran.
    Run(Ticket),
    /// Answer this: the same request succeeded before.
    Replay(Kept),
}

/// Claims `key` for the request `fingerprint` of `principal`, or finds the answer of the same
/// request, waiting up to [`WAIT`] while the first one runs.
pub async fn begin(
    ctx: &AppContext,
    principal: &Principal,
    key: &str,
    fingerprint: &str,
) -> Result<Begin> {
    let scope = scope(principal);
    let slot = Slot {
        org: principal.org_id,
        scope: &scope,
        key,
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut pause = Duration::from_millis(10);
    loop {
        let now = Utc::now();
        match store::find(ctx.db(), slot).await? {
            None => {
                let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
                let expiry = now + chrono::Duration::from_std(KEEP).unwrap_or_default();
                if let Some(id) =
                    store::claim(ctx.db(), slot, fingerprint, now, lease, expiry).await?
                {
                    return Ok(Begin::Run(Ticket {
                        org: principal.org_id,
                        id,
                    }));
                }
                // Another request claimed it between the two statements: read it again.
                continue;
            }
            Some(row) if crate::store::utc(row.expires_at) <= now => {
                store::remove_expired(ctx.db(), &row, now).await?;
                continue;
            }
            Some(row) if !crypto::hashes_match(&row.fingerprint, fingerprint) => {
                return Err(Error::Code(ErrorCode::IdempotencyKeyReused));
            }
            Some(row) if row.state == DONE => return Ok(Begin::Replay(open(ctx, row)?)),
            Some(row) if crate::store::utc(row.locked_until) <= now => {
                let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
                if store::take_over(ctx.db(), &row, lease).await? {
                    tracing::warn!(
                        "an idempotent request's process stopped before it answered; a repeat runs it again"
                    );
                    return Ok(Begin::Run(Ticket {
                        org: principal.org_id,
                        id: row.id,
                    }));
                }
                continue;
            }
            Some(_) => {}
        }
        if tokio::time::Instant::now() + pause > deadline {
            return Err(Error::Code(ErrorCode::IdempotencyInProgress));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

fn open(ctx: &AppContext, row: crate::db::entities::idempotency_keys::Model) -> Result<Kept> {
    let body = match row.body.as_deref() {
        Some(sealed) => {
            use secrecy::ExposeSecret;
            crypto::open(&ctx.secrets().encryption_key, SEAL_LABEL, sealed)?
                .expose_secret()
                .as_bytes()
                .to_vec()
        }
        None => Vec::new(),
    };
    let status = row
        .status_code
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| anyhow::anyhow!("a kept idempotent answer has no status"))?;
    Ok(Kept {
        status,
        content_type: row.content_type,
        location: row.location,
        body,
    })
}

/// Runs `work` while holding `ticket`'s key, renewing the hold every third of [`LEASE`] so no
/// repeat takes it over while the request is still running.
pub async fn hold<F: Future>(ctx: &AppContext, ticket: &Ticket, work: F) -> F::Output {
    let mut work = std::pin::pin!(work);
    loop {
        match tokio::time::timeout(LEASE / 3, &mut work).await {
            Ok(out) => return out,
            Err(_) => {
                let until = Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
                if let Err(e) = store::renew(ctx.db(), ticket.org, ticket.id, until).await {
                    tracing::warn!(error = %e, "could not renew an idempotency key's hold");
                }
            }
        }
    }
}

/// Keeps the answer of the request that holds `ticket` when it may be given again: a success
/// (2xx) whose body is UTF-8 and at most [`ANSWER_MAX`] bytes. Otherwise frees the key, so a
/// repeat runs again.
pub async fn finish(ctx: &AppContext, ticket: Ticket, answer: Kept) -> Result<()> {
    let keep = (200..300).contains(&answer.status) && answer.body.len() <= ANSWER_MAX;
    let text = keep.then(|| String::from_utf8(answer.body).ok()).flatten();
    let Some(text) = text else {
        return release(ctx, ticket).await;
    };
    let body = crypto::seal(&ctx.secrets().encryption_key, SEAL_LABEL, &text)?;
    store::finish(
        ctx.db(),
        ticket.org,
        ticket.id,
        Answer {
            status: i32::from(answer.status),
            content_type: answer.content_type,
            location: answer.location,
            body,
        },
    )
    .await?;
    Ok(())
}

/// Frees the key of a request that will not answer (a repeat runs again).
pub async fn release(ctx: &AppContext, ticket: Ticket) -> Result<()> {
    store::release(ctx.db(), ticket.org, ticket.id).await?;
    Ok(())
}

/// Housekeeping: deletes the keys past their 24 hours.
pub async fn purge(ctx: &AppContext) -> Result<u64> {
    Ok(store::purge_expired_global(ctx.db(), Utc::now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(check_key(b"a").is_ok());
        assert!(check_key(b"order-2026-12-05/1").is_ok());
        assert!(check_key("x".repeat(255).as_bytes()).is_ok());
        assert!(check_key("x".repeat(256).as_bytes()).is_err());
        assert!(check_key(b"").is_err());
        assert!(check_key(b"has space").is_err());
        assert!(check_key("caf\u{e9}".as_bytes()).is_err());
    }

    #[test]
    fn the_fingerprint_separates_method_path_and_body() {
        let base = fingerprint("POST", "/api/agents", b"{}");
        assert_eq!(base, fingerprint("POST", "/api/agents", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/agent", b"s{}"));
        assert_ne!(base, fingerprint("PUT", "/api/agents", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/agents?x=1", b"{}"));
        assert_eq!(base.len(), 64);
    }

    proptest::proptest! {
        /// The check and the documented pattern agree on any bytes.
        #[test]
        fn the_documented_pattern_is_the_check(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let pattern = regex::Regex::new(KEY_PATTERN).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let documented = std::str::from_utf8(&raw).is_ok_and(|s| pattern.is_match(s));
            proptest::prop_assert_eq!(check_key(&raw).is_ok(), documented);
        }
    }
}
