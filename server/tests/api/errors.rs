//! The error contract over real HTTP: every failure answers the one body.

use aerie_backend::config::DbKind;
use aerie_backend::db::DbErr;
use aerie_backend::error::body_response;
use aerie_backend::{AppState, Error};
use aerie_contract::{ErrorBody, ErrorCode};
use aerie_server::extract::{AppJson, AppQuery};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use rstest::rstest;

use crate::support::{TestApp, assert_contract_body};

#[derive(Serialize, Deserialize)]
struct Echo {
    query: String,
    limit: Option<u32>,
}

#[derive(Deserialize)]
struct Page {
    #[expect(dead_code)]
    limit: u32,
}

/// Test-only routes that exercise the product's extractors and middleware.
fn probes() -> Router<AppState> {
    Router::new()
        .route(
            "/__test/echo",
            post(|AppJson(e): AppJson<Echo>| async move { AppJson(e) }),
        )
        .route(
            "/__test/page",
            get(|AppQuery(_): AppQuery<Page>| async { "ok" }),
        )
        .route(
            "/__test/code/{code}",
            get(|Path(code): Path<String>| async move {
                let code = ErrorCode::ALL
                    .iter()
                    .copied()
                    .find(|c| c.info().code == code)
                    .unwrap_or(ErrorCode::Internal);
                body_response(ErrorBody::new(code))
            }),
        )
        .route(
            "/__test/db-error",
            get(|| async {
                Err::<(), _>(Error::Db(DbErr::Custom(
                    "SELECT password_hash FROM users WHERE email='ceo@example.com'".into(),
                )))
            }),
        )
        .route(
            "/__test/panic",
            get(|| async {
                let v: Vec<u8> = Vec::new();
                #[expect(clippy::indexing_slicing, reason = "the panic is the point")]
                let boom = v[3];
                boom.to_string()
            }),
        )
        .route(
            "/__test/plain",
            get(|| async { (StatusCode::CONFLICT, "plain text from a layer").into_response() }),
        )
}

async fn app(kind: DbKind) -> TestApp {
    TestApp::spawn_with(kind, |c| c.max_body_bytes = 2048, probes()).await
}

