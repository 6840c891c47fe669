//! Ingestion, as jobs (`services::jobs`): `knowledge.ingest` reads a stored document, cuts it
//! into chunks by its structure (headings, paragraphs, table rows; `aerie-extract`), embeds
//! them in batches and writes them to the knowledge base's live vector table;
//! `knowledge.document.delete` removes a deleted document's chunks, file and row.
//!
//! Both are idempotent, so a job taken again after its runner died (`kill -9`, its lease
//! expired) completes the work exactly once: ingestion first removes whatever chunks of the
//! document an earlier attempt wrote, then writes them all in one LanceDB commit.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::jobs::files_dir;
use crate::db::entities::{documents, knowledge_bases};
use crate::services::embeddings::{self, EmbeddingModel};
use crate::services::jobs::{JobFailure, JobHandler, JobRun};
use crate::store::documents::StateChange;
use crate::{AppContext, Error, store};
use aerie_contract::DocumentStatus;
use aerie_contract::ids::{DocumentId, KbId, OrgId, ProviderId};

/// `jobs.kind` of ingestion.
pub const INGEST_KIND: &str = "knowledge.ingest";
/// `jobs.kind` of a document's removal.
pub const DOCUMENT_DELETE_KIND: &str = "knowledge.document.delete";

/// Chunks embedded per call (the built-in model's batch; a provider's requests).
const EMBED_BATCH: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Payload {
    pub document_id: DocumentId,
}

/// The LanceDB table of a knowledge base's index generation.
pub fn table(kb: KbId, generation: i32) -> String {
    format!("kb_{}_{}", kb.0.simple(), generation)
}

/// The prefix of every table of a knowledge base (its deletion drops them all).
pub fn table_prefix(kb: KbId) -> String {
    format!("kb_{}_", kb.0.simple())
}

/// How `knowledge_bases.index_embedding` spells a model.
#[derive(Debug, Serialize, Deserialize)]
struct IndexModel {
    provider_id: Option<uuid::Uuid>,
    model: String,
}

/// The model as `knowledge_bases.index_embedding` stores it.
pub(super) fn index_embedding(model: &EmbeddingModel) -> serde_json::Value {
    let (provider_id, model) = match model {
        EmbeddingModel::Local => (None, String::new()),
        EmbeddingModel::Provider { id, model } => (Some(id.0), model.clone()),
    };
    serde_json::to_value(IndexModel { provider_id, model }).unwrap_or_default()
}

/// The model the live index generation was built with: the settings' model, unless a reindex
/// to another one is under way (searches and ingestion into the live table use this one).
pub fn live_model_of(kb: &knowledge_bases::Model) -> EmbeddingModel {
    let recorded = kb
        .index_embedding
        .as_ref()
        .and_then(|v| serde_json::from_value::<IndexModel>(v.clone()).ok());
    match recorded {
        None => model_of(kb),
        Some(IndexModel {
            provider_id: None, ..
        }) => EmbeddingModel::Local,
        Some(IndexModel {
            provider_id: Some(id),
            model,
        }) => EmbeddingModel::Provider {
            id: ProviderId(id),
            model,
        },
    }
}

/// The chunks of document `doc` (of `org`) with their vectors, numbered in order.
pub(super) fn to_chunks(
    org: OrgId,
    doc: &documents::Model,
    texts: &[String],
    vectors: Vec<Vec<f32>>,
) -> Vec<aerie_vectors::Chunk> {
    texts
        .iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, (text, vector))| aerie_vectors::Chunk {
            org: org.0,
            document: doc.id,
            category: doc.category_id,
            index: u32::try_from(i).unwrap_or(u32::MAX),
            text: text.clone(),
            vector,
        })
        .collect()
}

/// The model a knowledge base's settings name.
pub fn model_of(kb: &knowledge_bases::Model) -> EmbeddingModel {
    match kb.embedding_provider_id {
        None => EmbeddingModel::Local,
        Some(id) => EmbeddingModel::Provider {
            id: ProviderId(id),
            model: kb.embedding_model.clone(),
        },
    }
}

fn fail(e: Error) -> JobFailure {
    JobFailure::from(e)
}

