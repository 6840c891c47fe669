//! Search latency of the vector store (`aerie-vectors`) on synthetic knowledge bases: 1,400
//! one-chunk documents and 100,000 chunks (1,400 documents of ~72 chunks), 384-dimensional unit
//! vectors (the built-in model's size) clustered like embeddings, and text of synthetic words so
//! that BM25 has something to rank. Each scale is loaded through `Store::add` in batches, which
//! builds and maintains the vector index as the product does; then the same queries are run in
//! vector, hybrid and BM25 mode, one at a time, and the latency of each `Store::search` (limit
//! 10) is recorded. Beside every vector-mode latency: recall@10 against an exact scan computed
//! here over the same vectors (a hit counts if its exact cosine similarity reaches the tenth
//! best's, so ties are not misses).
//!
//! The data: 200 random unit centroids; a document belongs to one and each of its chunks is its
//! centroid + a random mix of 8 "sub-topic" directions of that centroid + isotropic noise,
//! normalised (cosine ≈ 0.7 to the centroid, so the neighbourhoods are structured but not
//! trivially separated). A query is a fresh sample of a random centroid the same way, with 4
//! words (3 of its topic, 1 common). Everything comes from one seed.
//!
//! `cargo run --release -p aerie-bench --features retrieval --bin search-latency -- [--sizes
//! 1400,100000] [--queries 500] [--batch 2000] [--flat] [--ef N] [--refine N]`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aerie_vectors::{Chunk, IndexSettings, Mode, Search, Store};
use clap::Parser;
use uuid::Uuid;

type Failure = Box<dyn std::error::Error>;

const DIMS: usize = 384;
const CENTROIDS: usize = 200;
const SUBTOPICS: usize = 8;
const SUBTOPIC_WEIGHT: f32 = 0.25;
const NOISE: f32 = 0.03;
const VOCABULARY: usize = 20_000;
const TOPIC_WORDS: usize = 50;
const WORDS_PER_CHUNK: usize = 40;
/// Chunks per document at the larger scales (1,400 documents of ~72 chunks = 100,000).
const CHUNKS_PER_DOCUMENT: usize = 72;
const LIMIT: usize = 10;
const WARM_UP: usize = 20;

#[derive(Parser)]
struct Args {
    /// Chunks per scale: up to 1,400 they are one-chunk documents.
    #[arg(long, value_delimiter = ',', default_value = "1400,100000")]
    sizes: Vec<usize>,
    /// Timed queries per mode (after 20 untimed ones).
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Chunks per `Store::add`.
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    /// No vector index at any size (every vector search an exact scan), for comparison.
    #[arg(long)]
    flat: bool,
    /// Other `IndexSettings::ef` values to run the vector queries with, after the defaults.
    #[arg(long, value_delimiter = ',')]
    ef: Vec<usize>,
    /// Other `IndexSettings::refine_factor` values (each with each `--ef`).
    #[arg(long, value_delimiter = ',')]
    refine: Vec<u32>,
    /// Override `IndexSettings::ef_construction`.
    #[arg(long)]
    ef_construction: Option<u32>,
    #[arg(long, default_value_t = 13)]
    seed: u64,
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f32 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    fn direction(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIMS).map(|_| self.gaussian()).collect();
        normalise(&mut v);
        v
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The synthetic world: centroids with their sub-topics and topic words, and a vocabulary.
struct World {
    centroids: Vec<Vec<f32>>,
    subtopics: Vec<Vec<Vec<f32>>>,
    topic_words: Vec<Vec<usize>>,
    words: Vec<String>,
}

impl World {
    fn new(rng: &mut Rng) -> Self {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "nu", "re", "sa", "ti", "vo", "ze", "bra", "cle", "dri", "fla",
            "gro", "ple", "stu", "tra", "wen", "xor", "yul", "ber", "con", "dis", "mon",
        ];
        let words = (0..VOCABULARY)
            .map(|mut w| {
                let mut word = String::new();
                for _ in 0..3 {
                    word.push_str(SYLLABLES[w % SYLLABLES.len()]);
                    w /= SYLLABLES.len();
                }
                word
            })
            .collect();
        Self {
            centroids: (0..CENTROIDS).map(|_| rng.direction()).collect(),
            subtopics: (0..CENTROIDS)
                .map(|_| (0..SUBTOPICS).map(|_| rng.direction()).collect())
                .collect(),
            topic_words: (0..CENTROIDS)
                .map(|_| (0..TOPIC_WORDS).map(|_| rng.below(VOCABULARY)).collect())
                .collect(),
            words,
        }
    }

