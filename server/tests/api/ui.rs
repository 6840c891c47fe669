//! Server-side rendering and the server functions behind the dashboard.

use aerie_backend::config::DbKind;
use rstest::rstest;

use crate::support::TestApp;

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url(path))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    (res.status().as_u16(), res.text().await.expect("html"))
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn home_renders_on_the_server_with_hydration_scripts(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, page) = html(&app, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<title>Aerie</title>"), "{page}");
    assert!(page.contains("on your own server"));
    assert!(page.contains("/pkg/aerie.js"), "hydration script is linked");
    assert!(page.contains("/pkg/aerie.css"));
    assert!(page.contains("id=\"check-status\""));
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn api_reference_lists_the_generated_operations(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, page) = html(&app, "/api-reference").await;
    assert_eq!(status, 200);
    for needle in ["API reference", "/api/health", "/health/", "/metrics"] {
        assert!(page.contains(needle), "{needle} missing");
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite, "sqlite")]
#[case::postgres(DbKind::Postgres, "postgres")]
#[tokio::test]
async fn status_server_function_reports_the_database(#[case] kind: DbKind, #[case] name: &str) {
    let app = TestApp::spawn(kind).await;
    let res = app
        .client
        .post(app.url("/_server/status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["database"], name);
    assert_eq!(body["database_ok"], true);
    assert_eq!(body["dev_mode"], false);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
