//! A BERT encoder for sentence embeddings on the CPU, over *packed* texts: the tokens of a
//! batch's texts lie end to end (no padding), every per-token step (embeddings, linear layers,
//! layer norms, GELU) runs once over all of them, and only attention looks at one text at a
//! time. The weights are BERT's (`embeddings.*`, `encoder.layer.N.*`, optionally under
//! `bert.`), read with candle from `model.safetensors`; the arithmetic is matrix products by
//! `gemm` (the library candle itself multiplies with) and the vectorised loops of
//! `fastmath.rs`, on the calling thread.
//!
//! Why not candle-transformers' `BertModel`: it pads every text to the batch's longest, builds
//! attention from a chain of tensor operations (transposes, a broadcast mask, a four-pass
//! softmax, scalar `erf`), each a fresh buffer the size of the batch, and runs its matrix
//! products on a thread pool of its own that fought with our one worker per core. Profiled on
//! 2 cores it spent more time outside the matrix products than in them; this encoder spends
//! most of its time in them (bench/README.md has the figures).

use candle_core::{Result, Tensor, bail};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::fastmath;

/// What this encoder reads of a BERT `config.json` (Hugging Face's names).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Config {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) hidden_act: String,
    pub(crate) max_position_embeddings: usize,
    pub(crate) type_vocab_size: usize,
    pub(crate) layer_norm_eps: f64,
}

/// `y = x Wᵀ + b` for `x` of `(rows, inputs)`: `weight` is `(outputs, inputs)` row-major.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

