use aerie_backend::config::DbKind;
use base64::Engine;

use rstest::rstest;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn requests_are_counted_by_route_and_status(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.get("/api/health").await.status(), 200);
    assert_eq!(app.get("/v1/does-not-exist/12345").await.status(), 404);

    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    let text = res.text().await.expect("text");
    let has = |needle: &str| text.lines().any(|l| l.contains(needle));
    assert!(
        has("aerie_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"}"),
        "{text}"
    );
    assert!(has("aerie_http_request_duration_seconds_bucket{"), "{text}");
    // Unmatched paths are folded into one label: no cardinality explosion from scanners.
    assert!(has("route=\"unmatched\",status=\"404\""), "{text}");
    assert!(!text.contains("12345"), "raw paths must not become labels");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn basic_auth_guards_metrics_when_configured(#[case] kind: DbKind) {
    let app = TestApp::spawn_with(
        kind,
        |c| c.metrics_basic_auth = "prom:s3cret-pass".to_owned(),
        axum::Router::new(),
    )
    .await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .starts_with("Basic")
    );
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "AUTH-001");

    let auth = |creds: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(creds)
        )
    };
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .header("authorization", auth("prom:wrong"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    let ok = app
        .client
        .get(app.url("/metrics"))
        .header("authorization", auth("prom:s3cret-pass"))
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
}
