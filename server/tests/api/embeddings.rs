//! Embeddings (`backend/src/services/embeddings.rs`): the built-in model loads on first use
//! (not at start-up) from its folder and gives unit vectors whose similarities make sense; a
//! missing model is a clear error saying how to install it; a provider's `/embeddings` is the
//! alternative, its answer read by index.

use std::path::PathBuf;

use aerie_backend::config::DbKind;
use aerie_backend::services::embeddings::{self, EmbeddingModel};
use aerie_contract::ids::{OrgId, ProviderId};
use axum::Router;

use crate::support::TestApp;
use crate::support::chat::Chat;

fn model_dir() -> PathBuf {
    std::env::var_os("AERIE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/aerie/models/all-MiniLM-L6-v2"))
        })
        .expect("HOME or AERIE_EMBEDDING_MODEL_DIR")
}

async fn acme(app: &TestApp) -> OrgId {
    app.setup().await;
    let org = aerie_backend::testing::store::orgs::find_by_slug_global(app.ctx.db(), "acme")
        .await
        .expect("db")
        .expect("acme");
    OrgId(org.id)
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_owned()).collect()
}

#[tokio::test]
async fn the_built_in_model_loads_on_first_use() {
    let dir = model_dir();
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| c.embedding_model_dir = dir,
        Router::new(),
    )
    .await;
    let org = acme(&app).await;
    assert!(!app.ctx.local_model().loaded(), "loaded at start-up");
    let vectors = embeddings::embed(
        &app.ctx,
        org,
        &EmbeddingModel::Local,
        strings(&[
            "How many vacation days do I get?",
            "Employees accrue 25 days of paid leave per year.",
            "The supersonic boundary layer became turbulent.",
        ]),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?} (scripts/test fetches the model: embedding_model)"));
    assert!(app.ctx.local_model().loaded());
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 384));
    let related = aerie_embed::cosine(&vectors[0], &vectors[1]);
    let unrelated = aerie_embed::cosine(&vectors[0], &vectors[2]);
    assert!(related > unrelated + 0.2, "{related} vs {unrelated}");
}

#[tokio::test]
async fn a_missing_model_says_how_to_install_it() {
    let empty = tempfile::tempdir().expect("dir");
    let dir = empty.path().to_path_buf();
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| c.embedding_model_dir = dir,
        Router::new(),
    )
    .await;
    let org = acme(&app).await;
    let err = embeddings::embed(&app.ctx, org, &EmbeddingModel::Local, strings(&["x"]))
        .await
        .expect_err("no model");
    let body = err.body();
    assert_eq!(body.error.code, "SRV-003", "{body:?}");
    assert!(
        body.detail.contains("AERIE_EMBEDDING_MODEL_DIR"),
        "{}",
        body.detail
    );
    assert!(!app.ctx.local_model().loaded());
}

#[tokio::test]
async fn a_providers_embeddings_come_back_in_order() {
    let t = Chat::start(DbKind::Sqlite).await;
    let org = aerie_backend::testing::store::orgs::find_by_slug_global(t.app.ctx.db(), "acme")
        .await
        .expect("db")
        .expect("acme");
    let provider = ProviderId(uuid::Uuid::parse_str(&t.provider_id).expect("uuid"));
    let texts = strings(&["aaaa", "bbbb", "aaab"]);
    let vectors = embeddings::embed(
        &t.app.ctx,
        OrgId(org.id),
        &EmbeddingModel::Provider {
            id: provider,
            model: "fake-embed".to_owned(),
        },
        texts,
    )
    .await
    .expect("embed");
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 8));
    // The fake answers in reverse order with indexes: "aaab" is nearer "aaaa" than "bbbb" is.
    assert!(
        aerie_embed::cosine(&vectors[0], &vectors[2])
            > aerie_embed::cosine(&vectors[0], &vectors[1])
    );
    assert!(!t.app.ctx.local_model().loaded());
    // A provider's embeddings are model calls: they cost credits (docs/BILLING.md), and hold
    // nothing once answered.
    let (status, s) = t.get("/v1/billings/subscription/").await;
    assert_eq!(status, 200, "{s}");
    assert!(
        s["current_quota"]["credits_used"].as_i64().unwrap_or(0) > 0,
        "{s}"
    );
    assert!(
        s["current_quota"]["tokens_used"].as_i64().unwrap_or(0) >= 3,
        "{s}"
    );
    assert_eq!(s["current_quota"]["credits_reserved"], 0, "{s}");
}