async fn json(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    (status, res.json().await.expect("json"))
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn every_code_renders_its_table_entry(#[case] kind: DbKind) {
    let app = app(kind).await;
    for code in ErrorCode::ALL {
        let info = code.info();
        let (status, body) = json(app.get(&format!("/__test/code/{}", info.code)).await).await;
        assert_eq!(status, info.status, "{code:?}");
        assert_contract_body(&body, info.code);
        assert_eq!(body["error"]["type"], info.openai_type);
        assert_eq!(body["detail"], info.detail);
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn one_snapshot_per_status(#[case] kind: DbKind) {
    let app = app(kind).await;
    let mut seen = std::collections::BTreeMap::new();
    for code in ErrorCode::ALL {
        seen.entry(code.status()).or_insert(*code);
    }
    for (status, code) in seen {
        let (got, body) = json(app.get(&format!("/__test/code/{}", code.info().code)).await).await;
        assert_eq!(got, status);
        insta::assert_json_snapshot!(format!("status_{status}"), body);
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn unknown_api_route_is_404(#[case] kind: DbKind) {
    let app = app(kind).await;
    let (status, body) = json(app.get("/v1/no-such-thing").await).await;
    assert_eq!(status, 404);
    assert_contract_body(&body, "REQ-006");
    insta::assert_json_snapshot!("unknown_route", body);

    // Not an API path, but the client does not want HTML: still the contract body.
    let (status, body) = json(app.get("/no-such-page").await).await;
    assert_eq!(status, 404);
    assert_contract_body(&body, "REQ-006");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn wrong_method_is_405(#[case] kind: DbKind) {
    let app = app(kind).await;
    let res = app
        .client
        .delete(app.url("/api/health"))
        .send()
        .await
        .expect("request");
    let (status, body) = json(res).await;
    assert_eq!(status, 405);
    assert_contract_body(&body, "REQ-007");
    insta::assert_json_snapshot!("method_not_allowed", body);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn malformed_json_is_400(#[case] kind: DbKind) {
    let app = app(kind).await;
    let res = app
        .client
        .post(app.url("/__test/echo"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .expect("request");
    let (status, body) = json(res).await;
    assert_eq!(status, 400);
    assert_contract_body(&body, "REQ-002");
    insta::assert_json_snapshot!("malformed_json", body);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn missing_and_mistyped_fields_are_named(#[case] kind: DbKind) {
    let app = app(kind).await;
    let post = |body: &'static str| {
        app.client
            .post(app.url("/__test/echo"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, body) = json(post("{}").await.expect("request")).await;
    assert_eq!(status, 400);
    assert_contract_body(&body, "REQ-001");
    assert_eq!(body["detail"], "query field is required.");
    assert_eq!(body["error"]["param"], "query");

    let (status, body) = json(
        post("{\"query\": \"x\", \"limit\": \"ten\"}")
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "limit");

    let (status, body) = json(post("{\"query\": \"ok\"}").await.expect("request")).await;
    assert_eq!(status, 200);
    assert_eq!(body["query"], "ok");

    let (status, body) = json(app.get("/__test/page?limit=abc").await).await;
    assert_eq!(status, 400);
    assert_contract_body(&body, "REQ-003");
}

/// Every body is a JSON object: serde would read a struct from an array of its fields in order,
/// which the document does not allow, so arrays, strings, numbers and `null` are refused.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn bodies_must_be_objects(#[case] kind: DbKind) {
    let app = app(kind).await;
    for body in ["[\"x\", 3]", "\"x\"", "3", "null", " [] "] {
        let res = app
            .client
            .post(app.url("/__test/echo"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let (status, json) = json(res).await;
        assert_eq!(status, 400, "{body}");
        assert_contract_body(&json, "REQ-001");
        assert_eq!(
            json["detail"], "The request body must be a JSON object.",
            "{body}"
        );
    }
    // An object with white space before it and a charset is fine.
    let res = app
        .client
        .post(app.url("/__test/echo"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#" {"query": "x", "limit": 3}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn wrong_content_type_is_415(#[case] kind: DbKind) {
    let app = app(kind).await;
    let res = app
        .client
        .post(app.url("/__test/echo"))
        .header("content-type", "text/plain")
        .body("{\"query\": \"x\"}")
        .send()
        .await
        .expect("request");
    let (status, body) = json(res).await;
    assert_eq!(status, 415);
    assert_contract_body(&body, "REQ-005");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn oversized_body_is_413(#[case] kind: DbKind) {
    let app = app(kind).await;
    let big = format!("{{\"query\": \"{}\"}}", "x".repeat(4096));
    let res = app
        .client
        .post(app.url("/__test/echo"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("request");
    let (status, body) = json(res).await;
    assert_eq!(status, 413);
    assert_contract_body(&body, "REQ-004");
    insta::assert_json_snapshot!("payload_too_large", body);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn internal_errors_are_generic_and_never_leak(#[case] kind: DbKind) {
    let app = app(kind).await;
    for path in ["/__test/db-error", "/__test/panic"] {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!(status, 500, "{path}");
        assert_contract_body(&body, "SRV-001");
        let text = body.to_string();
        for leak in [
            "SELECT",
            "password",
            "ceo@example.com",
            "index out of bounds",
            "panicked",
        ] {
            assert!(!text.contains(leak), "{path} leaked {leak}: {text}");
        }
        assert!(!app.ctx.secrets().appears_in(&text));
    }
    // The server survives the panic.
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn non_json_errors_from_layers_are_rewritten(#[case] kind: DbKind) {
    let app = app(kind).await;
    let (status, body) = json(app.get("/__test/plain").await).await;
    assert_eq!(status, 409);
    assert_contract_body(&body, "REQ-008");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn browsers_get_the_not_found_page(#[case] kind: DbKind) {
    let app = app(kind).await;
    let res = app
        .client
        .get(app.url("/no-such-page"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 404);
    let html = res.text().await.expect("html");
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains("<nav"), "the layout wraps the not-found page");
}

#[test]
fn error_response_helper_sets_www_authenticate() {
    let res: Response = body_response(ErrorBody::new(ErrorCode::Unauthenticated));
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
}