async fn set(
    db: &sea_orm::DatabaseConnection,
    org: OrgId,
    id: DocumentId,
    change: StateChange,
) -> Result<bool, JobFailure> {
    store::documents::set_state(db, org, id, change, Utc::now())
        .await
        .map_err(|e| fail(e.into()))
}

/// The chunks of a stored document, read and cut off the async threads.
pub(super) async fn chunks_of(
    ctx: &AppContext,
    org: OrgId,
    kb: &knowledge_bases::Model,
    document: DocumentId,
    filename: &str,
) -> Result<Vec<String>, JobFailure> {
    let path = files_dir(ctx, org, KbId(kb.id)).join(document.0.to_string());
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(JobFailure::Fatal(
                "The uploaded file is missing from the data folder.".to_owned(),
            ));
        }
        Err(e) => return Err(JobFailure::Retry(format!("reading the upload: {e}"))),
    };
    let (size, overlap) = (
        usize::try_from(kb.chunk_size).unwrap_or(800),
        usize::try_from(kb.chunk_overlap).unwrap_or(0),
    );
    let name = filename.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        aerie_extract::read(&bytes, &name).map(|(_, blocks)| {
            aerie_extract::chunk(&blocks, size, overlap)
                .into_iter()
                .map(|c| c.text)
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|e| JobFailure::Retry(format!("reading the document: {e}")))?;
    read.map_err(|e| fail(super::documents::unreadable(filename, &e)))
}

/// Progress of embedding, 10 → 90 %, once the document is read.
const EMBEDDING_PROGRESS: (u8, u8) = (10, 90);

