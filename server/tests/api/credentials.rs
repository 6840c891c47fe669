//! Which credentials reach which route: every documented operation is listed below with the
//! credential kinds it accepts, the OpenAPI document must declare exactly that, and each kind is
//! tried against the running server. API keys reach the data plane only; managing keys, members,
//! the organisation, providers and sign-in settings (and the whole dashboard) takes a person.
//! A route added without a row here fails `every_route_accepts_exactly_its_listed_credentials`.

use std::collections::BTreeSet;

use aerie_backend::config::DbKind;
use aerie_backend::error::PERSON_REQUIRED;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp};

/// Credential kinds, as bits.
const NONE: u8 = 1;
const SESSION: u8 = 2;
const JWT: u8 = 4;
const API_KEY: u8 = 8;

/// Public: credentials are ignored.
const ANYONE: u8 = NONE | SESSION | JWT | API_KEY;
/// A person: browser session or JWT.
const PEOPLE: u8 = SESSION | JWT;
/// The data plane: a person or an API key.
const DATA: u8 = SESSION | JWT | API_KEY;
/// Marks a public operation that reads a valid credential when one is sent (its answer is wider
/// for a caller it knows): it declares every scheme beside the empty requirement.
const WIDENED: u8 = 16;
/// Public, widened by any valid credential (Egret's domain views).
const ANYONE_WIDENED: u8 = ANYONE | WIDENED;

