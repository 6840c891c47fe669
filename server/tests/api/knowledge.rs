//! Knowledge bases (issue 13, the knowledge bases item; `docs/plans/knowledge.md`): creation
//! with defaults and made-up slugs, settings and their limits, who sees and who changes what,
//! API keys read but never write, categories, the marketplace and Egret's domain views across
//! organisations, deletion by a job that removes what the knowledge base held, and agents that
//! may use only knowledge bases their owner sees.

use std::time::Duration;

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value as DbValue};
use serde_json::{Value, json};

use crate::support::chat::Chat;
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// The app (with the test upstream as a provider) with its owner (`owner@acme.test`) and two
/// members.
struct Acme {
    chat: Chat,
    owner: String,
    mia: String,
    max: String,
}

async fn acme(kind: DbKind) -> Acme {
    let chat = Chat::start(kind).await;
    let owner = chat.jwt.clone();
    let mia = chat.app.join(&owner, "mia@acme.test", "member").await;
    let max = chat.app.join(&owner, "max@acme.test", "member").await;
    Acme {
        chat,
        owner,
        mia,
        max,
    }
}

impl Acme {
    async fn call(
        &self,
        method: Method,
        path: &str,
        jwt: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.chat.app.authed(method, path, jwt, body).await
    }

    async fn create(&self, jwt: &str, body: Value) -> Value {
        let (status, kb) = self
            .call(Method::POST, "/api/knowledge", jwt, Some(body))
            .await;
        assert_eq!(status, 201, "{kb}");
        kb
    }