    fn vector(&self, rng: &mut Rng, cluster: usize) -> Vec<f32> {
        let mut v = self.centroids[cluster].clone();
        for s in &self.subtopics[cluster] {
            let a = rng.gaussian() * SUBTOPIC_WEIGHT;
            v.iter_mut().zip(s).for_each(|(x, y)| *x += a * y);
        }
        v.iter_mut().for_each(|x| *x += NOISE * rng.gaussian());
        normalise(&mut v);
        v
    }

    /// `topical` words of the cluster's topic (the frequent ones more often), the rest common
    /// words (Zipf-like over the vocabulary).
    fn text(&self, rng: &mut Rng, cluster: usize, topical: usize, common: usize) -> String {
        let mut out: Vec<&str> = Vec::with_capacity(topical + common);
        for _ in 0..topical {
            let i = (rng.unit().powi(2) * TOPIC_WORDS as f64) as usize;
            out.push(&self.words[self.topic_words[cluster][i]]);
        }
        for _ in 0..common {
            let i = (rng.unit().powi(3) * VOCABULARY as f64) as usize;
            out.push(&self.words[i]);
        }
        // Interleave so that the topic words are not all in front.
        for i in (1..out.len()).rev() {
            out.swap(i, rng.below(i + 1));
        }
        out.join(" ")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

struct Query {
    vector: Vec<f32>,
    text: String,
    /// The exact tenth-best cosine similarity.
    tenth: f32,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let mut settings = IndexSettings::default();
    if args.flat {
        settings.threshold = usize::MAX;
    }
    if let Some(e) = args.ef_construction {
        settings.ef_construction = e;
    }
    println!(
        "{} threads; index settings: {settings:?}{}",
        std::thread::available_parallelism().map_or(1, usize::from),
        if args.flat { " (--flat: no index)" } else { "" }
    );
    let mut table: Vec<String> = Vec::new();
    for &size in &args.sizes {
        table.extend(run(&args, &settings, size).await?);
    }
    println!();
    println!("| scale | mode | p50 ms | p95 ms | p99 ms | recall@10 |\n|---|---|---|---|---|---|");
    for row in table {
        println!("{row}");
    }
    Ok(())
}

async fn run(args: &Args, settings: &IndexSettings, size: usize) -> Result<Vec<String>, Failure> {
    let mut rng = Rng(args.seed);
    let world = World::new(&mut rng);
    let org = Uuid::now_v7();
    let per_document = if size <= 1400 { 1 } else { CHUNKS_PER_DOCUMENT };

    // The chunks, and their vectors in one flat array for the exact scan.
    let started = Instant::now();
    let mut vectors: Vec<f32> = Vec::with_capacity(size * DIMS);
    let mut row_of: HashMap<(Uuid, u32), usize> = HashMap::with_capacity(size);
    let mut chunks: Vec<Chunk> = Vec::with_capacity(size);
    let (mut document, mut cluster) = (Uuid::now_v7(), 0);
    for row in 0..size {
        let index = (row % per_document) as u32;
        if index == 0 {
            document = Uuid::now_v7();
            cluster = rng.below(CENTROIDS);
        }
        let vector = world.vector(&mut rng, cluster);
        vectors.extend_from_slice(&vector);
        row_of.insert((document, index), row);
        chunks.push(Chunk {
            org,
            document,
            category: None,
            index,
            text: world.text(&mut rng, cluster, WORDS_PER_CHUNK / 2, WORDS_PER_CHUNK / 2),
            vector,
        });
    }
    let queries: Vec<Query> = (0..WARM_UP + args.queries)
        .map(|_| {
            let cluster = rng.below(CENTROIDS);
            let vector = world.vector(&mut rng, cluster);
            let text = world.text(&mut rng, cluster, 3, 1);
            let mut sims: Vec<f32> = vectors
                .chunks_exact(DIMS)
                .map(|v| dot(&vector, v))
                .collect();
            let k = LIMIT.min(sims.len()) - 1;
            sims.select_nth_unstable_by(k, |a, b| b.total_cmp(a));
            Query {
                vector,
                text,
                tenth: sims[k],
            }
        })
        .collect();
    println!(
        "\n{size} chunks ({} documents): generated with the exact top 10 of {} queries in {:.1} s",
        size.div_ceil(per_document),
        queries.len(),
        started.elapsed().as_secs_f64()
    );

    let folder = std::env::temp_dir().join(format!(
        "aerie-search-latency-{}-{size}",
        std::process::id()
    ));
    let store = Store::open(folder.to_str().ok_or("temporary folder is not UTF-8")?)
        .await?
        .with_index_settings(settings.clone());
    let name = "kb_bench_0";
    let started = Instant::now();
    let (mut last_add, mut slowest_add) = (Duration::ZERO, Duration::ZERO);
    let mut batches = 0;
    let mut rest = chunks;
    while !rest.is_empty() {
        let tail = rest.split_off(args.batch.max(1).min(rest.len()));
        let began = Instant::now();
        store.add(name, rest).await?;
        last_add = began.elapsed();
        slowest_add = slowest_add.max(last_add);
        batches += 1;
        rest = tail;
    }
    let load = started.elapsed();
    let state = store.index_state(name).await?;
    println!(
        "loaded through Store::add in {batches} batches of up to {} chunks: {:.1} s (last add {:.2} s, slowest {:.2} s); vector index: {}",
        args.batch,
        load.as_secs_f64(),
        last_add.as_secs_f64(),
        slowest_add.as_secs_f64(),
        match state {
            Some(s) => format!(
                "{} rows indexed, {} searched beside it, {} segment(s)",
                s.indexed, s.unindexed, s.segments
            ),
            None => "none (exact scan)".to_owned(),
        }
    );

    let scale = if per_document == 1 {
        format!("{size} documents (1 chunk each)")
    } else {
        format!("{size} chunks")
    };
    let truth = Truth {
        vectors: &vectors,
        row_of: &row_of,
        size,
    };
    let mut rows = Vec::new();
    for (mode, label) in [
        (Mode::Vector, "vector"),
        (Mode::Hybrid, "hybrid"),
        (Mode::FullText, "BM25"),
    ] {
        rows.push(measure(&store, name, org, &queries, mode, &truth, &scale, label).await?);
    }
    // Other query settings on the same table, vector mode only.
    let efs = if args.ef.is_empty() {
        vec![settings.ef]
    } else {
        args.ef.clone()
    };
    let refines = if args.refine.is_empty() {
        vec![settings.refine_factor]
    } else {
        args.refine.clone()
    };
    for &ef in &efs {
        for &refine_factor in &refines {
            if (ef, refine_factor) == (settings.ef, settings.refine_factor) {
                continue;
            }
            let other = Store::open(folder.to_str().ok_or("temporary folder is not UTF-8")?)
                .await?
                .with_index_settings(IndexSettings {
                    ef,
                    refine_factor,
                    ..settings.clone()
                });
            let label = format!("vector, ef {ef}, refine {refine_factor}");
            rows.push(
                measure(
                    &other,
                    name,
                    org,
                    &queries,
                    Mode::Vector,
                    &truth,
                    &scale,
                    &label,
                )
                .await?,
            );
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(folder);
    Ok(rows)
}

/// The exact answers' material: every vector, and the row of each (document, position).
struct Truth<'a> {
    vectors: &'a [f32],
    row_of: &'a HashMap<(Uuid, u32), usize>,
    size: usize,
}

/// Runs the queries (the first `WARM_UP` untimed) and prints and returns a table row.
#[allow(clippy::too_many_arguments)]
async fn measure(
    store: &Store,
    name: &str,
    org: Uuid,
    queries: &[Query],
    mode: Mode,
    truth: &Truth<'_>,
    scale: &str,
    label: &str,
) -> Result<String, Failure> {
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found = 0usize;
    let mut first = Duration::ZERO;
    for (i, q) in queries.iter().enumerate() {
        let began = Instant::now();
        let hits = store
            .search(
                name,
                &Search {
                    org,
                    vector: &q.vector,
                    text: &q.text,
                    limit: LIMIT,
                    category: None,
                    documents: None,
                },
                mode,
            )
            .await?;
        let took = began.elapsed();
        if i == 0 {
            first = took;
        }
        if i < WARM_UP {
            continue;
        }
        latencies.push(took);
        if mode == Mode::Vector {
            for h in &hits {
                let row = truth
                    .row_of
                    .get(&(h.document, h.index))
                    .ok_or("a hit that was never added")?;
                let v = &truth.vectors[row * DIMS..(row + 1) * DIMS];
                if dot(&q.vector, v) >= q.tenth - 1e-5 {
                    found += 1;
                }
            }
        }
    }
    latencies.sort();
    let recall = if mode == Mode::Vector {
        format!(
            "{:.3}",
            found as f64 / (LIMIT.min(truth.size) * latencies.len()) as f64
        )
    } else {
        "–".to_owned()
    };
    let (p50, p95, p99) = (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
    );
    println!(
        "{label:<7} {} queries: p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  max {:.2} ms  (first, cold: {:.1} ms)  recall@10 {recall}",
        latencies.len(),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        first.as_secs_f64() * 1e3,
    );
    Ok(format!(
        "| {scale} | {label} | {p50:.2} | {p95:.2} | {p99:.2} | {recall} |"
    ))
}