/// Every documented operation and the credentials it accepts.
const TABLE: &[(&str, &str, u8)] = &[
    ("GET", "/api", ANYONE),
    ("GET", "/api/health", ANYONE),
    ("GET", "/health/", ANYONE),
    ("GET", "/api/health/db", PEOPLE),
    ("GET", "/api/health/redis", PEOPLE),
    ("GET", "/api/health/integrations", PEOPLE),
    ("GET", "/metrics", ANYONE),
    // agents: reading is data plane, changing them takes a person
    ("GET", "/api/agents", DATA),
    ("POST", "/api/agents", PEOPLE),
    ("GET", "/api/agents/{id}", DATA),
    ("PATCH", "/api/agents/{id}", PEOPLE),
    ("DELETE", "/api/agents/{id}", PEOPLE),
    ("POST", "/api/agents/{id}/duplicate", PEOPLE),
    ("POST", "/api/agents/{id}/publish", PEOPLE),
    ("GET", "/api/agents/{id}/tools", DATA),
    ("GET", "/api/marketplace/agents", ANYONE),
    ("GET", "/v1/agents", DATA),
    // knowledge bases: reading is data plane, changing them takes a person; Egret's domain
    // views are public (a credential only widens them)
    ("GET", "/api/knowledge", DATA),
    ("POST", "/api/knowledge", PEOPLE),
    ("GET", "/api/knowledge/{id}", DATA),
    ("PATCH", "/api/knowledge/{id}", PEOPLE),
    ("DELETE", "/api/knowledge/{id}", PEOPLE),
    ("GET", "/api/knowledge/{id}/categories", DATA),
    ("POST", "/api/knowledge/{id}/categories", PEOPLE),
    (
        "PATCH",
        "/api/knowledge/{id}/categories/{category_id}",
        PEOPLE,
    ),
    (
        "DELETE",
        "/api/knowledge/{id}/categories/{category_id}",
        PEOPLE,
    ),
    ("GET", "/api/marketplace/knowledge", ANYONE),
    // documents: adding and searching are data plane (seed 003's /v1/rag/index takes keys);
    // removing and reindexing take a person
    ("GET", "/api/knowledge/{id}/documents", DATA),
    ("POST", "/api/knowledge/{id}/documents", DATA),
    ("GET", "/api/knowledge/{id}/documents/{document_id}", DATA),
    (
        "DELETE",
        "/api/knowledge/{id}/documents/{document_id}",
        PEOPLE,
    ),
    ("POST", "/api/knowledge/{id}/search", DATA),
    ("POST", "/api/knowledge/{id}/reindex", PEOPLE),
    ("POST", "/v1/rag/index", DATA),
    ("POST", "/v1/rag/query", DATA),
    // Egret's RAG query (seed 000): answers from a domain with citations (with and without
    // the trailing slash)
    ("POST", "/v1/query/", DATA),
    ("POST", "/v1/query", DATA),
    ("GET", "/v1/domains/", ANYONE_WIDENED),
    ("GET", "/v1/domains/{slug}/", ANYONE_WIDENED),
    ("GET", "/v1/domains/{slug}/categories/", ANYONE_WIDENED),
    // keys
    ("GET", "/api/api-keys", PEOPLE),
    ("POST", "/api/api-keys", PEOPLE),
    ("DELETE", "/api/api-keys/{id}", PEOPLE),
    ("GET", "/v1/billings/api-keys/", PEOPLE),
    ("POST", "/v1/billings/api-keys/", PEOPLE),
    ("PATCH", "/v1/billings/api-keys/{id}/update/", PEOPLE),
    ("POST", "/v1/billings/api-keys/{id}/rotate/", PEOPLE),
    // plans are public (seed 000); the subscription takes an API key too
    ("GET", "/v1/billings/plans/", ANYONE),
    ("GET", "/v1/billings/subscription/", DATA),
    // chat and conversations
    ("POST", "/api/chat", DATA),
    ("POST", "/api/chat/{msgId}/cancel", DATA),
    ("POST", "/api/chat/{msgId}/dlp-decision", DATA),
    ("POST", "/api/chat/{msgId}/feedback", DATA),
    ("GET", "/api/conversations", DATA),
    ("POST", "/api/conversations", DATA),
    ("GET", "/api/conversations/{id}", DATA),
    ("PATCH", "/api/conversations/{id}", DATA),
    ("DELETE", "/api/conversations/{id}", DATA),
    ("POST", "/api/conversations/{id}/branch", DATA),
    ("GET", "/api/conversations/{id}/messages", DATA),
    ("POST", "/api/conversations/{id}/title", DATA),
    ("POST", "/v1/chat", DATA),
    ("POST", "/v1/chat/completions", DATA),
    ("GET", "/v1/models", DATA),
    ("GET", "/v1/models/", DATA),
    ("GET", "/v1/sessions/recent/", DATA),
    ("GET", "/v1/sessions/{id}/messages/", DATA),
    ("POST", "/v1/sessions/{id}/rename/", DATA),
    ("DELETE", "/v1/sessions/{id}/delete/", DATA),
    ("GET", "/v1/logs", DATA),
    ("GET", "/v1/audit", DATA),
    ("GET", "/v1/runs", DATA),
    ("POST", "/v1/runs", DATA),
    ("GET", "/v1/runs/{id}", DATA),
    ("POST", "/v1/runs/{id}/resume", DATA),
    // profile
    ("GET", "/auth/user", DATA),
    ("GET", "/auth/my-permissions", DATA),
    ("POST", "/auth/update-profile", DATA),
    ("GET", "/v1/auth/profile", DATA),
    ("GET", "/api/me/identities", PEOPLE),
    ("DELETE", "/api/me/identities/{id}", PEOPLE),
    // organisation, members, groups
    ("GET", "/api/organisation", PEOPLE),
    // the instance operator: people only (and only the operator, 403 for anyone else)
    ("GET", "/api/operator/organizations", PEOPLE),
    ("POST", "/api/operator/organizations", PEOPLE),
    ("DELETE", "/api/operator/organizations/{id}", PEOPLE),
    ("POST", "/api/operator/organizations/{id}/suspend", PEOPLE),
    ("POST", "/api/operator/organizations/{id}/resume", PEOPLE),
    ("GET", "/api/operator/sso-domains", PEOPLE),
    ("POST", "/api/operator/sso-domains/{domain}", PEOPLE),
    ("POST", "/api/operator/plans", PEOPLE),
    ("GET", "/api/operator/prices", PEOPLE),
    ("POST", "/api/operator/prices", PEOPLE),
    ("POST", "/api/operator/organizations/{id}/plan", PEOPLE),
    ("GET", "/api/license/status", PEOPLE),
    ("POST", "/api/license/apply", PEOPLE),
    ("DELETE", "/api/license", PEOPLE),
    ("GET", "/api/routes", PEOPLE),
    ("POST", "/api/routes", PEOPLE),
    ("GET", "/api/routes/{id}", PEOPLE),
    ("PATCH", "/api/routes/{id}", PEOPLE),
    ("DELETE", "/api/routes/{id}", PEOPLE),
    ("GET", "/api/guardrails/policy", PEOPLE),
    ("PUT", "/api/guardrails/policy", PEOPLE),
    ("GET", "/api/guardrails/events", PEOPLE),
    ("GET", "/api/guardrails/events.csv", PEOPLE),
    ("GET", "/api/usage", DATA),
    ("GET", "/api/usage.csv", DATA),
    ("PATCH", "/api/organisation", PEOPLE),
    ("GET", "/api/organisation/groups", PEOPLE),
    ("POST", "/api/organisation/groups", PEOPLE),
    ("PATCH", "/api/organisation/groups/{id}", PEOPLE),
    ("DELETE", "/api/organisation/groups/{id}", PEOPLE),
    ("POST", "/api/organisation/groups/{id}/members", PEOPLE),
    (
        "DELETE",
        "/api/organisation/groups/{id}/members/{user_id}",
        PEOPLE,
    ),
    ("GET", "/v1/orgs/", PEOPLE),
    ("GET", "/v1/orgs/{slug}/", PEOPLE),
    ("PATCH", "/v1/orgs/{slug}/", PEOPLE),
    ("GET", "/api/users", PEOPLE),
    ("POST", "/api/users", PEOPLE),
    ("PATCH", "/api/users/{id}", PEOPLE),
    ("DELETE", "/api/users/{id}", PEOPLE),
    ("GET", "/auth/admin/signup-settings", PEOPLE),
    ("PUT", "/auth/admin/signup-settings", PEOPLE),
    ("GET", "/auth/admin/waitlist", PEOPLE),
    ("POST", "/auth/admin/waitlist/{user_id}/approve", PEOPLE),
    ("POST", "/auth/admin/waitlist/{user_id}/reject", PEOPLE),
    // providers and single sign-on settings
    ("GET", "/api/providers", PEOPLE),
    ("POST", "/api/providers", PEOPLE),
    ("GET", "/api/providers/{id}", PEOPLE),
    ("PATCH", "/api/providers/{id}", PEOPLE),
    ("DELETE", "/api/providers/{id}", PEOPLE),
    ("POST", "/api/providers/{id}/test", PEOPLE),
    ("GET", "/api/sso/providers", PEOPLE),
    ("POST", "/api/sso/providers", PEOPLE),
    ("GET", "/api/sso/providers/{id}", PEOPLE),
    ("PATCH", "/api/sso/providers/{id}", PEOPLE),
    ("DELETE", "/api/sso/providers/{id}", PEOPLE),
    ("POST", "/api/sso/providers/{id}/test", PEOPLE),
    ("GET", "/api/sso/policy", PEOPLE),
    ("PUT", "/api/sso/policy", PEOPLE),
    // signing in and up
    ("GET", "/auth/setup-status", ANYONE),
    ("POST", "/auth/setup", ANYONE),
    ("POST", "/auth/jwt/create/", ANYONE),
    ("POST", "/auth/jwt/refresh/", ANYONE),
    ("POST", "/auth/admin-login", ANYONE),
    ("POST", "/auth/logout", ANYONE),
    ("POST", "/auth/signup", ANYONE),
    ("POST", "/auth/pending-signup", ANYONE),
    ("GET", "/auth/invite/{token}", ANYONE),
    ("GET", "/auth/organizations/public", ANYONE),
    ("GET", "/auth/{provider}/login", ANYONE),
    ("GET", "/auth/{provider}/callback", ANYONE),
    ("GET", "/auth/login-pickup", ANYONE),
    ("GET", "/auth/sso/discover", ANYONE),
    ("GET", "/auth/sso/link", ANYONE),
    ("POST", "/auth/sso/link", ANYONE),
    ("GET", "/auth/saml/metadata", ANYONE),
    ("POST", "/auth/saml/acs", ANYONE),
];

