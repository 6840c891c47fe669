//! Browser sessions: cookie login, renewal, logout, CSRF, profile, rate limits.

use aerie_backend::config::DbKind;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// A browser-like client: cookie jar, and `Origin` set as a browser would.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("aerie_session="))
        .map(str::to_owned)
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn cookie_login_renewal_logout(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let client = browser();
    let origin = format!("http://{}", app.addr);
    let login = || {
        client
            .post(app.url("/auth/admin-login"))
            .header("origin", &origin)
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };

    let res = login().await.expect("login");
    assert_eq!(res.status(), 200);
    let first = session_cookie(&res).expect("session cookie");
    assert!(first.contains("HttpOnly"), "{first}");
    assert!(first.contains("SameSite=Lax"), "{first}");
    assert!(
        !first.contains("Secure"),
        "plain http must not mark the cookie Secure: {first}"
    );
    let user: serde_json::Value = res.json().await.expect("json");
    assert_eq!(user["email"], "owner@acme.test");

    let me: serde_json::Value = client
        .get(app.url("/auth/user"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "owner");
    let perms: serde_json::Value = client
        .get(app.url("/auth/my-permissions"))
        .send()
        .await
        .expect("perms")
        .json()
        .await
        .expect("json");
    assert_eq!(perms["role"], "owner");
    assert!(
        perms["permissions"]
            .as_array()
            .expect("list")
            .contains(&json!("users:manage"))
    );
    assert_eq!(perms["orgs"][0]["slug"], "acme");

    // Signing in again issues a new session id (no fixation).
    let second = session_cookie(&login().await.expect("login")).expect("cookie");
    let id = |c: &str| c.split(';').next().unwrap_or_default().to_owned();
    assert_ne!(id(&first), id(&second));

    // Logout ends it.
    let res = client
        .post(app.url("/auth/logout"))
        .header("origin", &origin)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    let res = client.get(app.url("/auth/user")).send().await.expect("me");
    assert_eq!(res.status(), 401);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"logout".to_owned()), "{actions:?}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn cookie_requests_from_other_sites_are_refused(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let client = browser();
    let origin = format!("http://{}", app.addr);
    let res = client
        .post(app.url("/auth/admin-login"))
        .header("origin", &origin)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);

    let update = |origin: Option<&str>, site: Option<&str>| {
        let mut req = client
            .post(app.url("/auth/update-profile"))
            .json(&json!({"name": "Renamed"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        req.send()
    };
    for (origin, site) in [
        (Some("https://evil.test"), None),
        (None, Some("cross-site")),
        (None, None),
    ] {
        let res = update(origin, site).await.expect("request");
        assert_eq!(res.status(), 403, "{origin:?} {site:?}");
        let body: serde_json::Value = res.json().await.expect("json");
        assert_contract_body(&body, "AUTH-005");
    }
    // Nothing changed.
    let me: serde_json::Value = client
        .get(app.url("/auth/user"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["name"], "Olive Owner");

    // A login form posted from another site is refused too (login CSRF).
    let res = reqwest::Client::new()
        .post(app.url("/auth/admin-login"))
        .header("origin", "https://evil.test")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 403);

    let res = update(Some(&origin), None).await.expect("request");
    assert_eq!(res.status(), 200);
    let res = update(None, Some("same-origin")).await.expect("request");
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().await.expect("json");
    assert_eq!(me["name"], "Renamed");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn profile_updates_validate_each_field(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    for (body, field) in [
        (json!({"language": "xx"}), "language"),
        (json!({"name": " "}), "name"),
        (json!({"avatar_url": "javascript:alert(1)"}), "avatar_url"),
    ] {
        let (status, answer) = app
            .authed(
                reqwest::Method::POST,
                "/auth/update-profile",
                &jwt,
                Some(body),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["param"], field);
    }
    let (status, user) = app
        .authed(
            reqwest::Method::POST,
            "/auth/update-profile",
            &jwt,
            Some(json!({"name": "Olive O.", "avatar_url": "https://img.test/o.png", "language": "en"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user["name"], "Olive O.");
    assert_eq!(user["avatar_url"], "https://img.test/o.png");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn repeated_failed_logins_are_rate_limited(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let mut limited = None;
    for _ in 0..10 {
        let res = app
            .client
            .post(app.url("/auth/jwt/create/"))
            .json(&json!({"email": email, "password": "wrong-wrong-wrong"}))
            .send()
            .await
            .expect("request");
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), 401);
    }
    let res = limited.expect("the account limit kicks in");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_contract_body(&body, "RATE-001");
    // Even the right password waits now: no guessing around the limit.
    let (status, _) = app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 429);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn cookies_are_secure_behind_https_and_server_functions_need_same_origin(
    #[case] kind: DbKind,
) {
    let app = TestApp::spawn_with(
        kind,
        |c| c.public_url = "https://aerie.example.com".to_owned(),
        axum::Router::new(),
    )
    .await;
    let email = app.setup().await;
    let client = browser();
    let res = client
        .post(app.url("/auth/admin-login"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = session_cookie(&res).expect("cookie");
    assert!(cookie.contains("Secure"), "{cookie}");

    // A server function (form-encoded POST) from another site is refused like any other.
    let res = reqwest::Client::new()
        .post(app.url("/_server/keys_create"))
        .header("cookie", cookie.split(';').next().unwrap_or_default())
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=stolen&expires_at=")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 403);
    let (_, keys) = app
        .authed(
            reqwest::Method::GET,
            "/api/api-keys",
            &app.login(&email, PASSWORD).await.0,
            None,
        )
        .await;
    assert_eq!(keys, json!([]), "nothing was created");
}