/// Embeds `texts` with `model` in batches; with `document`, its progress follows.
pub(super) async fn embed_all(
    ctx: &AppContext,
    org: OrgId,
    model: &EmbeddingModel,
    texts: &[String],
    job: &JobRun,
    document: Option<DocumentId>,
) -> Result<Vec<Vec<f32>>, JobFailure> {
    let (from, to) = EMBEDDING_PROGRESS;
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(EMBED_BATCH) {
        if job.cancelled().is_cancelled() {
            return Err(JobFailure::Cancelled);
        }
        let got = embeddings::embed(ctx, org, model, batch.to_vec())
            .await
            .map_err(|e| match e {
                // A model that cannot load (files missing) fails now, with the fix in its text.
                Error::Detailed { detail, .. } => JobFailure::Retry(detail),
                other => fail(other),
            })?;
        if got.len() != batch.len() {
            return Err(JobFailure::Retry(format!(
                "the embedding model answered {} vectors for {} texts",
                got.len(),
                batch.len()
            )));
        }
        vectors.extend(got);
        if let Some(id) = document {
            let done = vectors.len() * usize::from(to.saturating_sub(from)) / texts.len().max(1);
            let p = from.saturating_add(u8::try_from(done).unwrap_or(0));
            job.progress(serde_json::json!({"document_id": id, "progress": p}));
            store::documents::set_state(
                ctx.db(),
                org,
                id,
                StateChange {
                    progress: Some(p),
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
            .map_err(Error::from)?;
        }
    }
    Ok(vectors)
}

/// Runs `knowledge.ingest` jobs.
pub struct IngestJob {
    ctx: AppContext,
}

impl IngestJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }

    async fn ingest(&self, job: &JobRun, org: OrgId, id: DocumentId) -> Result<(), JobFailure> {
        let ctx = &self.ctx;
        let db = ctx.db();
        let Some(doc) = store::documents::find_any(db, org, id)
            .await
            .map_err(Error::from)?
        else {
            return Ok(());
        };
        if doc.deleted_at.is_some() {
            return Ok(());
        }
        let kb_id = KbId(doc.kb_id);
        let Some(kb) = store::knowledge_bases::find(db, org, kb_id)
            .await
            .map_err(Error::from)?
        else {
            // Its knowledge base is being deleted: that job removes the document.
            return Ok(());
        };
        set(
            db,
            org,
            id,
            StateChange {
                status: Some(DocumentStatus::Processing),
                progress: Some(5),
                error: Some(None),
                job: Some(job.id),
                ..Default::default()
            },
        )
        .await?;

        let texts = chunks_of(ctx, org, &kb, id, &doc.filename).await?;
        set(
            db,
            org,
            id,
            StateChange {
                progress: Some(EMBEDDING_PROGRESS.0),
                ..Default::default()
            },
        )
        .await?;
        // Embedded with the live generation's model, which a reindex to another model keeps
        // until it switches.
        let mut model = live_model_of(&kb);
        let vectors = embed_all(ctx, org, &model, &texts, job, Some(id)).await?;
        let mut chunks = to_chunks(org, &doc, &texts, vectors);
        let count = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let vectors = ctx.vectors().await.map_err(fail)?;
        // The generation may switch while we write (a reindex completing): write again into the
        // live one until it holds still, embedding again if the new one has another model.
        let mut generation = kb.index_generation;
        for _ in 0..3 {
            let t = table(kb_id, generation);
            vectors
                .delete_document(&t, org.0, id.0)
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
            vectors
                .add(&t, chunks.clone())
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
            match store::knowledge_bases::find(db, org, kb_id)
                .await
                .map_err(Error::from)?
            {
                Some(now) if now.index_generation != generation => {
                    generation = now.index_generation;
                    if live_model_of(&now) != model {
                        model = live_model_of(&now);
                        let again = embed_all(ctx, org, &model, &texts, job, Some(id)).await?;
                        chunks = to_chunks(org, &doc, &texts, again);
                    }
                }
                _ => break,
            }
        }
        set(
            db,
            org,
            id,
            StateChange {
                status: Some(DocumentStatus::Ready),
                progress: Some(100),
                error: Some(None),
                chunk_count: Some(count),
                indexed_at: Some(Utc::now()),
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl JobHandler for IngestJob {
    fn kind(&self) -> &'static str {
        INGEST_KIND
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        let (Payload { document_id }, org) = job.org_payload()?;
        let result = self.ingest(&job, org, document_id).await;
        let gives_up = match &result {
            Err(JobFailure::Fatal(_)) => true,
            Err(JobFailure::Retry(_)) => job.attempt >= job.max_attempts,
            _ => false,
        };
        if gives_up && let Err(JobFailure::Fatal(why) | JobFailure::Retry(why)) = &result {
            tracing::warn!(document = %document_id, reason = %why, "document ingestion failed");
            store::documents::set_state(
                self.ctx.db(),
                org,
                document_id,
                StateChange {
                    status: Some(DocumentStatus::Failed),
                    error: Some(Some(why.clone())),
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        }
        result
    }
}

/// Runs `knowledge.document.delete` jobs.
pub struct DocumentDeleteJob {
    ctx: AppContext,
}

impl DocumentDeleteJob {
    pub fn new(ctx: AppContext) -> Arc<Self> {
        Arc::new(Self { ctx })
    }
}

#[async_trait::async_trait]
impl JobHandler for DocumentDeleteJob {
    fn kind(&self) -> &'static str {
        DOCUMENT_DELETE_KIND
    }

    async fn run(&self, job: JobRun) -> Result<(), JobFailure> {
        let (Payload { document_id }, org) = job.org_payload()?;
        let ctx = &self.ctx;
        let Some(doc) = store::documents::find_any(ctx.db(), org, document_id)
            .await
            .map_err(Error::from)?
        else {
            return Ok(());
        };
        if doc.deleted_at.is_none() {
            return Err(JobFailure::Fatal(
                "the document is not deleted; nothing was removed".to_owned(),
            ));
        }
        let kb = KbId(doc.kb_id);
        let vectors = ctx.vectors().await.map_err(fail)?;
        let prefix = table_prefix(kb);
        for t in vectors
            .tables()
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?
            .into_iter()
            .filter(|t| t.starts_with(&prefix))
        {
            vectors
                .delete_document(&t, org.0, document_id.0)
                .await
                .map_err(|e| JobFailure::Retry(e.to_string()))?;
        }
        match tokio::fs::remove_file(files_dir(ctx, org, kb).join(document_id.0.to_string())).await
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobFailure::Retry(format!("removing the file: {e}"))),
        }
        store::documents::delete(ctx.db(), org, document_id)
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}