/// One way of presenting credentials.
#[derive(Clone, Copy, Debug)]
enum Try {
    Nothing,
    Session,
    Jwt,
    KeyAsBearer,
    KeyAsHeader,
}

impl Try {
    const ALL: [Try; 5] = [
        Try::Nothing,
        Try::Session,
        Try::Jwt,
        Try::KeyAsBearer,
        Try::KeyAsHeader,
    ];

    fn kind(self) -> u8 {
        match self {
            Try::Nothing => NONE,
            Try::Session => SESSION,
            Try::Jwt => JWT,
            Try::KeyAsBearer | Try::KeyAsHeader => API_KEY,
        }
    }
}

struct Callers {
    app: TestApp,
    browser: reqwest::Client,
    jwt: String,
    key: String,
}

impl Callers {
    async fn start(kind: DbKind) -> Self {
        let app = TestApp::spawn(kind).await;
        let email = app.setup().await;
        let (jwt, _) = app.login(&email, PASSWORD).await;
        let key = app.create_key(&jwt, "table").await;
        let browser = app.browser(&email).await;
        Self {
            app,
            browser,
            jwt,
            key,
        }
    }

    /// Sends `method path` (no body) with one kind of credential: `(status, body)`.
    async fn send(&self, how: Try, method: &str, path: &str) -> (u16, Value) {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let url = self.app.url(path);
        let req = match how {
            Try::Session => self
                .browser
                .request(method, url)
                .header("origin", format!("http://{}", self.app.addr)),
            Try::Nothing => self.app.client.request(method, url),
            Try::Jwt => self.app.client.request(method, url).bearer_auth(&self.jwt),
            Try::KeyAsBearer => self.app.client.request(method, url).bearer_auth(&self.key),
            Try::KeyAsHeader => self
                .app
                .client
                .request(method, url)
                .header("x-api-key", &self.key),
        };
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A concrete URL for a route template.
fn concrete(template: &str) -> String {
    let id = "0190a0c4-1b8e-7c3a-9f4e-2d6b8a1c5e70";
    template
        .split('/')
        .map(|segment| match segment {
            "{provider}" => "oidc",
            "{slug}" => "acme",
            "{token}" => "not-a-token",
            s if s.starts_with('{') => id,
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Refused because of the credentials (not for what the request asked).
fn refused(status: u16, body: &Value) -> bool {
    status == 401 || (status == 403 && body["detail"] == PERSON_REQUIRED)
}

/// The OpenAPI document's operations: `(METHOD, path) → declared scheme names` (`""` stands for
/// the empty requirement, i.e. public).
fn declared(doc: &Value) -> Vec<((String, String), BTreeSet<String>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let mut schemes = BTreeSet::new();
            for requirement in op["security"].as_array().into_iter().flatten() {
                let names = requirement.as_object().expect("requirement");
                if names.is_empty() {
                    schemes.insert(String::new());
                }
                schemes.extend(names.keys().cloned());
            }
            out.push(((method.to_ascii_uppercase(), path.clone()), schemes));
        }
    }
    out
}

fn expected_schemes(kinds: u8) -> BTreeSet<String> {
    if kinds & WIDENED != 0 {
        return BTreeSet::from(
            ["", "cookie", "bearer_jwt", "api_key", "x_api_key"].map(str::to_owned),
        );
    }
    if kinds & NONE != 0 {
        return BTreeSet::from([String::new()]);
    }
    let mut s = BTreeSet::from(["cookie".to_owned(), "bearer_jwt".to_owned()]);
    if kinds & API_KEY != 0 {
        s.extend(["api_key".to_owned(), "x_api_key".to_owned()]);
    }
    s
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn every_route_accepts_exactly_its_listed_credentials(#[case] kind: DbKind) {
    let c = Callers::start(kind).await;

    // The table and the document list the same operations, and the document declares exactly
    // the listed credentials (public operations declare the empty requirement).
    let doc = serde_json::to_value(aerie_server::router::openapi()).expect("json");
    let documented = declared(&doc);
    let listed: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(listed.len(), TABLE.len(), "a route is listed twice");
    for ((method, path), schemes) in &documented {
        let row = TABLE.iter().find(|(m, p, _)| m == method && p == path);
        let Some((_, _, kinds)) = row else {
            panic!("{method} {path} is not listed in server/tests/api/credentials.rs");
        };
        let mut schemes = schemes.clone();
        schemes.remove("metrics_basic");
        assert_eq!(
            schemes,
            expected_schemes(*kinds),
            "{method} {path}: the declared security differs from the table"
        );
    }
    assert_eq!(documented.len(), TABLE.len(), "a listed route is gone");

    // Each kind of credential against each route; signing out comes last.
    let mut rows: Vec<_> = TABLE.iter().collect();
    rows.sort_by_key(|(_, p, _)| *p == "/auth/logout");
    let mut failures = Vec::new();
    for (method, template, kinds) in rows {
        let path = concrete(template);
        for how in Try::ALL {
            let (status, body) = c.send(how, method, &path).await;
            let accepted = kinds & how.kind() != 0;
            let ok = if accepted {
                !refused(status, &body)
            } else if how.kind() == NONE {
                status == 401
            } else if path.starts_with("/v1/billings/") || path.starts_with("/v1/orgs/") {
                // Egret documents these as JWT endpoints: its 401 saying a JWT is required.
                status == 401 && body["detail"].as_str().is_some_and(|d| d.contains("JWT"))
            } else {
                status == 403 && body["detail"] == PERSON_REQUIRED
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} with {how:?}: expected {}, got {status} {body}",
                    if accepted { "accepted" } else { "refused" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The dashboard (its pages and every server function) is for people: an API key is refused
/// there, whatever the function does, while sessions, JWTs and anonymous visitors reach it (each
/// function then decides who may do what).
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn the_dashboard_refuses_api_keys(#[case] kind: DbKind) {
    let c = Callers::start(kind).await;
    let mut failures = Vec::new();
    let mut functions: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .filter(|p| p.starts_with("/_server/"))
        .collect();
    functions.sort_by_key(|p| p.ends_with("/logout"));
    assert!(functions.len() > 40, "{functions:?}");
    let pages: Vec<String> = leptos_axum::generate_route_list(aerie_app::ui::App)
        .iter()
        .map(|r| concrete(r.path()))
        .collect();
    assert!(pages.iter().any(|p| p == "/keys"), "{pages:?}");
    let routes = pages
        .iter()
        .map(|p| ("GET", p.clone()))
        .chain(functions.iter().map(|p| ("POST", p.clone())));
    for (method, path) in routes {
        for how in Try::ALL {
            let (status, body) = c.send(how, method, &path).await;
            let refused_for_key = status == 403 && body["detail"] == PERSON_REQUIRED;
            if refused_for_key != matches!(how, Try::KeyAsBearer | Try::KeyAsHeader) {
                failures.push(format!("{method} {path} with {how:?}: {status} {body}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A key cannot mint a key, and so cannot outlive its own revocation or expiry.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_leaked_key_cannot_mint_another(#[case] kind: DbKind) {
    let c = Callers::start(kind).await;
    for (method, path, body) in [
        (Method::POST, "/api/api-keys", json!({"name": "forever"})),
        (
            Method::POST,
            "/v1/billings/api-keys/",
            json!({"name": "forever"}),
        ),
        (Method::PATCH, "/api/organisation", json!({"name": "pwned"})),
        (
            Method::POST,
            "/api/users",
            json!({"email": "eve@acme.test", "role": "admin"}),
        ),
    ] {
        let (status, answer) = c.app.authed(method.clone(), path, &c.key, Some(body)).await;
        assert!(
            status == 403 || status == 401,
            "{method} {path}: {status} {answer}"
        );
    }
    let (status, keys) = c
        .app
        .authed(Method::GET, "/api/api-keys", &c.jwt, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    let (_, org) = c
        .app
        .authed(Method::GET, "/api/organisation", &c.jwt, None)
        .await;
    assert_eq!(org["name"], "Acme");
}

/// The session cookie of `browser` (signed in), as a `Cookie` header value.
async fn session_cookie_of(app: &TestApp, email: &str) -> String {
    let res = app
        .client
        .post(app.url("/auth/admin-login"))
        .header("origin", format!("http://{}", app.addr))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("aerie_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned()
}

/// Sends `GET path` with the given headers: `(status, body)`.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A request that presents more than one credential is served only when every one is valid and
/// they name the same user; otherwise it is refused with 401 `AUTH-008` before the handler runs,
/// on the data plane and on people-only routes alike. A stale cookie alone still leaves the
/// browser anonymous, and public routes still ignore credentials.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn conflicting_credentials_are_refused(#[case] kind: DbKind) {
    let c = Callers::start(kind).await;
    let app = &c.app;
    let owner = "owner@acme.test";
    let bearer = format!("Bearer {}", c.jwt);
    let key_bearer = format!("Bearer {}", c.key);
    let cookie = session_cookie_of(app, owner).await;
    // A second user of the same organisation, with a key of their own.
    let mia_jwt = app.join(&c.jwt, "mia@acme.test", "member").await;
    let mia_bearer = format!("Bearer {mia_jwt}");
    let mia_key = app.create_key(&mia_jwt, "mia").await;
    let mia_cookie = session_cookie_of(app, "mia@acme.test").await;
    // A session cookie that no longer names a session: signed out.
    let stale = session_cookie_of(app, owner).await;
    let res = app
        .client
        .post(app.url("/auth/logout"))
        .header("origin", format!("http://{}", app.addr))
        .header("cookie", &stale)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    let bad_key = "aerie_000000000000_00000000000000000000000000000000";

    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "bearer + bad key",
            vec![("authorization", &bearer), ("x-api-key", bad_key)],
        ),
        (
            "key + bad bearer",
            vec![("x-api-key", &c.key), ("authorization", "Bearer not.a.jwt")],
        ),
        (
            "key as bearer + bad key",
            vec![("authorization", &key_bearer), ("x-api-key", bad_key)],
        ),
        (
            "bearer + forged cookie",
            vec![
                ("authorization", &bearer),
                ("cookie", "aerie_session=forged"),
            ],
        ),
        (
            "bearer + empty cookie",
            vec![("authorization", &bearer), ("cookie", "aerie_session=")],
        ),
        (
            "bearer + blank key",
            vec![("authorization", &bearer), ("x-api-key", "")],
        ),
        (
            "key + blank bearer",
            vec![("x-api-key", &c.key), ("authorization", "Bearer")],
        ),
        (
            "bearer + signed-out cookie",
            vec![("authorization", &bearer), ("cookie", &stale)],
        ),
        (
            "key + signed-out cookie",
            vec![("x-api-key", &c.key), ("cookie", &stale)],
        ),
        (
            "bearer of one user + key of another",
            vec![("authorization", &bearer), ("x-api-key", &mia_key)],
        ),
        (
            "key of one user + bearer of another",
            vec![("x-api-key", &c.key), ("authorization", &mia_bearer)],
        ),
        (
            "cookie of one user + bearer of another",
            vec![("cookie", &cookie), ("authorization", &mia_bearer)],
        ),
        (
            "cookie of one user + key of another",
            vec![("cookie", &mia_cookie), ("x-api-key", &c.key)],
        ),
    ];
    for (case, headers) in &refused {
        for path in ["/auth/user", "/api/conversations", "/api/api-keys"] {
            let (status, body) = get_with(app, path, headers).await;
            assert_eq!(status, 401, "{case} on {path}: {body}");
            assert_eq!(
                body["error"]["code"], "AUTH-008",
                "{case} on {path}: {body}"
            );
        }
        // Public routes ignore credentials, conflicting or not.
        let (status, body) = get_with(app, "/api/health", headers).await;
        assert_eq!(status, 200, "{case} on /api/health: {body}");
    }

    // Credentials that agree are served, by the token.
    let agreeing: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "bearer + key of the same user",
            vec![("authorization", &bearer), ("x-api-key", &c.key)],
        ),
        (
            "cookie + bearer of the same user",
            vec![("cookie", &cookie), ("authorization", &bearer)],
        ),
        (
            "cookie + key of the same user",
            vec![("cookie", &cookie), ("x-api-key", &c.key)],
        ),
    ];
    for (case, headers) in &agreeing {
        let (status, body) = get_with(app, "/auth/user", headers).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(body["email"], owner, "{case}: {body}");
    }
    // The token decides: with a key, a people-only route refuses it even beside a good cookie.
    let (status, body) = get_with(
        app,
        "/api/api-keys",
        &[("cookie", &cookie), ("x-api-key", &c.key)],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["detail"], PERSON_REQUIRED);

    // A stale cookie alone: anonymous, as before.
    let (status, body) = get_with(app, "/auth/user", &[("cookie", &stale)]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "AUTH-001", "{body}");
    let (status, body) = get_with(app, "/auth/setup-status", &[("cookie", &stale)]).await;
    assert_eq!(status, 200, "{body}");
}
