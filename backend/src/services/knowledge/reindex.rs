//! Reindexing (`POST /api/knowledge/{id}/reindex`, "Re-embed all chunks"; and a change of the
//! chunking settings or the embedding model of a knowledge base that holds documents): the job
//! `knowledge.reindex`
//! cuts and embeds every ready document again, with the knowledge base's current settings, into
//! the next index generation (`kb_<id>_<generation + 1>`). Searches keep using the live
//! generation until the new one is complete; then one conditional update switches to it, the
//! documents' chunk counts follow, and the old table is dropped. Documents ingested meanwhile
//! are taken in a second pass, and an ingestion that finishes after the switch writes again into
//! the new generation (`ingest.rs`). The switch records the model the new generation was built
//! with (searches embed their queries with it), and queues another reindex if the settings
//! changed again while this one ran. Idempotent: an attempt after a crash starts the new table
//! over (each document's chunks are replaced, never appended).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::find_editable;
use super::ingest::{chunks_of, embed_all, index_embedding, model_of, table, to_chunks};
use crate::actor::Actor;
use crate::services::audit::{self, Event};
use crate::services::jobs::{self, JobFailure, JobHandler, JobRun, NewJob};
use crate::store::documents::StateChange;
use crate::{AppContext, Error, Result, db, store};
use aerie_contract::DocumentStatus;
use aerie_contract::ids::{DocumentId, KbId, OrgId};
use aerie_contract::knowledge::ReindexStarted;

/// `jobs.kind` of reindexing.
pub const REINDEX_KIND: &str = "knowledge.reindex";

/// How long the previous generation outlives the switch, for searches that read it just before.
const DROP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    kb_id: KbId,
    /// The generation being built.
    generation: i32,
}

/// Queues the reindexing of `kb` into `generation` (on the caller's transaction).
pub(super) async fn enqueue<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    generation: i32,
) -> Result<aerie_contract::ids::JobId> {
    let payload = serde_json::to_value(Payload {
        kb_id: kb,
        generation,
    })
    .map_err(|e| Error::Internal(e.into()))?;
    jobs::enqueue(db, NewJob::new(REINDEX_KIND, Some(org), payload)).await
}

/// Re-embeds every document of a knowledge base (its owner or an admin) in the background.
pub async fn reindex(ctx: &AppContext, actor: &Actor, kb: KbId) -> Result<ReindexStarted> {
    let p = actor.require_person()?;
    let row = find_editable(ctx, p, kb).await?;
    let generation = row.index_generation.saturating_add(1);
    let txn = db::begin_write(ctx.db()).await?;
    let job_id = enqueue(&txn, p.org_id, kb, generation).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("knowledge_base.reindexed")
            .target("knowledge_base", kb.0)
            .details(serde_json::json!({"generation": generation})),
    )
    .await?;
    txn.commit().await?;
    jobs::wake(ctx);
    Ok(ReindexStarted {
        job_id,
        generation: u32::try_from(generation).unwrap_or_default(),
    })
}

/// Runs `knowledge.reindex` jobs.
pub struct ReindexJob {
    ctx: AppContext,
}

impl ReindexJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }
}

#[async_trait::async_trait]
impl JobHandler for ReindexJob {
    fn kind(&self) -> &'static str {
        REINDEX_KIND
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        let (Payload { kb_id, generation }, org) = job.org_payload()?;
        let ctx = &self.ctx;
        let Some(kb) = store::knowledge_bases::find(ctx.db(), org, kb_id)
            .await
            .map_err(Error::from)?
        else {
            return Ok(());
        };
        let live = kb.index_generation;
        if live >= generation {
            // Built already, or a later reindex superseded this one.
            return Ok(());
        }
        let vectors = ctx.vectors().await.map_err(JobFailure::from)?;
        let target = table(kb_id, generation);
        // A crashed attempt left part of the table: start it over.
        vectors
            .drop_table(&target)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        let model = model_of(&kb);
        let mut counts: HashMap<DocumentId, u32> = HashMap::new();
        // Two passes: the documents ready now, then those that became ready meanwhile.
        for _pass in 0..2 {
            let ready =
                store::documents::ids_with_status(ctx.db(), org, kb_id, &[DocumentStatus::Ready])
                    .await
                    .map_err(Error::from)?;
            let todo: Vec<DocumentId> = ready
                .into_iter()
                .filter(|d| !counts.contains_key(d))
                .collect();
            let total = todo.len();
            for (i, id) in todo.into_iter().enumerate() {
                if job.cancelled().is_cancelled() {
                    return Err(JobFailure::Cancelled);
                }
                job.progress(serde_json::json!({"generation": generation, "done": i, "of": total}));
                let Some(doc) = store::documents::find_any(ctx.db(), org, id)
                    .await
                    .map_err(Error::from)?
                else {
                    continue;
                };
                let texts = chunks_of(ctx, org, &kb, id, &doc.filename).await?;
                let vecs = embed_all(ctx, org, &model, &texts, &job, None).await?;
                let chunks = to_chunks(org, &doc, &texts, vecs);
                counts.insert(id, u32::try_from(chunks.len()).unwrap_or(u32::MAX));
                vectors
                    .delete_document(&target, org.0, id.0)
                    .await
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                vectors
                    .add(&target, chunks)
                    .await
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
            }
        }
        let now = Utc::now();
        let txn = db::begin_write(ctx.db()).await.map_err(Error::from)?;
        if !store::knowledge_bases::switch_generation(
            &txn,
            org,
            kb_id,
            live,
            generation,
            index_embedding(&model),
            now,
        )
        .await
        .map_err(Error::from)?
        {
            return Ok(());
        }
        // Settings changed while this ran (their own reindex, queued for this same generation,
        // will find it built): one more pass with the new ones.
        let again = store::knowledge_bases::find(&txn, org, kb_id)
            .await
            .map_err(Error::from)?
            .is_some_and(|now| {
                model_of(&now) != model
                    || now.chunk_size != kb.chunk_size
                    || now.chunk_overlap != kb.chunk_overlap
            });
        if again {
            enqueue(&txn, org, kb_id, generation.saturating_add(1))
                .await
                .map_err(JobFailure::from)?;
        }
        for (id, n) in &counts {
            store::documents::set_state(
                &txn,
                org,
                *id,
                StateChange {
                    chunk_count: Some(*n),
                    indexed_at: Some(now),
                    ..Default::default()
                },
                now,
            )
            .await
            .map_err(Error::from)?;
        }
        txn.commit().await.map_err(Error::from)?;
        if again {
            jobs::wake(ctx);
        }
        // Searches that read the old generation just before the switch finish first.
        tokio::select! {
            () = tokio::time::sleep(DROP_GRACE) => {}
            () = job.cancelled().cancelled() => {}
        }
        vectors
            .drop_table(&table(kb_id, live))
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        Ok(())
    }
}
