//! The built-in model's vectors match the reference model's: cosine ≥ 0.99 against vectors
//! computed once with Python sentence-transformers (`bench/embeddings/reference.py`, committed
//! as `tests/fixtures/minilm-reference.json`), batched and one at a time.

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

use std::path::PathBuf;

use aerie_embed::{Embedder, cosine};

fn model_dir() -> PathBuf {
    std::env::var_os("AERIE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/aerie/models/all-MiniLM-L6-v2"))
        })
        .expect("HOME or AERIE_EMBEDDING_MODEL_DIR")
}

#[test]
fn vectors_match_sentence_transformers() {
    let dir = model_dir();
    let model = Embedder::load(&dir).unwrap_or_else(|e| {
        panic!("{e}\n(scripts/test fetches the model: source scripts/lib.sh; embedding_model)")
    });
    assert_eq!(model.dimensions(), 384);
    assert_eq!(model.max_tokens(), 256);
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/minilm-reference.json")).expect("fixture");
    let texts: Vec<String> = serde_json::from_value(fixture["texts"].clone()).expect("texts");
    let expected: Vec<Vec<f32>> =
        serde_json::from_value(fixture["vectors"].clone()).expect("vectors");
    let batched = model.embed(&texts).expect("embed");
    assert_eq!(batched.len(), texts.len());
    for (i, (got, want)) in batched.iter().zip(&expected).enumerate() {
        let c = cosine(got, want);
        assert!(c >= 0.99, "text {i} ({:?}): cosine {c}", texts[i]);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "text {i}: norm {norm}");
    }
    // One at a time gives the same vectors (padding changes nothing).
    for (i, text) in texts.iter().enumerate() {
        let alone = model.embed(&[text]).expect("embed");
        let c = cosine(&alone[0], &batched[i]);
        assert!(c >= 0.9999, "text {i}: alone vs batched cosine {c}");
    }
}
