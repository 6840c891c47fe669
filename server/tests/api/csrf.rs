//! The CSRF check exempts only requests that authenticate with a token in a header (a bearer
//! JWT or API key, which browsers never attach by themselves), and such a request is never
//! authenticated by its cookie. Anything else a browser could send cross-site with its cookies
//! (HTTP Basic credentials, an empty `Bearer`, an empty `X-API-Key`) is checked.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn only_a_real_bearer_or_api_key_skips_the_csrf_check(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let res = browser
        .post(app.url("/auth/admin-login"))
        .header("origin", format!("http://{}", app.addr))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);

    // A cross-site form post carrying the session cookie and something in the credential
    // headers that is not a bearer token or API key.
    for (header, value) in [
        ("authorization", "Basic b3duZXI6cGFzc3dvcmQ="),
        ("authorization", "Bearer "),
        ("authorization", "Bearer"),
        ("authorization", "Negotiate abc"),
        ("x-api-key", ""),
        ("x-api-key", "   "),
    ] {
        let res = browser
            .post(app.url("/api/api-keys"))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.test")
            .header(header, value)
            .json(&json!({"name": "csrf"}))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, 403, "{header}: {value:?} got {body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("Cross-site request refused")),
            "{body}"
        );
    }

    // A bearer token is exempt, and then it alone authenticates: a bad one is a 401, never the
    // cookie's session.
    for (header, value) in [
        ("authorization", "Bearer not-a-token"),
        ("x-api-key", "aerie_not-a-key"),
    ] {
        let res = browser
            .post(app.url("/api/api-keys"))
            .header("sec-fetch-site", "cross-site")
            .header(header, value)
            .json(&json!({"name": "csrf"}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401, "{header}: {value}");
    }

    // Nothing was created.
    let (status, keys) = app.authed(Method::GET, "/api/api-keys", &jwt, None).await;
    assert_eq!(status, 200);
    assert_eq!(keys.as_array().map(Vec::len), Some(0), "{keys}");
}