    async fn ids(&self, jwt: &str) -> Vec<String> {
        let (status, list) = self.call(Method::GET, "/api/knowledge", jwt, None).await;
        assert_eq!(status, 200, "{list}");
        list.as_array()
            .expect("array")
            .iter()
            .map(|k| k["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A 400 naming `param`.
fn invalid(status: u16, body: &Value, param: &str) {
    assert_eq!(status, 400, "{body}");
    assert_contract_body(body, "REQ-001");
    assert_eq!(body["error"]["param"], param, "{body}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn knowledge_bases_have_defaults_limits_and_unique_slugs(#[case] kind: DbKind) {
    let t = acme(kind).await;
    let kb = t
        .create(
            &t.mia,
            json!({"name": "Employee Handbook", "description": "  Policies  "}),
        )
        .await;
    assert_eq!(kb["slug"], "employee-handbook");
    assert_eq!(kb["description"], "Policies");
    assert_eq!(kb["visibility"], "private");
    assert_eq!(
        kb["chunking"],
        json!({"chunk_size": 800, "chunk_overlap": 100})
    );
    assert_eq!(
        kb["embedding"],
        json!({"provider_id": null, "model": "all-MiniLM-L6-v2", "dimensions": 384})
    );
    assert_eq!(kb["categories"], json!([]));
    assert_eq!(
        (kb["document_count"].as_u64(), kb["chunk_count"].as_u64()),
        (Some(0), Some(0))
    );
    // The same name again: the next free slug. An explicit slug that is taken: 409.
    let again = t.create(&t.max, json!({"name": "Employee handbook"})).await;
    assert_eq!(again["slug"], "employee-handbook-2");
    let (status, body) = t
        .call(
            Method::POST,
            "/api/knowledge",
            &t.max,
            Some(json!({"name": "Other", "slug": "Employee-Handbook"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["param"], "slug");
    // A name without letters or digits still gets a slug; explicit slugs are lower-cased.
    assert_eq!(t.create(&t.max, json!({"name": "???"})).await["slug"], "kb");
    assert_eq!(
        t.create(&t.max, json!({"name": "Act", "slug": "EU-AI.Act_2"}))
            .await["slug"],
        "eu-ai.act_2"
    );

    for (body, param) in [
        (json!({}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "x", "slug": "no spaces"}), "slug"),
        (json!({"name": "x", "slug": ".."}), "slug"),
        (
            json!({"name": "x", "description": "d".repeat(2001)}),
            "description",
        ),
        (
            json!({"name": "x", "chunking": {"chunk_size": 99}}),
            "chunking.chunk_size",
        ),
        (
            json!({"name": "x", "chunking": {"chunk_size": 8001}}),
            "chunking.chunk_size",
        ),
        (
            json!({"name": "x", "chunking": {"chunk_overlap": 2001}}),
            "chunking.chunk_overlap",
        ),
        (
            json!({"name": "x", "chunking": {"chunk_size": 200, "chunk_overlap": 100}}),
            "chunking.chunk_overlap",
        ),
        (
            json!({"name": "x", "embedding": {"model": "text-embedding-3-small"}}),
            "embedding.model",
        ),
        (
            json!({"name": "x", "embedding": {"provider_id": "0190f0e0-0000-7000-8000-000000000001", "model": "m"}}),
            "embedding.provider_id",
        ),
        (
            json!({"name": "x", "visibility": "groups", "group_ids": ["0190f0e0-0000-7000-8000-000000000001"]}),
            "group_ids",
        ),
    ] {
        let (status, err) = t
            .call(Method::POST, "/api/knowledge", &t.mia, Some(body.clone()))
            .await;
        if param == "name" && body.get("name").is_none() {
            // A missing required field is the extractor's 400.
            assert_eq!(status, 400, "{body} → {err}");
            continue;
        }
        invalid(status, &err, param);
    }
    // Nothing of the refused requests was stored.
    assert_eq!(t.ids(&t.owner).await.len(), 4);

    // A provider's embedding model: its name is required, its vectors' length learnt later;
    // the provider cannot be removed while a knowledge base embeds with it.
    let (status, embedder) = t
        .call(
            Method::POST,
            "/api/providers",
            &t.owner,
            Some(json!({"name": "Embedder", "base_url": t.chat.fake.base_url()})),
        )
        .await;
    assert_eq!(status, 201, "{embedder}");
    let (status, err) = t
        .call(
            Method::POST,
            "/api/knowledge",
            &t.mia,
            Some(json!({"name": "Embedded", "embedding": {"provider_id": id(&embedder)}})),
        )
        .await;
    invalid(status, &err, "embedding.model");
    let embedded = t
        .create(
            &t.mia,
            json!({"name": "Embedded", "embedding": {"provider_id": id(&embedder), "model": "text-embedding-3-small"}}),
        )
        .await;
    assert_eq!(
        embedded["embedding"],
        json!({"provider_id": id(&embedder), "model": "text-embedding-3-small", "dimensions": null})
    );
    let (status, err) = t
        .call(
            Method::DELETE,
            &format!("/api/providers/{}", id(&embedder)),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Embedded"),
        "{err}"
    );
    // Back to the built-in model ("provider_id": null), then the provider may go.
    let (status, back) = t
        .call(
            Method::PATCH,
            &format!("/api/knowledge/{}", id(&embedded)),
            &t.mia,
            Some(json!({"embedding": {"provider_id": null}})),
        )
        .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["embedding"]["model"], "all-MiniLM-L6-v2");
    let (status, err) = t
        .call(
            Method::DELETE,
            &format!("/api/providers/{}", id(&embedder)),
            &t.owner,
            None,
        )
        .await;
    assert_eq!(status, 204, "{err}");

    // Settings change; absent fields stay.
    let path = format!("/api/knowledge/{}", id(&kb));
    let (status, changed) = t
        .call(
            Method::PATCH,
            &path,
            &t.mia,
            Some(json!({"chunking": {"chunk_size": 1200}, "slug": "handbook"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["chunking"],
        json!({"chunk_size": 1200, "chunk_overlap": 100})
    );
    assert_eq!(changed["slug"], "handbook");
    assert_eq!(changed["name"], "Employee Handbook");
    let (status, err) = t
        .call(
            Method::PATCH,
            &path,
            &t.mia,
            Some(json!({"chunking": {"chunk_overlap": 600}})),
        )
        .await;
    invalid(status, &err, "chunking.chunk_overlap");
    let (status, err) = t
        .call(
            Method::PATCH,
            &path,
            &t.mia,
            Some(json!({"slug": "employee-handbook-2"})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    // The old slug is free again.
    assert_eq!(
        t.create(&t.max, json!({"name": "Employee handbook"})).await["slug"],
        "employee-handbook"
    );
    let actions = t.chat.app.audit_actions().await;
    assert!(
        actions.contains(&"knowledge_base.created".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"knowledge_base.updated".to_owned()),
        "{actions:?}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn visibility_decides_who_sees_and_only_owners_and_admins_change(#[case] kind: DbKind) {
    let t = acme(kind).await;
    let kb = t.create(&t.mia, json!({"name": "Mia's notes"})).await;
    let path = format!("/api/knowledge/{}", id(&kb));
    // Private: its owner and the organisation's owner see it; another member does not (404,
    // for reading and for changing).
    assert!(t.ids(&t.mia).await.contains(&id(&kb)));
    assert!(t.ids(&t.owner).await.contains(&id(&kb)));
    assert!(!t.ids(&t.max).await.contains(&id(&kb)));
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Taken over"}))),
        (Method::DELETE, None),
    ] {
        let (status, err) = t.call(method, &path, &t.max, body).await;
        assert_eq!(status, 404, "{err}");
        assert_contract_body(&err, "RES-001");
    }
    let (status, err) = t
        .call(Method::GET, &format!("{path}/categories"), &t.max, None)
        .await;
    assert_eq!(status, 404, "{err}");

    // Groups: members of a listed group see it, and still may not change it.
    let (status, group) = t
        .call(
            Method::POST,
            "/api/organisation/groups",
            &t.owner,
            Some(json!({"name": "Readers"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let users = t.call(Method::GET, "/api/users", &t.owner, None).await.1;
    let max_id = users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == "max@acme.test")
        .map(id)
        .expect("max");
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/organisation/groups/{}/members", id(&group)),
            &t.owner,
            Some(json!({"user_id": max_id})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, changed) = t
        .call(
            Method::PATCH,
            &path,
            &t.mia,
            Some(json!({"visibility": "groups", "group_ids": [id(&group)]})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(t.ids(&t.max).await.contains(&id(&kb)));
    let (status, err) = t
        .call(
            Method::PATCH,
            &path,
            &t.max,
            Some(json!({"name": "Taken over"})),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(
        err["detail"],
        "Only the knowledge base's owner or an organisation admin can change it."
    );
    let (status, err) = t
        .call(
            Method::POST,
            &format!("{path}/categories"),
            &t.max,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    // The organisation's owner may change it.
    let (status, changed) = t
        .call(
            Method::PATCH,
            &path,
            &t.owner,
            Some(json!({"name": "Team notes"})),
        )
        .await;
    assert_eq!(
        (status, changed["name"].as_str()),
        (200, Some("Team notes"))
    );

    // An API key reads what its user sees and changes nothing.
    let key = t.chat.app.create_key(&t.mia, "reader").await;
    let (status, list) = t.call(Method::GET, "/api/knowledge", &key, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["id"], kb["id"]);
    let (status, one) = t.call(Method::GET, &path, &key, None).await;
    assert_eq!(status, 200, "{one}");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/knowledge".to_owned(),
            Some(json!({"name": "By key"})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"name": "By key"}))),
        (Method::DELETE, path.clone(), None),
        (
            Method::POST,
            format!("{path}/categories"),
            Some(json!({"name": "By key"})),
        ),
    ] {
        let (status, err) = t.call(method, &path, &key, body).await;
        assert_eq!(status, 403, "{path}: {err}");
        assert_contract_body(&err, "AUTH-005");
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn categories_are_ordered_unique_and_embedded(#[case] kind: DbKind) {
    let t = acme(kind).await;
    let kb = t.create(&t.mia, json!({"name": "Handbook"})).await;
    let base = format!("/api/knowledge/{}/categories", id(&kb));
    let mut made = Vec::new();
    for body in [
        json!({"name": "Benefits"}),
        json!({"name": "Human Resources", "description": "People matters"}),
        json!({"name": "Onboarding", "slug": "Start", "position": 0}),
    ] {
        let (status, c) = t.call(Method::POST, &base, &t.mia, Some(body)).await;
        assert_eq!(status, 201, "{c}");
        assert_eq!(c["kb_id"], kb["id"]);
        assert_eq!(c["document_count"], 0);
        made.push(c);
    }
    assert_eq!(made[1]["slug"], "human-resources");
    assert_eq!(made[2]["slug"], "start");
    assert_eq!(
        (made[0]["position"].as_u64(), made[1]["position"].as_u64()),
        (Some(0), Some(1))
    );
    // Display order: position, then name.
    let (status, list) = t.call(Method::GET, &base, &t.mia, None).await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Benefits", "Onboarding", "Human Resources"]);
    let (_, read) = t
        .call(
            Method::GET,
            &format!("/api/knowledge/{}", id(&kb)),
            &t.mia,
            None,
        )
        .await;
    assert_eq!(read["categories"], list);

    let (status, err) = t
        .call(
            Method::POST,
            &base,
            &t.mia,
            Some(json!({"name": "Benefits"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["param"].as_str()),
        (409, Some("slug")),
        "{err}"
    );
    let one = format!("{base}/{}", id(&made[0]));
    let (status, err) = t
        .call(Method::PATCH, &one, &t.mia, Some(json!({"slug": "start"})))
        .await;
    assert_eq!(status, 409, "{err}");
    let (status, c) = t
        .call(
            Method::PATCH,
            &one,
            &t.mia,
            Some(json!({"name": "Perks", "position": 5})),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["name"].as_str(), c["slug"].as_str()),
        (Some("Perks"), Some("benefits"))
    );
    // A category is found only under its own knowledge base.
    let other = t.create(&t.mia, json!({"name": "Other"})).await;
    let elsewhere = format!("/api/knowledge/{}/categories/{}", id(&other), id(&made[0]));
    let (status, err) = t
        .call(
            Method::PATCH,
            &elsewhere,
            &t.mia,
            Some(json!({"name": "Moved"})),
        )
        .await;
    assert_eq!(status, 404, "{err}");
    let (status, _) = t.call(Method::DELETE, &elsewhere, &t.mia, None).await;
    assert_eq!(status, 404);
    let (status, _) = t.call(Method::DELETE, &one, &t.mia, None).await;
    assert_eq!(status, 204);
    let (status, _) = t.call(Method::DELETE, &one, &t.mia, None).await;
    assert_eq!(status, 404);
    let (_, list) = t.call(Method::GET, &base, &t.mia, None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let actions = t.chat.app.audit_actions().await;
    for action in [
        "knowledge_category.created",
        "knowledge_category.updated",
        "knowledge_category.deleted",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action}: {actions:?}"
        );
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn public_knowledge_bases_are_read_across_organisations_and_nothing_else(
    #[case] kind: DbKind,
) {
    let t = acme(kind).await;
    let public = t
        .create(
            &t.mia,
            json!({"name": "EU AI Act", "slug": "eu-ai-act", "visibility": "public",
                   "description": "The regulation, article by article"}),
        )
        .await;
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/knowledge/{}/categories", id(&public)),
            &t.mia,
            Some(json!({"name": "Obligations"})),
        )
        .await;
    assert_eq!(status, 201);
    let private = t
        .create(
            &t.mia,
            json!({"name": "Acme secrets", "slug": "acme-secrets"}),
        )
        .await;

    // Anyone: the marketplace and the domain views show the public one only.
    let (status, market) = t.chat.app.get_json("/api/marketplace/knowledge").await;
    assert_eq!(status, 200, "{market}");
    assert_eq!(market.as_array().map(Vec::len), Some(1), "{market}");
    assert_eq!(market[0]["slug"], "eu-ai-act");
    assert_eq!(market[0]["organization"], "Acme");
    assert_eq!(market[0]["categories"], json!(["Obligations"]));
    assert!(market[0].get("group_ids").is_none() && market[0].get("embedding").is_none());
    let (status, domains) = t.chat.app.get_json("/v1/domains/").await;
    assert_eq!(status, 200, "{domains}");
    assert_eq!(domains.as_array().map(Vec::len), Some(1), "{domains}");
    let (status, detail) = t.chat.app.get_json("/v1/domains/EU-AI-ACT/").await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["categories"][0]["name"], "Obligations");
    let (status, categories) = t
        .chat
        .app
        .get_json("/v1/domains/eu-ai-act/categories/")
        .await;
    assert_eq!(status, 200, "{categories}");
    assert_eq!(categories, detail["categories"]);
    for path in [
        "/v1/domains/acme-secrets/",
        "/v1/domains/acme-secrets/categories/",
    ] {
        let (status, err) = t.chat.app.get_json(path).await;
        assert_eq!(status, 404, "{path}: {err}");
        assert_contract_body(&err, "RES-001");
    }
    // A credential that fails is ignored on a public view.
    let (status, _) = t
        .call(Method::GET, "/v1/domains/", "aerie_not-a-real-key", None)
        .await;
    assert_eq!(status, 200);
    // Signed in, the member sees her organisation's too.
    let (status, mine) = t.call(Method::GET, "/v1/domains/", &t.mia, None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
    let (status, _) = t
        .call(Method::GET, "/v1/domains/acme-secrets/", &t.mia, None)
        .await;
    assert_eq!(status, 200);
    // …but not a private one of another member.
    let (status, _) = t
        .call(Method::GET, "/v1/domains/acme-secrets/", &t.max, None)
        .await;
    assert_eq!(status, 404);

    // Another organisation: the public one through the public views only, never by id.
    let globex = t.chat.app.second_org().await;
    let (bob, _) = t.chat.app.login(&globex, PASSWORD).await;
    for path in [
        format!("/api/knowledge/{}", id(&public)),
        format!("/api/knowledge/{}/categories", id(&public)),
        format!("/api/knowledge/{}", id(&private)),
    ] {
        let (status, err) = t.call(Method::GET, &path, &bob, None).await;
        assert_eq!(status, 404, "{path}: {err}");
    }
    let (status, err) = t
        .call(
            Method::PATCH,
            &format!("/api/knowledge/{}", id(&public)),
            &bob,
            Some(json!({"name": "Hijacked"})),
        )
        .await;
    assert_eq!(status, 404, "{err}");
    assert!(t.ids(&bob).await.is_empty());
    let (_, theirs) = t.call(Method::GET, "/v1/domains/", &bob, None).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(1), "{theirs}");
    assert!(!theirs.to_string().contains("acme-secrets"), "{theirs}");
    // Slugs are per organisation, but a public slug is the instance's.
    let own = t
        .create(&bob, json!({"name": "Globex act", "slug": "eu-ai-act"}))
        .await;
    let (status, err) = t
        .call(
            Method::PATCH,
            &format!("/api/knowledge/{}", id(&own)),
            &bob,
            Some(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["param"], "slug");
    // Its own private one comes first for its members; anonymous callers get Acme's.
    let (_, seen) = t
        .call(Method::GET, "/v1/domains/eu-ai-act/", &bob, None)
        .await;
    assert_eq!(seen["id"], own["id"], "{seen}");
    let (_, seen) = t.chat.app.get_json("/v1/domains/eu-ai-act/").await;
    assert_eq!(seen["id"], public["id"], "{seen}");
    // Made private, it leaves the marketplace and the anonymous views.
    let (status, _) = t
        .call(
            Method::PATCH,
            &format!("/api/knowledge/{}", id(&public)),
            &t.mia,
            Some(json!({"visibility": "organization"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, market) = t.chat.app.get_json("/api/marketplace/knowledge").await;
    assert_eq!(market, json!([]));
    let (status, _) = t.chat.app.get_json("/v1/domains/eu-ai-act/").await;
    assert_eq!(status, 404);
}

/// `?` or `$n` placeholders, as the backend wants them.
fn placeholders(backend: DatabaseBackend, n: usize) -> String {
    (1..=n)
        .map(|i| match backend {
            DatabaseBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.ctx.db();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count")
}

/// A document row as ingestion will write it (documents are not uploaded yet).
async fn insert_document(
    app: &TestApp,
    org: uuid::Uuid,
    kb: &str,
    category: Option<&str>,
    status: &str,
    chunks: i32,
) {
    let db = app.ctx.db();
    let backend = db.get_database_backend();
    let now = chrono::Utc::now().fixed_offset();
    let kb = uuid::Uuid::parse_str(kb).expect("kb");
    let category = category.map(|c| uuid::Uuid::parse_str(c).expect("category"));
    let sql = format!(
        "INSERT INTO documents (id, org_id, kb_id, category_id, filename, media_type, size_bytes, \
         content_hash, source, status, progress, chunk_count, created_by, created_at, updated_at) \
         VALUES ({})",
        placeholders(backend, 15)
    );
    let values: Vec<DbValue> = vec![
        uuid::Uuid::now_v7().into(),
        org.into(),
        kb.into(),
        category.into(),
        "notes.md".into(),
        "text/markdown".into(),
        12i64.into(),
        "0".repeat(64).into(),
        "upload".into(),
        status.into(),
        100i16.into(),
        chunks.into(),
        org.into(),
        now.into(),
        now.into(),
    ];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("insert document");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn deleting_a_knowledge_base_hides_it_at_once_and_a_job_removes_what_it_held(
    #[case] kind: DbKind,
) {
    let t = acme(kind).await;
    let kb = t
        .create(
            &t.mia,
            json!({"name": "Old wiki", "visibility": "organization"}),
        )
        .await;
    let (_, category) = t
        .call(
            Method::POST,
            &format!("/api/knowledge/{}/categories", id(&kb)),
            &t.mia,
            Some(json!({"name": "Archive"})),
        )
        .await;
    let org: uuid::Uuid = {
        let orgs = t.call(Method::GET, "/v1/orgs/", &t.owner, None).await.1;
        uuid::Uuid::parse_str(orgs[0]["id"].as_str().expect("org id")).expect("uuid")
    };
    insert_document(&t.chat.app, org, &id(&kb), Some(&id(&category)), "ready", 7).await;
    insert_document(&t.chat.app, org, &id(&kb), None, "ready", 5).await;
    insert_document(&t.chat.app, org, &id(&kb), None, "failed", 0).await;
    let (_, read) = t
        .call(
            Method::GET,
            &format!("/api/knowledge/{}", id(&kb)),
            &t.mia,
            None,
        )
        .await;
    assert_eq!(
        (
            read["document_count"].as_u64(),
            read["chunk_count"].as_u64()
        ),
        (Some(3), Some(12)),
        "{read}"
    );
    assert_eq!(read["categories"][0]["document_count"], 1, "{read}");
    // Its files, as uploads will store them.
    let files = t
        .chat
        .app
        .ctx
        .config()
        .data_dir
        .join("uploads/knowledge")
        .join(org.to_string())
        .join(id(&kb));
    std::fs::create_dir_all(&files).expect("folder");
    std::fs::write(files.join("doc"), b"bytes").expect("file");
    // An agent uses it.
    let (status, agent) = t
        .call(
            Method::POST,
            "/api/agents",
            &t.mia,
            Some(json!({"name": "Wiki bot", "model": "fake-model",
                        "provider_id": t.chat.provider_id, "knowledge_base_ids": [id(&kb)]})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");

    // A member who may not change it cannot delete it.
    let path = format!("/api/knowledge/{}", id(&kb));
    let (status, _) = t.call(Method::DELETE, &path, &t.max, None).await;
    assert_eq!(status, 403);
    let (status, body) = t.call(Method::DELETE, &path, &t.mia, None).await;
    assert_eq!(status, 204, "{body}");
    // Gone from every view at once, its slug free again.
    let (status, _) = t.call(Method::GET, &path, &t.mia, None).await;
    assert_eq!(status, 404);
    assert!(!t.ids(&t.owner).await.contains(&id(&kb)));
    let (status, _) = t.call(Method::DELETE, &path, &t.mia, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        t.create(&t.mia, json!({"name": "Old wiki"})).await["slug"],
        "old-wiki"
    );
    let (_, agent) = t
        .call(
            Method::GET,
            &format!("/api/agents/{}", id(&agent)),
            &t.mia,
            None,
        )
        .await;
    assert_eq!(agent["knowledge_base_ids"], json!([]), "{agent}");
    assert!(
        t.chat
            .app
            .audit_actions()
            .await
            .contains(&"knowledge_base.deleted".to_owned())
    );

    // The job removes its documents, categories, files and row.
    let kb_id = id(&kb);
    let mut left = -1;
    for _ in 0..200 {
        left = count(
            &t.chat.app,
            &format!("SELECT COUNT(*) FROM knowledge_bases WHERE id = '{kb_id}'"),
        )
        .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the deletion job did not finish");
    assert_eq!(
        count(&t.chat.app, "SELECT COUNT(*) FROM documents").await,
        0
    );
    assert_eq!(
        count(&t.chat.app, "SELECT COUNT(*) FROM knowledge_categories").await,
        0
    );
    assert!(!files.exists());
    let (status, jobs) = t.call(Method::GET, "/api/knowledge", &t.owner, None).await;
    assert_eq!((status, jobs.as_array().map(Vec::len)), (200, Some(1)));
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn agents_use_only_knowledge_bases_their_owner_sees(#[case] kind: DbKind) {
    let t = acme(kind).await;
    let provider_id = t.chat.provider_id.clone();
    let mias = t
        .create(&t.mia, json!({"name": "Mia's private notes"}))
        .await;
    let shared = t
        .create(
            &t.mia,
            json!({"name": "Shared", "visibility": "organization"}),
        )
        .await;
    let globex = t.chat.app.second_org().await;
    let (bob, _) = t.chat.app.login(&globex, PASSWORD).await;
    let theirs = t
        .create(
            &bob,
            json!({"name": "Globex public", "visibility": "public"}),
        )
        .await;
    let agent = |kbs: Value| {
        json!({"name": "Max's helper", "model": "fake-model", "provider_id": provider_id,
               "knowledge_base_ids": kbs})
    };
    let sentence = |kb: &str| {
        format!("knowledge_base_ids: {kb} is not a knowledge base the agent's owner can see.")
    };
    // Max sees the shared one, not Mia's private one, nor another organisation's (public or
    // not), nor one that never existed: the same sentence for each.
    for kb in [
        id(&mias),
        id(&theirs),
        "0190f0e0-0000-7000-8000-000000000001".to_owned(),
    ] {
        let (status, err) = t
            .call(
                Method::POST,
                "/api/agents",
                &t.max,
                Some(agent(json!([id(&shared), kb]))),
            )
            .await;
        invalid(status, &err, "knowledge_base_ids");
        assert_eq!(err["detail"], sentence(&kb), "{err}");
    }
    let too_many: Vec<String> = (0..21).map(|_| id(&shared)).collect();
    let (status, err) = t
        .call(
            Method::POST,
            "/api/agents",
            &t.max,
            Some(agent(json!(too_many))),
        )
        .await;
    invalid(status, &err, "knowledge_base_ids");
    // Repeats are dropped.
    let (status, made) = t
        .call(
            Method::POST,
            "/api/agents",
            &t.max,
            Some(agent(json!([id(&shared), id(&shared)]))),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["knowledge_base_ids"], json!([id(&shared)]));
    // An admin editing Max's agent cannot attach what Max does not see.
    let path = format!("/api/agents/{}", id(&made));
    let (status, err) = t
        .call(
            Method::PATCH,
            &path,
            &t.owner,
            Some(json!({"knowledge_base_ids": [id(&mias)]})),
        )
        .await;
    invalid(status, &err, "knowledge_base_ids");
    // Mia's own agent may use her private notes; a copy made by Max keeps only what he sees.
    let (status, hers) = t
        .call(
            Method::POST,
            "/api/agents",
            &t.mia,
            Some(
                json!({"name": "Mia's helper", "model": "fake-model", "provider_id": provider_id,
                        "visibility": "organization",
                        "knowledge_base_ids": [id(&mias), id(&shared)]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{hers}");
    let (status, copy) = t
        .call(
            Method::POST,
            &format!("/api/agents/{}/duplicate", id(&hers)),
            &t.max,
            None,
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["knowledge_base_ids"], json!([id(&shared)]));
}
