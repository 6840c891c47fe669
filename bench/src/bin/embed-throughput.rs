//! Throughput of the built-in embedding model (crate `aerie-embed`, candle on the CPU): texts
//! per second over a corpus, in batches of `aerie_embed::BATCH`, as ingestion embeds chunks.
//! `bench/embeddings/throughput.py` measures Python sentence-transformers on the same texts
//! and batch size, for comparison (bench/README.md).
//!
//! `cargo run --release -p aerie-bench --features embed --bin embed-throughput -- <docs.json> [N]`
//! where `docs.json` is a JSON array of objects with `title` and `body` (the Cranfield
//! collection's `cran_docs.json`); N texts (default 1000).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let docs = args
        .next()
        .ok_or("usage: embed-throughput <docs.json> [N]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let corpus: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(docs)?)?;
    let texts: Vec<String> = corpus
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["title"].as_str().unwrap_or_default(),
                d["body"].as_str().unwrap_or_default()
            )
        })
        .cycle()
        .take(n)
        .collect();
    let dir = std::env::var_os("AERIE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/aerie/models/all-MiniLM-L6-v2"))
        })
        .ok_or("set AERIE_EMBEDDING_MODEL_DIR")?;
    let started = Instant::now();
    let model = aerie_embed::Embedder::load(&dir)?;
    let load = started.elapsed();
    // Warm-up: the first batch pays for page faults of the memory-mapped weights.
    model.embed(&texts[..aerie_embed::BATCH.min(texts.len())])?;
    let started = Instant::now();
    let vectors = model.embed(&texts)?;
    let took = started.elapsed();
    println!(
        "candle all-MiniLM-L6-v2: {} texts (≤{} tokens each), batch {}, {} threads: {:.1} texts/s ({:.2} s; model load {:.2} s, {} dims)",
        vectors.len(),
        model.max_tokens(),
        aerie_embed::BATCH,
        std::thread::available_parallelism().map_or(1, usize::from),
        vectors.len() as f64 / took.as_secs_f64(),
        took.as_secs_f64(),
        load.as_secs_f64(),
        model.dimensions(),
    );
    Ok(())
}
