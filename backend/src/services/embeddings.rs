//! Embeddings for knowledge bases: the built-in model (all-MiniLM-L6-v2 in-process, crate
//! `aerie-embed`) or an organisation's OpenAI-compatible provider (`POST {base}/embeddings`,
//! through the SSRF guard like every provider call).
//!
//! The built-in model loads on first use, not at start-up, so an instance that never embeds
//! keeps its idle memory; its files come from `embedding_model_dir` and are never downloaded.
//! Embedding is CPU-bound: it runs on the blocking pool, one call at a time (each call already
//! uses every core), in batches of `aerie_embed::BATCH`.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{OnceCell, Semaphore};

use super::chat::engine::estimate_tokens;
use super::{billing, providers, usage};
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{OrgId, ProviderId};
use aerie_contract::{CallEndpoint, CallStatus, ErrorCode};
use aerie_embed::Embedder;

/// Which model embeds a knowledge base's chunks and queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbeddingModel {
    /// The built-in all-MiniLM-L6-v2.
    Local,
    /// A model of a provider of the organisation.
    Provider { id: ProviderId, model: String },
}

/// The built-in model of this instance, loaded on first use.
pub struct LocalModel {
    model: OnceCell<Arc<Embedder>>,
    /// One embedding at a time: a call uses every core already.
    gate: Semaphore,
}

impl Default for LocalModel {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalModel {
    pub fn new() -> Self {
        Self {
            model: OnceCell::new(),
            gate: Semaphore::new(1),
        }
    }

    /// Whether the model has been loaded (it is not until something is embedded).
    pub fn loaded(&self) -> bool {
        self.model.initialized()
    }

    async fn get(&self, dir: PathBuf) -> Result<Arc<Embedder>> {
        self.model
            .get_or_try_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || Embedder::load(&dir))
                    .await
                    .map_err(|e| Error::Internal(anyhow::anyhow!("loading the model: {e}")))?;
                loaded.map(Arc::new).map_err(|e| {
                    tracing::error!(error = %e, "the built-in embedding model could not be loaded");
                    Error::detailed(
                        ErrorCode::Unavailable,
                        format!(
                            "{e}. Install it with scripts/up (or point AERIE_EMBEDDING_MODEL_DIR at a folder with config.json, tokenizer.json and model.safetensors), or choose a provider's embedding model for this knowledge base."
                        ),
                    )
                })
            })
            .await
            .cloned()
    }
}

/// Unit-length vectors (for the built-in model; a provider's as it answers) of `texts`, in
/// their order.
pub async fn embed(
    ctx: &AppContext,
    org: OrgId,
    model: &EmbeddingModel,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    match model {
        EmbeddingModel::Local => {
            let local = ctx.local_model();
            let embedder = local.get(ctx.config().embedding_model_dir()).await?;
            let _turn = local
                .gate
                .acquire()
                .await
                .map_err(|e| Error::Internal(anyhow::anyhow!("embedding gate: {e}")))?;
            tokio::task::spawn_blocking(move || embedder.embed(&texts))
                .await
                .map_err(|e| Error::Internal(anyhow::anyhow!("embedding: {e}")))?
                .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))
        }
        EmbeddingModel::Provider { id, model } => {
            let provider = providers::resolve(ctx, org, Some(*id)).await?;
            // Each request is a metered model call (docs/BILLING.md): its worst case (every
            // byte a token) is held before it, and it settles to the provider's count, else
            // ours; a request that fails is released.
            let meter = billing::Meter::new(ctx, org, model);
            let mut out = Vec::with_capacity(texts.len());
            for batch in texts.chunks(PROVIDER_BATCH) {
                let worst = batch.iter().map(|t| t.len() as u64 + 1).sum();
                let hold = meter.reserve_tokens(worst, 0).await?;
                let started = std::time::Instant::now();
                let answer = provider.client.embeddings(model, batch).await?;
                let tokens = answer
                    .prompt_tokens
                    .unwrap_or_else(|| batch.iter().map(|t| estimate_tokens(t)).sum());
                let credits = hold.settle(tokens, 0).await;
                usage::record(
                    ctx,
                    usage::Call {
                        org,
                        user: None,
                        api_key: None,
                        agent: None,
                        provider: Some(provider.id),
                        model: model.clone(),
                        endpoint: CallEndpoint::Embeddings,
                        input_tokens: tokens,
                        output_tokens: 0,
                        latency_ms: u64::try_from(started.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                        status: CallStatus::Ok,
                        credits,
                    },
                );
                out.extend(answer.vectors);
            }
            Ok(out)
        }
    }
}

/// Inputs per provider request (OpenAI accepts up to 2048; smaller requests fail faster).
const PROVIDER_BATCH: usize = 256;
