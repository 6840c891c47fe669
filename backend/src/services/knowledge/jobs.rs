//! `knowledge.delete`: removes what a deleted knowledge base held. The request hid it
//! (`deleted_at`, its slug freed) and queued this job in the same transaction; the job removes
//! its uploaded files, its documents (in batches, reporting progress), its categories and
//! finally its row. Idempotent: an attempt that follows a crash finds less to do; a knowledge
//! base already gone means an earlier attempt finished. Its vector tables (every index
//! generation) are dropped first.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::services::jobs::{self, JobFailure, JobHandler, JobRun, NewJob};
use crate::{AppContext, Result, store};
use aerie_contract::ids::{KbId, OrgId};

/// The job's kind (`jobs.kind`).
pub const DELETE_KIND: &str = "knowledge.delete";

/// Documents removed per transaction.
const BATCH: u64 = 500;

/// How long a deleted knowledge base may wait for its job before the maintenance net queues
/// another one (the first ran out of attempts or was cancelled by the operator).
const STALLED_AFTER: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    kb_id: KbId,
}

/// Queues the deletion of `kb` (on the caller's transaction).
pub(super) async fn enqueue_delete<C: ConnectionTrait>(db: &C, org: OrgId, kb: KbId) -> Result<()> {
    let payload = serde_json::to_value(Payload { kb_id: kb }).unwrap_or_default();
    let mut job = NewJob::new(DELETE_KIND, Some(org), payload);
    job.max_attempts = 10;
    jobs::enqueue(db, job).await?;
    Ok(())
}

/// Where a knowledge base's uploaded files live.
pub fn files_dir(ctx: &AppContext, org: OrgId, kb: KbId) -> PathBuf {
    ctx.config()
        .data_dir
        .join("uploads")
        .join("knowledge")
        .join(org.0.to_string())
        .join(kb.0.to_string())
}

/// Runs `knowledge.delete` jobs.
pub struct DeleteJob {
    ctx: AppContext,
}

impl DeleteJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }
}

#[async_trait::async_trait]
impl JobHandler for DeleteJob {
    fn kind(&self) -> &'static str {
        DELETE_KIND
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        let (Payload { kb_id }, org) = job.org_payload()?;
        let db = self.ctx.db();
        let Some(kb) = store::knowledge_bases::find_any(db, org, kb_id)
            .await
            .map_err(crate::Error::from)?
        else {
            return Ok(());
        };
        if kb.deleted_at.is_none() {
            return Err(JobFailure::Fatal(
                "the knowledge base is not deleted; nothing was removed".to_owned(),
            ));
        }
        job.progress(serde_json::json!({"step": "vectors"}));
        let vectors = self.ctx.vectors().await.map_err(JobFailure::from)?;
        let prefix = super::ingest::table_prefix(kb_id);
        for t in vectors
            .tables()
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?
            .into_iter()
            .filter(|t| t.starts_with(&prefix))
        {
            vectors
                .drop_table(&t)
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
        }
        job.progress(serde_json::json!({"step": "files"}));
        match tokio::fs::remove_dir_all(files_dir(&self.ctx, org, kb_id)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobFailure::Retry(format!("removing files: {e}"))),
        }
        let mut removed = 0u64;
        loop {
            if job.cancelled().is_cancelled() {
                return Err(JobFailure::Cancelled);
            }
            let n = store::documents::delete_batch(db, org, kb_id, BATCH)
                .await
                .map_err(crate::Error::from)?;
            if n == 0 {
                break;
            }
            removed += n;
            job.progress(serde_json::json!({"step": "documents", "done": removed}));
        }
        job.progress(serde_json::json!({"step": "knowledge base", "done": removed}));
        store::knowledge_categories::delete_all(db, org, kb_id)
            .await
            .map_err(crate::Error::from)?;
        store::knowledge_bases::delete(db, org, kb_id)
            .await
            .map_err(crate::Error::from)?;
        Ok(())
    }
}

/// The maintenance net: queues `knowledge.delete` again for knowledge bases deleted more than
/// an hour ago that are still there with no deletion job pending. Returns how many.
pub async fn requeue_stalled_deletions(ctx: &AppContext) -> Result<usize> {
    let cutoff = Utc::now() - STALLED_AFTER;
    let stalled = store::knowledge_bases::deleted_before_global(ctx.db(), cutoff, 100).await?;
    if stalled.is_empty() {
        return Ok(0);
    }
    let pending: Vec<KbId> = store::jobs::pending_payloads_global(ctx.db(), DELETE_KIND)
        .await?
        .into_iter()
        .filter_map(|p| serde_json::from_value::<Payload>(p).ok())
        .map(|p| p.kb_id)
        .collect();
    let mut queued = 0;
    for (kb, org) in stalled {
        if !pending.contains(&kb) {
            enqueue_delete(ctx.db(), org, kb).await?;
            queued += 1;
        }
    }
    if queued > 0 {
        jobs::wake(ctx);
    }
    Ok(queued)
}
