//! Retrieval quality and latency on the Cranfield collection (1,400 aeronautics abstracts, 225
//! queries with graded judgements): every document (title + body) embedded by the built-in model
//! (`aerie-embed`) and stored by `aerie-vectors` in a LanceDB folder, then each query run
//! vector-only, BM25-only and hybrid (reciprocal rank fusion) in one run. Prints nDCG@10 (gain
//! = 5 − position, unjudged documents 0) and recall@10 (judged documents found in the top 10)
//! averaged over all queries, and search latency percentiles. Nothing is tuned to these queries:
//! the product's settings are used as they are.
//!
//! `cargo run --release -p aerie-bench --features retrieval --bin retrieval-cranfield -- <folder>`
//! where `<folder>` holds `cran_docs.json`, `cran_queries.json` and `cran_qrels.json`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aerie_vectors::{Chunk, Mode, Search, Store};
use uuid::Uuid;

type Failure = Box<dyn std::error::Error>;

fn read(dir: &Path, name: &str) -> Result<serde_json::Value, Failure> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        dir.join(name),
    )?)?)
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: retrieval-cranfield <folder>")?,
    );
    let docs = read(&dir, "cran_docs.json")?;
    let queries = read(&dir, "cran_queries.json")?;
    let qrels = read(&dir, "cran_qrels.json")?;
    let docs = docs.as_array().ok_or("cran_docs.json: not an array")?;
    let queries = queries
        .as_array()
        .ok_or("cran_queries.json: not an array")?;

    // Judgements: query → document id → gain (5 − position).
    let mut judged: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for q in qrels.as_array().ok_or("cran_qrels.json: not an array")? {
        let position = q["position"].as_i64().unwrap_or(0);
        if (1..=4).contains(&position) {
            judged
                .entry(text(&q["query_num"]))
                .or_default()
                .insert(text(&q["id"]), (5 - position) as f64);
        }
    }

    let model_dir = std::env::var_os("AERIE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/aerie/models/all-MiniLM-L6-v2"))
        })
        .ok_or("set AERIE_EMBEDDING_MODEL_DIR")?;
    let model = aerie_embed::Embedder::load(&model_dir)?;

    let doc_texts: Vec<String> = docs
        .iter()
        .map(|d| format!("{} {}", text(&d["title"]), text(&d["body"])))
        .collect();
    let doc_ids: Vec<String> = docs.iter().map(|d| text(&d["id"])).collect();
    let started = Instant::now();
    let vectors = model.embed(&doc_texts)?;
    let embed_took = started.elapsed();

    let org = Uuid::now_v7();
    let mut uuid_of: HashMap<Uuid, String> = HashMap::new();
    let chunks: Vec<Chunk> = doc_ids
        .iter()
        .zip(doc_texts)
        .zip(vectors)
        .map(|((id, text), vector)| {
            let document = Uuid::now_v7();
            uuid_of.insert(document, id.clone());
            Chunk {
                org,
                document,
                category: None,
                index: 0,
                text,
                vector,
            }
        })
        .collect();
    let folder = std::env::temp_dir().join(format!("aerie-cranfield-{}", std::process::id()));
    let store = Store::open(folder.to_str().ok_or("temporary folder is not UTF-8")?).await?;
    let started = Instant::now();
    store.add("cranfield", chunks).await?;
    let index_took = started.elapsed();

    let query_texts: Vec<(String, String)> = queries
        .iter()
        .map(|q| (text(&q["query number"]), text(&q["query"])))
        .collect();
    let query_vectors = model.embed(
        &query_texts
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>(),
    )?;

    println!(
        "Cranfield: {} documents embedded in {:.1} s ({:.0} docs/s, candle, {} threads), stored and BM25-indexed in {:.1} s; {} queries, {} with judgements",
        doc_ids.len(),
        embed_took.as_secs_f64(),
        doc_ids.len() as f64 / embed_took.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, usize::from),
        index_took.as_secs_f64(),
        query_texts.len(),
        judged.len(),
    );
    println!(
        "gain = 5 - position; averages over all {} queries",
        query_texts.len()
    );
    for (mode, name) in [
        (Mode::Vector, "vector (all-MiniLM-L6-v2, cosine)"),
        (
            Mode::FullText,
            "BM25 (LanceDB, English stemming and stop words)",
        ),
        (Mode::Hybrid, "hybrid (reciprocal rank fusion, k = 60)"),
    ] {
        let (mut ndcg, mut recall) = (0.0, 0.0);
        let mut latencies = Vec::with_capacity(query_texts.len());
        for ((number, query), vector) in query_texts.iter().zip(&query_vectors) {
            let started = Instant::now();
            let hits = store
                .search(
                    "cranfield",
                    &Search {
                        org,
                        vector,
                        text: query,
                        limit: 10,
                        category: None,
                        documents: None,
                    },
                    mode,
                )
                .await?;
            latencies.push(started.elapsed());
            let gains = judged.get(number).cloned().unwrap_or_default();
            let found: Vec<&String> = hits
                .iter()
                .filter_map(|h| uuid_of.get(&h.document))
                .collect();
            let dcg: f64 = found
                .iter()
                .enumerate()
                .map(|(i, id)| gains.get(*id).copied().unwrap_or(0.0) / ((i + 2) as f64).log2())
                .sum();
            let mut ideal: Vec<f64> = gains.values().copied().collect();
            ideal.sort_by(|a, b| b.total_cmp(a));
            let idcg: f64 = ideal
                .iter()
                .take(10)
                .enumerate()
                .map(|(i, g)| g / ((i + 2) as f64).log2())
                .sum();
            if idcg > 0.0 {
                ndcg += dcg / idcg;
                recall += found.iter().filter(|id| gains.contains_key(**id)).count() as f64
                    / gains.len() as f64;
            }
        }
        latencies.sort();
        let n = query_texts.len() as f64;
        println!(
            "{name:<52} nDCG@10 {:.3}  recall@10 {:.3}  latency p50 {:.1} ms  p99 {:.1} ms",
            ndcg / n,
            recall / n,
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
    }
    let _ = std::fs::remove_dir_all(folder);
    Ok(())
}
