//! Seed 004's operational checks, `/api/health/db`, `/api/health/redis` and
//! `/api/health/integrations`.

use aerie_backend::config::{DbKind, Redacted};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::chat::Chat;
use crate::support::idp::OidcIdp;
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// Seed 004's operational checks (`/api/health/db`, `/api/health/redis`), admin only,
/// with the round trip in the body.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn health_db_and_redis_report_latency_to_admins(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (owner, _) = app.login(&email, PASSWORD).await;
    let member = app.join(&owner, "mia@acme.test", "member").await;

    let (status, db) = app
        .authed(Method::GET, "/api/health/db", &owner, None)
        .await;
    assert_eq!(status, 200, "{db}");
    assert_eq!(db["status"], "ok");
    assert_eq!(db["backend"], kind.as_str());
    assert!(
        db["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{db}"
    );
    chrono::DateTime::parse_from_rfc3339(db["checked_at"].as_str().expect("checked_at"))
        .expect("RFC 3339");

    // No Redis URL is set: nothing to check, and it says so.
    let (status, redis) = app
        .authed(Method::GET, "/api/health/redis", &owner, None)
        .await;
    assert_eq!(status, 200, "{redis}");
    assert_eq!(redis["status"], "not_configured");
    assert_eq!(redis["latency_ms"], Value::Null);

    for path in [
        "/api/health/db",
        "/api/health/redis",
        "/api/health/integrations",
    ] {
        let (status, body) = app.authed(Method::GET, path, &member, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_contract_body(&body, "AUTH-005");
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_contract_body(&body, "AUTH-001");
    }

    // With a Redis URL: a real PING (the machine's Redis on 127.0.0.1:6379).
    let with_redis = TestApp::spawn_with(
        kind,
        |c| c.redis_url = Redacted("redis://127.0.0.1:6379".to_owned()),
        axum::Router::new(),
    )
    .await;
    let email = with_redis.setup().await;
    let (owner, _) = with_redis.login(&email, PASSWORD).await;
    let (status, redis) = with_redis
        .authed(Method::GET, "/api/health/redis", &owner, None)
        .await;
    assert_eq!(status, 200, "{redis}");
    assert_eq!(redis["status"], "ok");
    assert_eq!(redis["backend"], "redis");
    assert!(
        redis["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{redis}"
    );

    // A Redis that does not answer: 503 in the contract shape, without the URL.
    let dead = TestApp::spawn_with(
        kind,
        |c| c.redis_url = Redacted("redis://:s3cret-pass@127.0.0.1:1/0".to_owned()),
        axum::Router::new(),
    )
    .await;
    let email = dead.setup().await;
    let (owner, _) = dead.login(&email, PASSWORD).await;
    let (status, redis) = dead
        .authed(Method::GET, "/api/health/redis", &owner, None)
        .await;
    assert_eq!(status, 503, "{redis}");
    assert_contract_body(&redis, "SRV-003");
    assert_eq!(redis["status"], "unavailable");
    assert_eq!(redis["detail"], "Redis is unreachable.");
    assert!(!redis.to_string().contains("s3cret"), "{redis}");
}

/// `/api/health/integrations` checks the organisation's LLM providers and single
/// sign-on providers live and says which answer, how fast, or what failed.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn health_integrations_checks_providers_live(#[case] kind: DbKind) {
    let Chat {
        app,
        fake,
        jwt,
        provider_id,
        ..
    } = Chat::start_with(kind, |c| c.allow_private_sso_urls = true).await;
    let idp = OidcIdp::start().await;
    let (status, sso) = app
        .authed(
            Method::POST,
            "/api/sso/providers",
            &jwt,
            Some(
                json!({"kind": "oidc", "name": "Local OIDC", "issuer": idp.issuer(),
                        "client_id": "aerie-test", "client_secret": "oidc-client-secret-9921"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{sso}");

    let (status, health) = app
        .authed(Method::GET, "/api/health/integrations", &jwt, None)
        .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    let llm = &health["llm_providers"][0];
    assert_eq!(llm["id"], provider_id.as_str());
    assert_eq!(llm["name"], "fake");
    assert_eq!(llm["status"], "ok", "{health}");
    assert!(llm["latency_ms"].as_f64().is_some(), "{health}");
    let oidc = &health["sso_providers"][0];
    assert_eq!(oidc["id"], sso["id"]);
    assert_eq!(oidc["kind"], "oidc");
    assert_eq!(oidc["status"], "ok", "{health}");
    assert!(oidc["latency_ms"].as_f64().is_some(), "{health}");
    assert!(!health.to_string().contains("sk-upstream-secret"));

    // Both go away: each is reported with what failed; the body is still a 200 report.
    drop(fake);
    drop(idp);
    let (status, health) = app
        .authed(Method::GET, "/api/health/integrations", &jwt, None)
        .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    for item in [&health["llm_providers"][0], &health["sso_providers"][0]] {
        assert_eq!(item["status"], "error", "{health}");
        assert!(
            item["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{health}"
        );
    }
    // The SSO failure is also the provider's last error.
    let (_, providers) = app
        .authed(Method::GET, "/api/sso/providers", &jwt, None)
        .await;
    assert!(providers[0]["last_error"].is_string(), "{providers}");
}
