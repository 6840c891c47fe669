//! Documents of knowledge bases (issue 13, the documents, ingestion and search items): multipart
//! uploads read before anything is stored (an unsupported file answers 400 naming it and leaves
//! nothing), the same bytes recognised, ingestion as a job (queued → processing → ready) with
//! the built-in model, hybrid search with sources, removal, who may do what (API keys add and
//! search, never remove), limits, and another organisation that can neither read nor find
//! anything of them (full text included). `kill -9` during ingestion is in `cli.rs`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aerie_backend::config::DbKind;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// The built-in model's folder (scripts/lib.sh installs it; `AERIE_EMBEDDING_MODEL_DIR`).
pub fn model_dir() -> PathBuf {
    std::env::var_os("AERIE_EMBEDDING_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/aerie/models/all-MiniLM-L6-v2"))
        })
        .expect("HOME or AERIE_EMBEDDING_MODEL_DIR")
}

pub const HERON_MD: &str = "# Herons of the northern coast\n\nThe grey heron migrates along the northern coast every autumn, resting in the salt marshes.\n\n## Feeding\n\nHerons stand still in shallow water and strike at fish with their long bills.\n";
pub const BAKERY_TXT: &str = "Sourdough bread needs a lively starter.\n\nFeed the starter flour and water the night before baking, then let the dough rise slowly in a cool kitchen.\n";
/// The first bytes of a PNG image: not a type a knowledge base reads.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

pub fn part(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_owned())
}

pub struct Kb {
    pub app: TestApp,
    pub owner: String,
    pub kb: String,
}

impl Kb {
    pub async fn start(
        kind: DbKind,
        tweak: impl FnOnce(&mut aerie_backend::config::Config),
    ) -> Self {
        let dir = model_dir();
        let app = TestApp::spawn_with(
            kind,
            |c| {
                c.embedding_model_dir = dir;
                tweak(c);
            },
            axum::Router::new(),
        )
        .await;
        let email = app.setup().await;
        let (owner, _) = app.login(&email, PASSWORD).await;
        let (status, kb) = app
            .authed(
                Method::POST,
                "/api/knowledge",
                &owner,
                Some(json!({"name": "Field notes", "visibility": "private"})),
            )
            .await;
        assert_eq!(status, 201, "{kb}");
        let kb = kb["id"].as_str().expect("id").to_owned();
        Kb { app, owner, kb }
    }

    pub async fn upload(&self, token: &str, kb: &str, form: Form) -> (u16, Value) {
        upload_to(&self.app, token, kb, form).await
    }

    pub async fn documents(&self, token: &str, kb: &str) -> Vec<Value> {
        documents_of(&self.app, token, kb).await
    }

    /// Waits until no document of `kb` is queued or processing; returns them.
    pub async fn settled(&self, token: &str, kb: &str) -> Vec<Value> {
        settled_in(&self.app, token, kb).await
    }

    pub async fn search(&self, token: &str, kb: &str, body: Value) -> (u16, Value) {
        self.app
            .authed(
                Method::POST,
                &format!("/api/knowledge/{kb}/search"),
                token,
                Some(body),
            )
            .await
    }
}

