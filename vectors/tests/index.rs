//! The approximate vector index: a table gets one when it reaches the threshold (a small one
//! here), rows added later are folded into it, and searches through it still find the nearest
//! chunk and never leave their organisation.

use aerie_vectors::{Chunk, IndexSettings, Mode, Search, Store};
use uuid::Uuid;

const DIMS: usize = 32;

/// A seeded unit vector (splitmix64 → uniform in [-1, 1), normalised).
fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    let mut v: Vec<f32> = (0..DIMS)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn chunks(org: Uuid, document: Uuid, seeds: std::ops::Range<u64>) -> Vec<Chunk> {
    seeds
        .map(|s| Chunk {
            org,
            document,
            category: None,
            index: s as u32,
            text: format!("chunk {s} of a synthetic document"),
            vector: vector(s),
        })
        .collect()
}

fn search(org: Uuid, vector: &[f32]) -> Search<'_> {
    Search {
        org,
        vector,
        text: "",
        limit: 5,
        category: None,
        documents: None,
    }
}

#[tokio::test]
async fn the_index_is_built_at_the_threshold_and_searches_stay_right() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().to_str().expect("utf-8"))
        .await
        .expect("open")
        .with_index_settings(IndexSettings {
            threshold: 200,
            fold_at: 50,
            max_segments: 2,
            ..IndexSettings::default()
        });
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let (doc_a, doc_b) = (Uuid::now_v7(), Uuid::now_v7());
    let table = "kb_t_0";

    // Below the threshold: no index, exact search.
    store
        .add(table, chunks(a, doc_a, 0..150))
        .await
        .expect("add");
    assert_eq!(store.index_state(table).await.expect("state"), None);
    let hits = store
        .search(table, &search(a, &vector(42)), Mode::Vector)
        .await
        .expect("search");
    assert_eq!(hits[0].index, 42);

    // Crossing it (with another organisation's rows in the table): the index is built.
    store
        .add(table, chunks(b, doc_b, 1000..1100))
        .await
        .expect("add");
    let state = store
        .index_state(table)
        .await
        .expect("state")
        .expect("an index at the threshold");
    assert_eq!((state.indexed, state.unindexed), (250, 0));

    // Fewer new rows than `fold_at`: searched beside the index.
    store
        .add(table, chunks(a, doc_a, 150..180))
        .await
        .expect("add");
    let state = store
        .index_state(table)
        .await
        .expect("state")
        .expect("index");
    assert_eq!((state.indexed, state.unindexed), (250, 30));
    // Enough: folded in.
    store
        .add(table, chunks(a, doc_a, 180..240))
        .await
        .expect("add");
    let state = store
        .index_state(table)
        .await
        .expect("state")
        .expect("index");
    assert_eq!((state.indexed, state.unindexed), (340, 0));
    // More segments than `max_segments`: merged.
    for start in [240, 300, 360] {
        store
            .add(table, chunks(a, doc_a, start..start + 60))
            .await
            .expect("add");
    }
    let state = store
        .index_state(table)
        .await
        .expect("state")
        .expect("index");
    assert_eq!((state.indexed, state.unindexed), (520, 0));
    assert!(state.segments <= 2, "{state:?}");
    store
        .add(table, chunks(a, doc_a, 420..430))
        .await
        .expect("add");
    store.optimize(table).await.expect("optimize");
    let state = store
        .index_state(table)
        .await
        .expect("state")
        .expect("index");
    assert_eq!(
        (state.indexed, state.unindexed, state.segments),
        (530, 0, 1)
    );

    // The nearest row of the organisation comes first, with its exact cosine similarity...
    for seed in [0u64, 42, 149, 150, 239, 429] {
        let hits = store
            .search(table, &search(a, &vector(seed)), Mode::Vector)
            .await
            .expect("search");
        assert_eq!(hits.len(), 5);
        assert_eq!(hits[0].index, seed as u32, "seed {seed}");
        assert_eq!(hits[0].document, doc_a);
        assert!((hits[0].score - 1.0).abs() < 1e-4, "{}", hits[0].score);
        assert!(hits.iter().all(|h| h.document == doc_a));
    }
    // ...and another organisation's rows are never found, even their exact vector.
    let hits = store
        .search(table, &search(a, &vector(1042)), Mode::Vector)
        .await
        .expect("search");
    assert!(hits.iter().all(|h| h.document == doc_a));
    let hits = store
        .search(table, &search(b, &vector(1042)), Mode::Vector)
        .await
        .expect("search");
    assert_eq!(hits[0].index, 1042);
    assert!(hits.iter().all(|h| h.document == doc_b));
    let hits = store
        .search(
            table,
            &Search {
                text: "synthetic document",
                ..search(b, &vector(7))
            },
            Mode::Hybrid,
        )
        .await
        .expect("search");
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.document == doc_b));
    assert_eq!(store.count(table, b).await.expect("count"), 100);
}
