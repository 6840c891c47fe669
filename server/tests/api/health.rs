use aerie_backend::config::DbKind;
use aerie_backend::testing::TestDb;
use rstest::rstest;

use crate::support::{TestApp, assert_contract_body};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn health_endpoints_answer(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;

    let (status, body) = app.get_json("/health/").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    let ts = body["timestamp"].as_str().expect("timestamp");
    chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 timestamp");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");

    let (status, body) = app.get_json("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["tier"], "community");

    let (status, body) = app.get_json("/api").await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "Aerie");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let links: Vec<&str> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["href"].as_str())
        .collect();
    assert!(links.contains(&"/api/openapi.json"), "{links:?}");
    // Every advertised link answers.
    for href in links {
        let res = app.get(href).await;
        assert!(res.status().is_success(), "{href}: {}", res.status());
    }
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn health_answers_503_when_the_database_is_gone() {
    let app = TestApp::spawn(DbKind::Postgres).await;
    let name = app.db.pg_name().expect("pg db").to_owned();
    TestDb::drop_pg_database(&name)
        .await
        .expect("drop database");

    let (status, body) = app.get_json("/api/health").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["tier"], "community");
    assert_contract_body(&body, "SRV-003");
    assert_eq!(body["detail"], "The database is unreachable.");
    let text = body.to_string();
    assert!(
        !text.contains(&name) && !text.contains("postgres://"),
        "{text}"
    );

    let (status, body) = app.get_json("/health/").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unhealthy");
    assert_contract_body(&body, "SRV-003");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn every_response_carries_a_request_id(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let res = app.get("/api/health").await;
    let id = res.headers().get("x-request-id").expect("generated id");
    assert_eq!(id.to_str().map(str::len).unwrap_or_default(), 36);

    let res = app
        .client
        .get(app.url("/nope/api"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("request");
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");
}