struct Layer {
    /// Query, key and value in one: `(3·hidden, hidden)`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

pub(crate) struct Bert {
    /// `(vocabulary, hidden)`.
    words: Vec<f32>,
    /// `(max positions, hidden)`.
    positions: Vec<f32>,
    /// Row 0 of the token-type embeddings (every token of a single sentence is type 0).
    token_type: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

fn values(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

impl Linear {
    fn load(vb: VarBuilder<'_>, inputs: usize, outputs: usize) -> Result<Self> {
        Ok(Self {
            weight: values(&vb.get((outputs, inputs), "weight")?)?,
            bias: values(&vb.get(outputs, "bias")?)?,
            inputs,
            outputs,
        })
    }

    /// Rows of `x` times the weights, plus the bias.
    #[expect(unsafe_code, reason = "gemm takes raw pointers and strides")]
    fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        let rows = x.len() / self.inputs.max(1);
        if x.len() != rows * self.inputs
            || self.weight.len() != self.outputs * self.inputs
            || self.bias.len() != self.outputs
        {
            bail!(
                "a linear layer got {} values for {} inputs",
                x.len(),
                self.inputs
            );
        }
        let mut y = Vec::with_capacity(rows * self.outputs);
        for _ in 0..rows {
            y.extend_from_slice(&self.bias);
        }
        if rows > 0 {
            // SAFETY: `y` holds `rows × outputs`, `x` `rows × inputs` and the weights
            // `outputs × inputs` values (checked above), each read or written with the strides
            // of its row-major shape; `y` is the only one written and aliases neither.
            unsafe {
                gemm::gemm(
                    rows,
                    self.outputs,
                    self.inputs,
                    y.as_mut_ptr(),
                    1,
                    self.outputs as isize,
                    true,
                    x.as_ptr(),
                    1,
                    self.inputs as isize,
                    self.weight.as_ptr(),
                    self.inputs as isize,
                    1,
                    1.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        Ok(y)
    }
}

impl Norm {
    fn load(vb: VarBuilder<'_>, size: usize, eps: f64) -> Result<Self> {
        // Old checkpoints name them gamma and beta.
        let pick = |a: &str, b: &str| {
            if vb.contains_tensor(a) {
                a.to_owned()
            } else {
                b.to_owned()
            }
        };
        Ok(Self {
            gamma: values(&vb.get(size, &pick("weight", "gamma"))?)?,
            beta: values(&vb.get(size, &pick("bias", "beta"))?)?,
            eps: eps as f32,
        })
    }

    /// `x = LayerNorm(x + residual)`, row by row.
    fn add_and_normalise(&self, x: &mut [f32], residual: &[f32]) {
        let width = self.gamma.len().max(1);
        for (row, res) in x.chunks_exact_mut(width).zip(residual.chunks_exact(width)) {
            for (v, r) in row.iter_mut().zip(res) {
                *v += r;
            }
            self.normalise_row(row);
        }
    }

    fn normalise_row(&self, row: &mut [f32]) {
        let n = row.len().max(1) as f32;
        let mean = row.iter().sum::<f32>() / n;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (variance + self.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

impl Layer {
    fn load(vb: VarBuilder<'_>, config: &Config) -> Result<Self> {
        let (h, inner) = (config.hidden_size, config.intermediate_size);
        let attention = vb.pp("attention");
        let [q, k, v] =
            ["query", "key", "value"].map(|name| Linear::load(attention.pp("self").pp(name), h, h));
        let (q, k, v) = (q?, k?, v?);
        let eps = config.layer_norm_eps;
        Ok(Self {
            qkv: Linear {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
                inputs: h,
                outputs: 3 * h,
            },
            attention_out: Linear::load(attention.pp("output").pp("dense"), h, h)?,
            attention_norm: Norm::load(attention.pp("output").pp("LayerNorm"), h, eps)?,
            up: Linear::load(vb.pp("intermediate").pp("dense"), h, inner)?,
            down: Linear::load(vb.pp("output").pp("dense"), inner, h)?,
            output_norm: Norm::load(vb.pp("output").pp("LayerNorm"), h, eps)?,
        })
    }
}

impl Bert {
    pub(crate) fn load(vb: VarBuilder<'_>, config: &Config) -> Result<Self> {
        if config.hidden_act != "gelu" {
            bail!("hidden_act must be \"gelu\" (BERT's exact GELU)");
        }
        let h = config.hidden_size;
        if config.num_attention_heads == 0 || !h.is_multiple_of(config.num_attention_heads) {
            bail!("hidden_size must be a multiple of num_attention_heads");
        }
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let emb = vb.pp("embeddings");
        let types = values(
            &emb.pp("token_type_embeddings")
                .get((config.type_vocab_size, h), "weight")?,
        )?;
        Ok(Self {
            words: values(
                &emb.pp("word_embeddings")
                    .get((config.vocab_size, h), "weight")?,
            )?,
            positions: values(
                &emb.pp("position_embeddings")
                    .get((config.max_position_embeddings, h), "weight")?,
            )?,
            token_type: types.get(..h).map(<[f32]>::to_vec).unwrap_or_default(),
            norm: Norm::load(emb.pp("LayerNorm"), h, config.layer_norm_eps)?,
            layers: (0..config.num_hidden_layers)
                .map(|i| Layer::load(vb.pp("encoder").pp("layer").pp(i), config))
                .collect::<Result<_>>()?,
            heads: config.num_attention_heads,
            hidden: h,
        })
    }

    /// The last hidden state of every token, `(Σ lengths, hidden)` row-major: `ids` holds the
    /// texts' token ids end to end, `lengths` how many belong to each text.
    pub(crate) fn forward(&self, ids: &[u32], lengths: &[usize]) -> Result<Vec<f32>> {
        let h = self.hidden;
        if lengths.iter().sum::<usize>() != ids.len() {
            bail!("the lengths do not add up to the tokens");
        }
        let mut x = Vec::with_capacity(ids.len() * h);
        let mut tokens = ids.iter();
        for &n in lengths {
            for (position, &id) in tokens.by_ref().take(n).enumerate() {
                let id = id as usize;
                let (Some(word), Some(pos)) = (
                    self.words.get(id * h..(id + 1) * h),
                    self.positions.get(position * h..(position + 1) * h),
                ) else {
                    bail!("token {id} at position {position} is outside the model's tables");
                };
                let start = x.len();
                x.extend(
                    word.iter()
                        .zip(pos)
                        .zip(&self.token_type)
                        .map(|((w, p), t)| w + p + t),
                );
                if let Some(row) = x.get_mut(start..) {
                    self.norm.normalise_row(row);
                }
            }
        }
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?;
            let context = attention(&qkv, lengths, self.heads, h)?;
            let mut attended = layer.attention_out.forward(&context)?;
            layer.attention_norm.add_and_normalise(&mut attended, &x);
            let mut inner = layer.up.forward(&attended)?;
            fastmath::gelu(&mut inner);
            x = layer.down.forward(&inner)?;
            layer.output_norm.add_and_normalise(&mut x, &attended);
        }
        Ok(x)
    }
}

/// Multi-head self-attention over packed texts: `qkv` is the `(tokens, 3·hidden)` output of
/// the fused query-key-value layer; the result is `(tokens, hidden)`, each token attending
/// only to the tokens of its own text.
fn attention(qkv: &[f32], lengths: &[usize], heads: usize, hidden: usize) -> Result<Vec<f32>> {
    let rows: usize = lengths.iter().sum();
    let width = 3 * hidden;
    // What keeps every access of `scores_of` and `weigh_values` inside its buffer.
    if heads == 0 || !hidden.is_multiple_of(heads) || qkv.len() != rows * width {
        bail!(
            "attention input of {} values does not match the model",
            qkv.len()
        );
    }
    let d = hidden / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = vec![0.0f32; rows * hidden];
    let mut scores = Vec::new();
    let mut first = 0;
    for &n in lengths {
        scores.clear();
        scores.resize(n * n, 0.0f32);
        for head in 0..heads {
            let q = first * width + head * d;
            scores_of(&mut scores, qkv, q, q + hidden, n, d, width, scale);
            fastmath::softmax_rows(&mut scores, n);
            let o = first * hidden + head * d;
            weigh_values(
                &mut out,
                o,
                hidden,
                &scores,
                qkv,
                q + 2 * hidden,
                n,
                d,
                width,
            );
        }
        first += n;
    }
    Ok(out)
}

/// `scores (n×n) = scale · Q Kᵀ`, with Q's row i at `qkv[q + i·width ..][..d]` and K's row j
/// at `qkv[k + j·width ..][..d]`. Does nothing unless every access is in bounds.
#[expect(clippy::too_many_arguments, reason = "one matrix product, spelt out")]
#[expect(unsafe_code, reason = "gemm takes raw pointers and strides")]
fn scores_of(
    scores: &mut [f32],
    qkv: &[f32],
    q: usize,
    k: usize,
    n: usize,
    d: usize,
    width: usize,
    scale: f32,
) {
    let end = |start: usize| start + n.saturating_sub(1) * width + d;
    if n == 0 || scores.len() < n * n || end(q) > qkv.len() || end(k) > qkv.len() {
        return;
    }
    let w = width as isize;
    // SAFETY: the furthest values read are at `end(q) - 1` and `end(k) - 1`, inside `qkv`
    // (checked above); the `n × n` written fit in `scores`, which aliases nothing read.
    unsafe {
        gemm::gemm(
            n,
            n,
            d,
            scores.as_mut_ptr(),
            1,
            n as isize,
            false,
            qkv.as_ptr().add(q),
            1,
            w,
            qkv.as_ptr().add(k),
            w,
            1,
            0.0f32,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `out[o + i·hidden ..][..d] = Σ_j P[i][j] · V[j]` for the `n` rows of one text and head,
/// with V's row j at `qkv[v + j·width ..][..d]`. Does nothing unless every access is in bounds.
#[expect(clippy::too_many_arguments, reason = "one matrix product, spelt out")]
#[expect(unsafe_code, reason = "gemm takes raw pointers and strides")]
fn weigh_values(
    out: &mut [f32],
    o: usize,
    hidden: usize,
    probabilities: &[f32],
    qkv: &[f32],
    v: usize,
    n: usize,
    d: usize,
    width: usize,
) {
    if n == 0
        || probabilities.len() < n * n
        || v + (n - 1) * width + d > qkv.len()
        || o + (n - 1) * hidden + d > out.len()
    {
        return;
    }
    // SAFETY: the furthest values touched are inside `qkv` and `out` (checked above); `out` is
    // only written, the others only read, and they do not alias.
    unsafe {
        gemm::gemm(
            n,
            d,
            n,
            out.as_mut_ptr().add(o),
            1,
            hidden as isize,
            false,
            probabilities.as_ptr(),
            1,
            n as isize,
            qkv.as_ptr().add(v),
            1,
            width as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
