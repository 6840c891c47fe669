//! Security headers on every answer (a Content-Security-Policy whose only inline scripts are
//! the ones Leptos renders with this response's nonce, `frame-ancestors 'none'`, `nosniff`, a
//! referrer policy) and the Host check that keeps DNS rebinding away from `aerie dev` and from an
//! instance that is not set up yet.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// The value of `name` in `policy` (e.g. `script-src`), as its list of sources.
fn directive<'a>(policy: &'a str, name: &str) -> Option<Vec<&'a str>> {
    policy.split(';').map(str::trim).find_map(|d| {
        let mut words = d.split_whitespace();
        (words.next() == Some(name)).then(|| words.collect())
    })
}

/// The opening tags of every `<script` element of `html`.
fn script_tags(html: &str) -> Vec<&str> {
    html.split("<script")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or_default())
        .collect()
}

fn assert_common_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(
        h.get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        h.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("same-origin"),
        "{what}"
    );
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert_eq!(
        directive(csp, "frame-ancestors"),
        Some(vec!["'none'"]),
        "{what}: {csp}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn pages_allow_only_their_own_nonced_scripts(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    let mut nonces = Vec::new();
    for path in ["/", "/login", "/keys", "/chat", "/no-such-page"] {
        let res = app
            .client
            .get(app.url(path))
            .header("accept", "text/html")
            .bearer_auth(&jwt)
            .send()
            .await
            .expect("request");
        assert_common_headers(&res, path);
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let html = res.text().await.expect("html");
        assert!(html.contains("/pkg/aerie.js"), "{path} is the dashboard");
        let scripts = directive(&csp, "script-src").expect("script-src");
        assert!(!scripts.contains(&"'unsafe-inline'"), "{csp}");
        assert!(!scripts.contains(&"'unsafe-eval'"), "{csp}");
        assert!(scripts.contains(&"'self'"), "{csp}");
        assert!(scripts.contains(&"'wasm-unsafe-eval'"), "{csp}");
        let nonce = scripts
            .iter()
            .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"))
            .to_owned();
        assert!(nonce.len() >= 22, "{nonce}");
        // Every inline script (the hydration bootstrap, streamed resources) carries it.
        let tags = script_tags(&html);
        assert!(!tags.is_empty(), "{path}: the hydration script is inline");
        for tag in tags {
            if !tag.contains(" src=") {
                assert!(
                    tag.contains(&format!("nonce=\"{nonce}\"")),
                    "{path}: inline <script{tag}> without this response's nonce"
                );
            }
        }
        assert!(!html.contains(" onload=") && !html.contains(" onclick="));
        assert_eq!(directive(&csp, "object-src"), Some(vec!["'none'"]));
        assert_eq!(directive(&csp, "base-uri"), Some(vec!["'none'"]));
        nonces.push(nonce);
    }
    // A fresh nonce per response.
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5);

    // API answers: nothing to run, nothing to frame.
    for path in ["/api/health", "/api/agents", "/api/no-such-route"] {
        let res = app
            .client
            .request(Method::GET, app.url(path))
            .bearer_auth(&jwt)
            .send()
            .await
            .expect("request");
        assert_common_headers(&res, path);
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(directive(csp, "default-src"), Some(vec!["'none'"]), "{csp}");
    }
}

async fn get_with_host(app: &TestApp, path: &str, host: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(app.url(path))
        .header("host", host)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn an_instance_not_set_up_answers_only_loopback_host_names(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let port = app.addr.port();
    for host in [
        format!("rebind.evil.test:{port}"),
        "rebind.evil.test".to_owned(),
        format!("localhost.evil.test:{port}"),
    ] {
        let (status, body) = get_with_host(&app, "/auth/setup-status", &host).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert_contract_body(&body, "AUTH-005");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("localhost")),
            "{body}"
        );
        // Setting it up from there is refused too.
        let res = app
            .client
            .post(app.url("/auth/setup"))
            .header("host", &host)
            .json(
                &serde_json::json!({"email": "eve@evil.test", "password": PASSWORD,
                                      "name": "Eve", "organization_name": "Evil"}),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 403, "{host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("aerie.localhost:{port}"),
        "localhost".to_owned(),
    ] {
        let (status, body) = get_with_host(&app, "/auth/setup-status", &host).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["bootstrapped"], false);
    }

    // Once set up, the instance answers any host name (its operator put it behind one).
    app.setup().await;
    let (status, body) = get_with_host(
        &app,
        "/auth/setup-status",
        &format!("aerie.example.org:{port}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bootstrapped"], true);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn dev_mode_answers_only_loopback_host_names(#[case] kind: DbKind) {
    let db = aerie_backend::testing::TestDb::new(kind).await.expect("db");
    let mut config = db.config();
    config.listen = "127.0.0.1:0".parse().expect("addr");
    let server = aerie_server::startup::Server::build_with(config, true, axum::Router::new())
        .await
        .expect("server builds");
    let addr = server.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    // Set up (from loopback), so only dev mode is left to explain a refusal.
    let res = client
        .post(format!("http://{addr}/auth/setup"))
        .json(
            &serde_json::json!({"email": "dev@acme.test", "password": PASSWORD,
                                  "name": "Dev", "organization_name": "Acme"}),
        )
        .send()
        .await
        .expect("setup");
    assert_eq!(res.status(), 201);
    for (host, expected) in [
        (format!("rebind.evil.test:{}", addr.port()), 403),
        (format!("localhost:{}", addr.port()), 200),
        (addr.to_string(), 200),
    ] {
        let res = client
            .get(format!("http://{addr}/api/agents"))
            .header("host", &host)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), expected, "{host}");
    }
    let _ = stop.send(());
    task.await.expect("join").expect("stopped");
}