/// `POST /api/knowledge/{kb}/documents` with `form` as `token`: status and JSON.
pub async fn upload_to(app: &TestApp, token: &str, kb: &str, form: Form) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/knowledge/{kb}/documents")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The documents of `kb`, as `token` lists them.
pub async fn documents_of(app: &TestApp, token: &str, kb: &str) -> Vec<Value> {
    let (status, docs) = app
        .authed(
            Method::GET,
            &format!("/api/knowledge/{kb}/documents"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{docs}");
    docs.as_array().expect("array").clone()
}

/// Waits until no document of `kb` is queued or processing; returns them.
pub async fn settled_in(app: &TestApp, token: &str, kb: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let docs = documents_of(app, token, kb).await;
        if docs
            .iter()
            .all(|d| d["status"] == "ready" || d["status"] == "failed")
        {
            return docs;
        }
        assert!(
            Instant::now() < deadline,
            "ingestion did not finish: {docs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn filenames(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["filename"].as_str().expect("filename").to_owned())
        .collect()
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn documents_are_read_ingested_and_found_with_their_source(#[case] kind: DbKind) {
    let t = Kb::start(kind, |_| {}).await;
    let kb = t.kb.clone();

    // Two files in one request: both stored, queued, typed from their content.
    let (status, up) = t
        .upload(
            &t.owner,
            &kb,
            Form::new()
                .part("file", part("herons.md", HERON_MD.as_bytes()))
                .part("file", part("../../bakery.txt", BAKERY_TXT.as_bytes())),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    let up = up.as_array().expect("array");
    assert_eq!(up.len(), 2);
    assert_eq!(up[0]["duplicate"], false);
    assert_eq!(up[0]["document"]["filename"], "herons.md");
    assert_eq!(up[0]["document"]["media_type"], "text/markdown");
    assert_eq!(up[1]["document"]["filename"], "bakery.txt", "paths dropped");
    assert_eq!(up[1]["document"]["media_type"], "text/plain");
    assert_eq!(
        up[0]["document"]["content_hash"].as_str().map(str::len),
        Some(64)
    );
    let heron_id = up[0]["document"]["id"].as_str().expect("id").to_owned();

    let docs = t.settled(&t.owner, &kb).await;
    assert_eq!(docs.len(), 2);
    for d in &docs {
        assert_eq!(d["status"], "ready", "{d}");
        assert_eq!(d["progress"], 100);
        assert!(d["chunk_count"].as_u64().expect("count") >= 1, "{d}");
        assert_eq!(d["error"], Value::Null);
    }
    let (status, kb_view) = t
        .app
        .authed(Method::GET, &format!("/api/knowledge/{kb}"), &t.owner, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(kb_view["document_count"], 2);
    assert!(kb_view["chunk_count"].as_u64().expect("chunks") >= 2);

    // Hybrid (default), vector and full text all rank the heron note first for a heron query.
    for mode in ["hybrid", "vector", "full_text"] {
        let (status, found) = t
            .search(
                &t.owner,
                &kb,
                json!({"query": "where do herons migrate in autumn", "mode": mode}),
            )
            .await;
        assert_eq!(status, 200, "{found}");
        let names = filenames(&found);
        assert_eq!(
            names.first().map(String::as_str),
            Some("herons.md"),
            "{mode}: {found}"
        );
        let first = &found["results"][0];
        assert_eq!(first["document_id"], heron_id.as_str());
        assert!(first["text"].as_str().expect("text").contains("heron"));
        assert!(first["chunk_index"].is_u64());
        assert!(first["score"].as_f64().expect("score") > 0.0);
    }
    let (_, bread) = t
        .search(
            &t.owner,
            &kb,
            json!({"query": "sourdough starter", "top_k": 1}),
        )
        .await;
    assert_eq!(filenames(&bread), vec!["bakery.txt"]);

    // The same bytes again: recognised, nothing new stored or queued.
    let (status, again) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("copy.md", HERON_MD.as_bytes())),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(again[0]["document"]["id"], heron_id.as_str());
    assert_eq!(t.documents(&t.owner, &kb).await.len(), 2);

    // One unreadable file refuses the whole upload, naming it; nothing is stored.
    let files_dir = t.app.db.data_dir().join("uploads").join("knowledge");
    let files_before = count_files(&files_dir);
    let (status, err) = t
        .upload(
            &t.owner,
            &kb,
            Form::new()
                .part(
                    "file",
                    part("fresh.txt", b"A brand new note about kingfishers."),
                )
                .part("file", part("photo.png", PNG)),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_contract_body(&err, "REQ-001");
    assert_eq!(err["error"]["param"], "file");
    assert!(
        err["detail"]
            .as_str()
            .expect("detail")
            .contains("photo.png"),
        "{err}"
    );
    assert_eq!(t.documents(&t.owner, &kb).await.len(), 2);
    assert_eq!(count_files(&files_dir), files_before);
    let (status, err) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("empty.txt", b"  \n")),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .expect("detail")
            .contains("empty.txt")
    );

    // Malformed requests.
    let (status, err) = t.upload(&t.owner, &kb, Form::new().text("note", "x")).await;
    assert_eq!(status, 400, "{err}");
    // A text field named `file` is not a file (no filename in its Content-Disposition).
    let (status, err) = t
        .upload(&t.owner, &kb, Form::new().text("file", "AAA"))
        .await;
    assert_eq!(
        (status, &err["error"]["param"]),
        (400, &json!("file")),
        "{err}"
    );
    assert!(
        err["detail"].as_str().expect("detail").contains("filename"),
        "{err}"
    );
    let (status, err) = t
        .upload(&t.owner, &kb, Form::new().text("category_id", "not-a-uuid"))
        .await;
    assert_eq!(
        (status, &err["error"]["param"]),
        (400, &json!("category_id")),
        "{err}"
    );
    let res = t
        .app
        .client
        .post(t.app.url(&format!("/api/knowledge/{kb}/documents")))
        .bearer_auth(&t.owner)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 415);
    let (status, err) = t.search(&t.owner, &kb, json!({"top_k": 3})).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["detail"], "query field is required.");
    let (status, _) = t
        .search(&t.owner, &kb, json!({"query": "x", "top_k": 0}))
        .await;
    assert_eq!(status, 400);

    // Categories narrow a search.
    let (status, cat) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/knowledge/{kb}/categories"),
            &t.owner,
            Some(json!({"name": "Kitchen"})),
        )
        .await;
    assert_eq!(status, 201, "{cat}");
    let cat = cat["id"].as_str().expect("id").to_owned();
    let (status, up) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().text("category_id", cat.clone()).part(
                "file",
                part(
                    "rye.txt",
                    b"Rye bread is dense and sour; herons never eat it.",
                ),
            ),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up[0]["document"]["category_id"], cat.as_str());
    t.settled(&t.owner, &kb).await;
    let (_, in_kitchen) = t
        .search(
            &t.owner,
            &kb,
            json!({"query": "herons", "category_id": cat}),
        )
        .await;
    assert_eq!(filenames(&in_kitchen), vec!["rye.txt"], "{in_kitchen}");

    // Removing a document: gone from the list and from every search; a job removes its file.
    let res = t
        .app
        .authed(
            Method::DELETE,
            &format!("/api/knowledge/{kb}/documents/{heron_id}"),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(res.0, 204, "{}", res.1);
    assert!(
        !t.documents(&t.owner, &kb)
            .await
            .iter()
            .any(|d| d["id"] == heron_id.as_str())
    );
    let (_, found) = t
        .search(
            &t.owner,
            &kb,
            json!({"query": "grey heron salt marshes", "mode": "full_text"}),
        )
        .await;
    assert!(
        !filenames(&found).contains(&"herons.md".to_owned()),
        "{found}"
    );
    let (status, _) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/knowledge/{kb}/documents/{heron_id}"),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count_files(&files_dir) != 2 {
        assert!(
            Instant::now() < deadline,
            "the removed document's file stays"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, n: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn who_may_add_search_and_remove_documents(#[case] kind: DbKind) {
    let t = Kb::start(kind, |_| {}).await;
    let kb = t.kb.clone();
    let mia = t.app.join(&t.owner, "mia@acme.test", "member").await;

    // A private knowledge base of someone else: it does not exist for a member.
    let (status, _) = t
        .upload(&mia, &kb, Form::new().part("file", part("a.txt", b"hello")))
        .await;
    assert_eq!(status, 404);
    let (status, _) = t.search(&mia, &kb, json!({"query": "hello"})).await;
    assert_eq!(status, 404);
    let (status, _) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/knowledge/{kb}/documents"),
            &mia,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Visible to the organisation: she reads and searches, but may not add or remove.
    let (status, _) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/knowledge/{kb}"),
            &t.owner,
            Some(json!({"visibility": "organization"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, err) = t
        .upload(&mia, &kb, Form::new().part("file", part("a.txt", b"hello")))
        .await;
    assert_eq!(status, 403, "{err}");

    // The owner's API key adds and searches (data plane) but never removes.
    let key = t.app.create_key(&t.owner, "indexer").await;
    let (status, up) = t
        .upload(
            &key,
            &kb,
            Form::new().part("file", part("herons.md", HERON_MD.as_bytes())),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    let doc = up[0]["document"]["id"].as_str().expect("id").to_owned();
    t.settled(&t.owner, &kb).await;
    for who in [&key, &mia] {
        let (status, found) = t.search(who, &kb, json!({"query": "heron"})).await;
        assert_eq!(status, 200, "{found}");
        let names = filenames(&found);
        assert!(
            !names.is_empty() && names.iter().all(|n| n == "herons.md"),
            "{found}"
        );
    }
    let (status, err) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/api/knowledge/{kb}/documents/{doc}"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert_contract_body(&err, "AUTH-005");
    let (status, _) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/api/knowledge/{kb}/documents/{doc}"),
            &mia,
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Another organisation: nothing of Acme's exists for it, and its own searches never
    // return Acme's chunks, by vector or by full text.
    let bob_email = t.app.second_org().await;
    let (bob, _) = t.app.login(&bob_email, PASSWORD).await;
    for (method, path) in [
        (Method::GET, format!("/api/knowledge/{kb}/documents")),
        (Method::GET, format!("/api/knowledge/{kb}/documents/{doc}")),
        (
            Method::DELETE,
            format!("/api/knowledge/{kb}/documents/{doc}"),
        ),
    ] {
        let (status, _) = t.app.authed(method, &path, &bob, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = t.search(&bob, &kb, json!({"query": "heron"})).await;
    assert_eq!(status, 404);
    let (status, _) = t
        .upload(&bob, &kb, Form::new().part("file", part("x.txt", b"x")))
        .await;
    assert_eq!(status, 404);
    let (status, theirs) = t
        .app
        .authed(
            Method::POST,
            "/api/knowledge",
            &bob,
            Some(json!({"name": "Field notes"})),
        )
        .await;
    assert_eq!(status, 201);
    let theirs = theirs["id"].as_str().expect("id").to_owned();
    let (status, _) = t
        .upload(
            &bob,
            &theirs,
            Form::new().part("file", part("bread.txt", BAKERY_TXT.as_bytes())),
        )
        .await;
    assert_eq!(status, 201);
    t.settled(&bob, &theirs).await;
    for mode in ["hybrid", "vector", "full_text"] {
        let (status, found) = t
            .search(
                &bob,
                &theirs,
                json!({"query": "heron migrates northern coast", "mode": mode, "top_k": 50}),
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            filenames(&found).iter().all(|f| f == "bread.txt"),
            "{mode}: {found}"
        );
    }
}

#[tokio::test]
async fn uploads_have_limits_per_file_and_per_request() {
    let t = Kb::start(DbKind::Sqlite, |c| {
        c.upload_max_file_bytes = 2048;
        c.upload_max_request_bytes = 8192;
    })
    .await;
    let kb = t.kb.clone();
    let big = "heron ".repeat(500);
    let (status, err) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("big.txt", big.as_bytes())),
        )
        .await;
    assert_eq!(status, 413, "{err}");
    assert_contract_body(&err, "REQ-004");
    assert!(
        err["detail"].as_str().expect("detail").contains("big.txt"),
        "{err}"
    );
    let mut form = Form::new();
    for i in 0..6 {
        form = form.part(
            "file",
            part(&format!("n{i}.txt"), "x".repeat(1800).as_bytes()),
        );
    }
    let (status, err) = t.upload(&t.owner, &kb, form).await;
    assert_eq!(status, 413, "{err}");
    assert_contract_body(&err, "REQ-004");
    assert!(t.documents(&t.owner, &kb).await.is_empty());
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn rag_index_and_query_use_knowledge_bases_by_slug(#[case] kind: DbKind) {
    let t = Kb::start(kind, |_| {}).await;
    let key = t.app.create_key(&t.owner, "aegis").await;
    let (status, kb) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/knowledge/{}", t.kb),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let slug = kb["slug"].as_str().expect("slug").to_owned();

    let (status, indexed) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/index",
            &key,
            Some(json!({"knowledge_base": slug, "documents": [
                {"text": HERON_MD, "filename": "herons.md", "metadata": {"source": "field guide"}},
                {"text": BAKERY_TXT}
            ]})),
        )
        .await;
    assert_eq!(status, 202, "{indexed}");
    assert_eq!(indexed["knowledge_base_id"], t.kb.as_str());
    assert_eq!(
        indexed["documents"][1]["document"]["filename"],
        "document-2.txt"
    );
    t.settled(&t.owner, &t.kb).await;

    for body in [
        json!({"query": "heron migration", "knowledge_base": slug, "top_k": 2}),
        json!({"query": "heron migration", "top_k": 2}),
    ] {
        let (status, ctx) = t
            .app
            .authed(Method::POST, "/v1/rag/query", &key, Some(body))
            .await;
        assert_eq!(status, 200, "{ctx}");
        assert_eq!(ctx["passages"][0]["filename"], "herons.md", "{ctx}");
        assert_eq!(ctx["passages"][0]["knowledge_base_id"], t.kb.as_str());
        let context = ctx["context"].as_str().expect("context");
        assert!(context.starts_with("[1] herons.md (passage "), "{context}");
    }
    let (status, err) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/query",
            &key,
            Some(json!({"knowledge_base": slug})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["detail"], "query field is required.");
    let (status, err) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/index",
            &key,
            Some(json!({"knowledge_base": slug, "documents": [{"text": ""}]})),
        )
        .await;
    assert_eq!(status, 400, "{err}");

    // Another organisation's key finds nothing of it.
    let bob_email = t.app.second_org().await;
    let (bob, _) = t.app.login(&bob_email, PASSWORD).await;
    let bob_key = t.app.create_key(&bob, "theirs").await;
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/query",
            &bob_key,
            Some(json!({"query": "heron", "knowledge_base": slug})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, ctx) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/query",
            &bob_key,
            Some(json!({"query": "heron"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ctx["passages"], json!([]));
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            "/v1/rag/index",
            &bob_key,
            Some(json!({"knowledge_base": t.kb, "documents": [{"text": "x"}]})),
        )
        .await;
    assert_eq!(status, 404);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn reindexing_builds_a_new_index_while_search_keeps_the_old_one(#[case] kind: DbKind) {
    let t = Kb::start(kind, |_| {}).await;
    let kb = t.kb.clone();
    let long: String = (0..12)
        .map(|i| format!("Heron colony {i} nests in the reeds beside the estuary, where the tide brings fish twice a day.\n\n"))
        .collect();
    let (status, _) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("colonies.txt", long.as_bytes())),
        )
        .await;
    assert_eq!(status, 201);
    let before = t.settled(&t.owner, &kb).await[0]["chunk_count"]
        .as_u64()
        .expect("count");

    // Smaller chunks: a reindex is queued; search answers all along.
    let (status, body) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/knowledge/{kb}"),
            &t.owner,
            Some(json!({"chunking": {"chunk_size": 100, "chunk_overlap": 0}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let after = loop {
        let (status, found) = t
            .search(&t.owner, &kb, json!({"query": "heron colony estuary"}))
            .await;
        assert_eq!(status, 200, "{found}");
        assert!(
            !filenames(&found).is_empty(),
            "search found nothing during the reindex"
        );
        let n = t.documents(&t.owner, &kb).await[0]["chunk_count"]
            .as_u64()
            .expect("count");
        if n != before {
            break n;
        }
        assert!(Instant::now() < deadline, "the reindex never switched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        after > before,
        "{after} chunks of 100 characters, {before} of 800"
    );

    // On demand: people only (API keys never), 202 with the job.
    let (status, started) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/knowledge/{kb}/reindex"),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(status, 202, "{started}");
    assert!(started["job_id"].is_string());
    assert_eq!(started["generation"], 2);
    let key = t.app.create_key(&t.owner, "k").await;
    let (status, err) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/knowledge/{kb}/reindex"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 403, "{err}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_new_embedding_model_is_a_reindex_and_search_follows_the_live_index(
    #[case] kind: DbKind,
) {
    let fake = aerie_bench::FakeUpstream::start().await;
    let t = Kb::start(kind, |c| c.allow_private_provider_urls = true).await;
    let kb = t.kb.clone();
    let (status, provider) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &t.owner,
            Some(json!({"name": "embedder", "base_url": fake.base_url()})),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    let provider = provider["id"].as_str().expect("id").to_owned();
    let (status, _) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("heron.md", HERON_MD.as_bytes())),
        )
        .await;
    assert_eq!(status, 201);
    t.settled(&t.owner, &kb).await;
    use aerie_backend::testing::store;
    let org = store::orgs::find_by_slug_global(t.app.ctx.db(), "acme")
        .await
        .expect("db")
        .expect("acme");
    let id = aerie_contract::ids::KbId(uuid::Uuid::parse_str(&kb).expect("uuid"));
    let row = |app: &TestApp| {
        let db = app.ctx.db().clone();
        let org = aerie_contract::ids::OrgId(org.id);
        async move {
            store::knowledge_bases::find_any(&db, org, id)
                .await
                .expect("db")
                .expect("the knowledge base")
        }
    };
    assert_eq!(row(&t.app).await.index_embedding, None);

    // The built-in model (384 dimensions) → the provider's (8): accepted as a reindex. Until it
    // switches, queries are embedded with the built-in model (a provider vector would not even
    // fit the live table); after, with the provider's.
    let (status, body) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/knowledge/{kb}"),
            &t.owner,
            Some(json!({"embedding": {"provider_id": provider, "model": "fake-embed"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["embedding"]["model"], "fake-embed");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, found) = t
            .search(&t.owner, &kb, json!({"query": "grey heron migrates"}))
            .await;
        assert_eq!(status, 200, "{found}");
        let names = filenames(&found);
        assert!(
            !names.is_empty() && names.iter().all(|n| n == "heron.md"),
            "{found}"
        );
        let now = row(&t.app).await;
        if now.index_generation == 1 {
            assert_eq!(
                now.index_embedding,
                Some(json!({"provider_id": provider, "model": "fake-embed"}))
            );
            break;
        }
        assert_eq!(
            now.index_embedding,
            Some(json!({"provider_id": null, "model": ""})),
            "the live index's model is recorded while the reindex runs"
        );
        assert!(Instant::now() < deadline, "the reindex never switched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A document added now is embedded with the new model into the new generation.
    let (status, _) = t
        .upload(
            &t.owner,
            &kb,
            Form::new().part("file", part("bakery.txt", BAKERY_TXT.as_bytes())),
        )
        .await;
    assert_eq!(status, 201);
    t.settled(&t.owner, &kb).await;
    let (status, found) = t
        .search(
            &t.owner,
            &kb,
            json!({"query": "sourdough starter", "mode": "full_text"}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(filenames(&found)[0], "bakery.txt", "{found}");
    let (status, found) = t
        .search(&t.owner, &kb, json!({"query": "sourdough starter"}))
        .await;
    assert_eq!(status, 200, "{found}");
    assert!(
        filenames(&found).contains(&"bakery.txt".to_owned()),
        "{found}"
    );
}
