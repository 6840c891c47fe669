//! The vector store on a real LanceDB folder: chunks are found by vector, by BM25 (stemmed,
//! without stop words) and by both fused; every search stays inside its organisation, and
//! category and document filters narrow it; deleting a document or dropping a table removes
//! its chunks.

use aerie_vectors::{Chunk, Hit, Mode, Search, Store, fuse};
use uuid::Uuid;

/// A unit vector pointing mostly along axis `axis` of 8.
fn unit(axis: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0f32; 8];
    v[axis % 8] = 1.0;
    v[(axis + 1) % 8] = tilt;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn chunk(
    org: Uuid,
    document: Uuid,
    category: Option<Uuid>,
    index: u32,
    text: &str,
    axis: usize,
) -> Chunk {
    Chunk {
        org,
        document,
        category,
        index,
        text: text.to_owned(),
        vector: unit(axis, 0.1 * index as f32),
    }
}

fn search<'a>(org: Uuid, vector: &'a [f32], text: &'a str) -> Search<'a> {
    Search {
        org,
        vector,
        text,
        limit: 10,
        category: None,
        documents: None,
    }
}

fn texts(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.text.as_str()).collect()
}

#[tokio::test]
async fn searches_stay_inside_their_organisation_and_filters() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().to_str().expect("utf-8"))
        .await
        .expect("open");
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let (doc1, doc2, doc_b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let benefits = Uuid::now_v7();
    store
        .add(
            "kb_t_0",
            vec![
                chunk(
                    a,
                    doc1,
                    Some(benefits),
                    0,
                    "Employees accrue paid vacation days every month.",
                    0,
                ),
                chunk(
                    a,
                    doc1,
                    Some(benefits),
                    1,
                    "Health insurance covers dental care.",
                    1,
                ),
                chunk(a, doc2, None, 0, "The runner was running a marathon.", 2),
                chunk(
                    b,
                    doc_b,
                    None,
                    0,
                    "Globex vacation policy: unlimited vacation days.",
                    0,
                ),
            ],
        )
        .await
        .expect("add");
    assert_eq!(store.count("kb_t_0", a).await.expect("count"), 3);
    assert_eq!(store.count("kb_t_0", b).await.expect("count"), 1);

    let query = unit(0, 0.0);
    for mode in [Mode::Vector, Mode::FullText, Mode::Hybrid] {
        let found = store
            .search("kb_t_0", &search(a, &query, "vacation days"), mode)
            .await
            .expect("search");
        assert!(!found.is_empty(), "{mode:?}");
        assert!(
            found.iter().all(|h| h.document != doc_b),
            "{mode:?} crossed organisations: {:?}",
            texts(&found)
        );
        assert_eq!(found[0].document, doc1, "{mode:?}: {:?}", texts(&found));
        assert_eq!(found[0].index, 0);
        let theirs = store
            .search("kb_t_0", &search(b, &query, "vacation days"), mode)
            .await
            .expect("search");
        assert!(theirs.iter().all(|h| h.document == doc_b), "{mode:?}");
    }
    // BM25 over stems without stop words: "runs" finds "runner was running".
    let found = store
        .search("kb_t_0", &search(a, &query, "the runs"), Mode::FullText)
        .await
        .expect("search");
    assert_eq!(texts(&found), ["The runner was running a marathon."]);
    // A category, a list of documents.
    let mut narrowed = search(a, &query, "vacation dental marathon");
    narrowed.category = Some(benefits);
    let found = store
        .search("kb_t_0", &narrowed, Mode::Hybrid)
        .await
        .expect("search");
    assert!(found.iter().all(|h| h.category == Some(benefits)) && found.len() == 2);
    let only = [doc2];
    narrowed.category = None;
    narrowed.documents = Some(&only);
    let found = store
        .search("kb_t_0", &narrowed, Mode::Hybrid)
        .await
        .expect("search");
    assert_eq!(texts(&found), ["The runner was running a marathon."]);
    narrowed.documents = Some(&[]);
    assert!(
        store
            .search("kb_t_0", &narrowed, Mode::Vector)
            .await
            .expect("search")
            .is_empty()
    );

    // Deleting a document removes its chunks only; dropping the table removes all.
    store
        .delete_document("kb_t_0", a, doc1)
        .await
        .expect("delete");
    assert_eq!(store.count("kb_t_0", a).await.expect("count"), 1);
    assert_eq!(store.count("kb_t_0", b).await.expect("count"), 1);
    let found = store
        .search("kb_t_0", &search(a, &query, "vacation"), Mode::Hybrid)
        .await
        .expect("search");
    assert!(
        found.iter().all(|h| h.document == doc2),
        "{:?}",
        texts(&found)
    );
    store.drop_table("kb_t_0").await.expect("drop");
    assert!(store.tables().await.expect("tables").is_empty());
    assert!(
        store
            .search("kb_t_0", &search(a, &query, "x"), Mode::Hybrid)
            .await
            .expect("search")
            .is_empty()
    );
    store
        .drop_table("kb_t_0")
        .await
        .expect("dropping twice is fine");
}

#[tokio::test]
async fn vectors_of_different_lengths_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().to_str().expect("utf-8"))
        .await
        .expect("open");
    let org = Uuid::now_v7();
    let mut odd = chunk(org, Uuid::now_v7(), None, 1, "b", 1);
    odd.vector.push(0.0);
    let err = store
        .add(
            "kb_t_1",
            vec![chunk(org, Uuid::now_v7(), None, 0, "a", 0), odd],
        )
        .await;
    assert!(err.is_err());
    assert!(store.tables().await.expect("tables").is_empty());
}

#[test]
fn fusion_rewards_agreement() {
    let hit = |document: Uuid, index: u32| Hit {
        document,
        category: None,
        index,
        text: String::new(),
        score: 0.0,
    };
    let (x, y, z) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // y is second in both rankings; x and z are first in one each.
    let fused = fuse(&[vec![hit(x, 0), hit(y, 0)], vec![hit(z, 0), hit(y, 0)]], 3);
    assert_eq!(fused[0].document, y);
    assert_eq!(fused.len(), 3);
    assert!(fuse(&[], 5).is_empty());
    assert_eq!(fuse(&[vec![hit(x, 0), hit(x, 1)]], 1).len(), 1);
}
