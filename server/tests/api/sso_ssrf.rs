//! Single sign-on never makes the server request a private address an admin names, as an IP
//! literal or through a discovery document (server-side request forgery): the provider is refused
//! with 400 before anything is sent there. Private addresses stay off
//! (`AERIE_ALLOW_PRIVATE_SSO_URLS` unset); one test allows a single network
//! (`AERIE_ALLOW_PRIVATE_SSO_NETWORKS`) for its own identity provider and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// A TCP listener on `ip` that counts the connections it gets and answers each with a plain
/// `200 OK` (so that a request that reaches it would look like success).
async fn counting_listener(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    )
                    .await;
            });
        }
    });
    (addr, hits)
}

async fn owner(app: &TestApp) -> String {
    let email = app.setup().await;
    app.login(&email, PASSWORD).await.0
}

async fn add_provider(app: &TestApp, jwt: &str, body: Value) -> (u16, Value) {
    app.authed(Method::POST, "/api/sso/providers", jwt, Some(body))
        .await
}

/// A refusal by the SSRF guard: 400 in the error contract, naming `field` and the address.
fn assert_refused(status: u16, body: &Value, field: &str, address: &str) {
    assert_eq!(status, 400, "{body}");
    assert_contract_body(body, "REQ-001");
    assert_eq!(body["error"]["param"], field, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("private or loopback") && detail.contains(address),
        "{detail}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn github_provider_at_a_private_address_is_refused_without_a_request(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let jwt = owner(&app).await;
    let (listener, hits) = counting_listener("127.0.0.1").await;
    let port = listener.port();

    for (issuer, shown) in [
        (format!("http://127.0.0.1:{port}"), "127.0.0.1".to_owned()),
        (
            format!("http://[::ffff:127.0.0.1]:{port}"),
            "::ffff:127.0.0.1".to_owned(),
        ),
        (format!("http://localhost:{port}"), "localhost".to_owned()),
        (
            "http://169.254.169.254".to_owned(),
            "169.254.169.254".to_owned(),
        ),
    ] {
        let (status, body) = add_provider(
            &app,
            &jwt,
            json!({"kind": "github", "name": format!("GitHub {shown}"), "issuer": issuer,
                   "client_id": "gh-client", "client_secret": "gh-secret"}),
        )
        .await;
        assert_refused(status, &body, "issuer", &shown);
    }
    // The API base (GitHub's `userinfo_url`) of a public GitHub Enterprise is checked too.
    let (status, body) = add_provider(
        &app,
        &jwt,
        json!({"kind": "github", "name": "GitHub API", "issuer": "https://8.8.8.8",
               "userinfo_url": format!("http://127.0.0.1:{port}/api/v3"),
               "client_id": "gh-client", "client_secret": "gh-secret"}),
    )
    .await;
    assert_refused(status, &body, "userinfo_url", "127.0.0.1");

    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request reached the private listener"
    );
    let (_, list) = app
        .authed(Method::GET, "/api/sso/providers", &jwt, None)
        .await;
    assert_eq!(list, json!([]), "nothing was stored");
}

/// An OpenID provider on 127.0.0.2 (the network the operator allowed) whose discovery document
/// names `userinfo` as its userinfo endpoint.
async fn discovery_server(userinfo: Arc<std::sync::Mutex<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let issuer = base.clone();
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let issuer = issuer.clone();
                let userinfo = userinfo.lock().map(|u| u.clone()).unwrap_or_default();
                async move {
                    axum::Json(json!({
                        "issuer": issuer,
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"),
                        "jwks_uri": format!("{issuer}/jwks"),
                        "userinfo_endpoint": userinfo,
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }))
                }
            }),
        )
        .route("/authorize", axum::routing::get(|| async { "sign in" }))
        .route(
            "/jwks",
            axum::routing::get(|| async { axum::Json(json!({"keys": []})) }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_discovered_private_userinfo_endpoint_is_refused(#[case] kind: DbKind) {
    let app = TestApp::spawn_with(
        kind,
        |c| c.allow_private_sso_networks = "127.0.0.2/32".to_owned(),
        axum::Router::new(),
    )
    .await;
    let jwt = owner(&app).await;
    let (listener, hits) = counting_listener("127.0.0.1").await;
    let userinfo = Arc::new(std::sync::Mutex::new(String::new()));
    let issuer = discovery_server(userinfo.clone()).await;
    let set_userinfo = |url: String| {
        if let Ok(mut u) = userinfo.lock() {
            *u = url;
        }
    };

    for (target, shown) in [
        (format!("http://{listener}/userinfo"), "127.0.0.1"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "169.254.169.254",
        ),
        (
            format!("http://localhost:{}/userinfo", listener.port()),
            "localhost",
        ),
    ] {
        set_userinfo(target);
        let (status, body) = add_provider(
            &app,
            &jwt,
            json!({"kind": "oidc", "name": "In-house", "issuer": issuer,
                   "client_id": "aerie", "client_secret": "in-house-secret"}),
        )
        .await;
        assert_refused(status, &body, "issuer", shown);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request reached the private listener"
    );

    // The same provider with its userinfo endpoint in the allowed network is accepted: the
    // refusals above are the guard's, not a broken provider's.
    set_userinfo(format!("{issuer}/userinfo"));
    let (status, body) = add_provider(
        &app,
        &jwt,
        json!({"kind": "oidc", "name": "In-house", "issuer": issuer,
               "client_id": "aerie", "client_secret": "in-house-secret"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["userinfo_url"], format!("{issuer}/userinfo"));

    // The allowed network is that one only: loopback elsewhere is still refused.
    let (status, body) = add_provider(
        &app,
        &jwt,
        json!({"kind": "oidc", "name": "Other", "issuer": format!("http://{listener}"),
               "client_id": "aerie", "client_secret": "in-house-secret"}),
    )
    .await;
    assert_refused(status, &body, "issuer", "127.0.0.1");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
