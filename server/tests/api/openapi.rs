use aerie_backend::config::DbKind;

use rstest::rstest;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_document_is_generated_from_the_routes_and_pinned(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/health/",
        "/api/health",
        "/api",
        "/metrics",
        "/api/health/db",
        "/api/health/redis",
        "/api/health/integrations",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is undocumented");
    }
    for scheme in [
        "cookie",
        "bearer_jwt",
        "api_key",
        "x_api_key",
        "metrics_basic",
    ] {
        assert!(
            doc["components"]["securitySchemes"].get(scheme).is_some(),
            "{scheme}"
        );
    }
    assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
    // Every security requirement names a declared scheme.
    let schemes = &doc["components"]["securitySchemes"];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            for requirement in op["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().expect("requirement").keys() {
                    assert!(
                        schemes.get(name).is_some(),
                        "{method} {path} uses undeclared {name}"
                    );
                }
            }
        }
    }
    // The served document is the one the code generates.
    let generated = serde_json::to_value(aerie_server::router::openapi()).expect("json");
    assert_eq!(doc, generated);
    insta::assert_json_snapshot!("openapi", doc, {".info.version" => "[version]"});
}
