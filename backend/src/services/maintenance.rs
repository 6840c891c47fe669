//! Housekeeping that keeps tables from growing without bound: expired browser sessions,
//! expired refresh tokens, expired single sign-on flows and replay-cache entries, and audit
//! events older than the retention (`AERIE_AUDIT_RETENTION_DAYS`), idempotency keys past their
//! 24 hours; it ends foreground runs whose instance died while they ran, and queues again the
//! deletion of knowledge bases whose deletion job ended without removing them. Runs
//! periodically in every instance; each run is idempotent.

use chrono::Utc;

use crate::sessions::DbSessionStore;
use crate::{AppContext, Result, store};

/// How often the server runs [`run_once`].
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What one run removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub sso: u64,
    pub audit: u64,
    /// Idempotency keys past their 24 hours (docs/IDEMPOTENCY.md).
    pub idempotency_keys: u64,
    /// Deleted knowledge bases whose `knowledge.delete` job was queued again.
    pub knowledge_deletions: usize,
    /// Foreground runs ended in `error` because their instance died while they ran.
    pub stale_runs: usize,
}

pub async fn run_once(ctx: &AppContext) -> Result<Purged> {
    let now = Utc::now();
    let sessions = DbSessionStore::new(ctx.db().clone())
        .purge_expired()
        .await?;
    let refresh_tokens = store::refresh_tokens::delete_expired_global(ctx.db(), now).await?;
    let sso = store::sso::purge_expired(ctx.db(), now).await?;
    let audit = match ctx.config().audit_retention_days {
        0 => 0,
        days => {
            let cutoff = now - chrono::Duration::days(i64::from(days));
            store::audit::purge_before(ctx.db(), cutoff).await?
        }
    };
    let idempotency_keys = super::idempotency::purge(ctx).await?;
    let rate_windows = super::rate_limits::purge(ctx).await?;
    tracing::debug!(rate_windows, "purged old rate-limit windows");
    let knowledge_deletions = super::knowledge::requeue_stalled_deletions(ctx).await?;
    if knowledge_deletions > 0 {
        tracing::warn!(
            knowledge_deletions,
            "queued the deletion of knowledge bases again: their deletion job ended without removing them"
        );
    }
    let stale_runs = super::runs::execute::end_stale(ctx).await?;
    if stale_runs > 0 {
        tracing::warn!(
            stale_runs,
            "ended foreground runs whose server stopped while they ran"
        );
    }
    if sessions + refresh_tokens + sso + audit + idempotency_keys > 0 {
        tracing::info!(
            sessions,
            refresh_tokens,
            sso,
            audit,
            idempotency_keys,
            "purged expired sessions, refresh tokens, sign-in flows and idempotency keys, and old audit events"
        );
    }
    Ok(Purged {
        sessions,
        refresh_tokens,
        sso,
        audit,
        idempotency_keys,
        knowledge_deletions,
        stale_runs,
    })
}
