use std::collections::BTreeMap;

use aerie_backend::config::DbKind;

use rstest::rstest;
use serde_json::Value;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
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

/// The operations anyone may call without a credential: first-run setup, sign-in and its
/// single sign-on legs, signup, discovery and health. Every other operation must name the
/// credentials it accepts, so that the document shows no authenticated operation as open.
/// The tenancy walk (`tenancy_walk.rs`) skips these and walks every other operation.
pub(crate) const PUBLIC_OPERATIONS: &[&str] = &[
    "GET /api",
    "GET /api/health",
    "GET /api/marketplace/agents",
    "GET /api/marketplace/knowledge",
    "POST /auth/admin-login",
    "GET /auth/invite/{token}",
    "POST /auth/jwt/create/",
    "POST /auth/jwt/refresh/",
    "GET /auth/login-pickup",
    "POST /auth/logout",
    "GET /auth/organizations/public",
    "POST /auth/pending-signup",
    "POST /auth/saml/acs",
    "GET /auth/saml/metadata",
    "POST /auth/setup",
    "GET /auth/setup-status",
    "POST /auth/signup",
    "GET /auth/sso/discover",
    "GET /auth/sso/link",
    "POST /auth/sso/link",
    "GET /auth/{provider}/callback",
    "GET /auth/{provider}/login",
    "GET /health/",
    // Egret's domain views (seed 000 "Public"); a valid credential widens the answer.
    "GET /v1/domains/",
    "GET /v1/domains/{slug}/",
    "GET /v1/domains/{slug}/categories/",
    // Seed 000 "Public": the plans on offer.
    "GET /v1/billings/plans/",
    // Open only when no metrics password is configured (`metrics_basic` otherwise).
    "GET /metrics",
];

/// Walks the generated document (no server needed): an operation without a security
/// requirement, or with an empty one (`security(())`), must be on the public list, and every
/// entry of the list must still exist and be open.
#[test]
fn every_operation_names_its_credentials_unless_public() {
    let doc = serde_json::to_value(aerie_server::router::openapi()).expect("json");
    let mut open = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("responses").is_none() {
                continue; // path-level fields (parameters, summary)
            }
            let requirements = op["security"].as_array();
            let is_open = requirements.is_none_or(|r| {
                r.is_empty()
                    || r.iter()
                        .any(|x| x.as_object().is_some_and(|o| o.is_empty()))
            });
            if is_open {
                open.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    open.sort();
    let mut expected: Vec<String> = PUBLIC_OPERATIONS.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        open, expected,
        "operations open to anyone differ from the public list"
    );
}

/// The `security` of every operation, exactly as served (order included), pinned: the credentials
/// are declared once per route family (`server/src/routes/family.rs`), and moving a declaration
/// must not change what the document says or what `middleware/credentials.rs` enforces.
#[test]
fn the_declared_security_of_every_operation_is_pinned() {
    let doc = serde_json::to_value(aerie_server::router::openapi()).expect("json");
    let mut security = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("responses").is_none() {
                continue;
            }
            security.insert(
                format!("{} {path}", method.to_uppercase()),
                op.get("security").cloned().unwrap_or(Value::Null),
            );
        }
    }
    insta::assert_json_snapshot!("security", security);
}
