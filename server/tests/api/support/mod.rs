//! `TestApp`: the real router on 127.0.0.1:0 over a per-test database.

use std::net::SocketAddr;

use aerie_backend::config::{Config, DbKind};
use aerie_backend::testing::TestDb;
use aerie_backend::{AppContext, AppState};
use aerie_server::startup::Server;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub ctx: AppContext,
    pub db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), aerie_server::startup::StartupError>>>,
}

impl TestApp {
    pub async fn spawn(kind: DbKind) -> Self {
        Self::spawn_with(kind, |_| {}, Router::new()).await
    }

    pub async fn spawn_with(
        kind: DbKind,
        tweak: impl FnOnce(&mut Config),
        extra: Router<AppState>,
    ) -> Self {
        let db = TestDb::migrated(kind).await.expect("test database");
        let mut config = db.config();
        config.listen = "127.0.0.1:0".parse().expect("addr");
        tweak(&mut config);
        let server = Server::build_with(config, false, extra)
            .await
            .expect("server builds");
        let addr = server.local_addr().expect("bound");
        let ctx = server.ctx().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            addr,
            client,
            ctx,
            db,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.expect("json body"))
    }

    /// Asks the server to stop and waits for it (graceful shutdown included).
    pub async fn stop(mut self) -> Result<(), aerie_server::startup::StartupError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Checks `value` is the contract error body with the given status code table entry.
pub fn assert_contract_body(value: &serde_json::Value, code: &str) {
    let detail = value["detail"].as_str().expect("detail is a string");
    assert!(!detail.is_empty());
    let error = &value["error"];
    assert_eq!(error["code"], code, "{value}");
    assert_eq!(error["message"], detail, "{value}");
    for field in ["type", "what", "why", "fix"] {
        assert!(
            error[field].as_str().is_some_and(|s| !s.is_empty()),
            "error.{field} missing in {value}"
        );
    }
    assert!(error.get("param").is_some(), "{value}");
}

pub mod chat;
pub mod idp;
pub mod license;

/// A plain HTTP client for tests that talk to a spawned `aerie` process (reqwest is built
/// without a default TLS provider; the app installs ring's, so do the same here).
pub fn http() -> reqwest::Client {
    aerie_backend::ensure_tls();
    reqwest::Client::new()
}

pub const PASSWORD: &str = "plum-orbit-cascade-42";

/// A stand-in identity provider on loopback that answers every request with `200 OK` (enough for
/// the redirect-URI probe when a provider is saved).
pub async fn ok_listener() -> SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    addr
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let res = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Sends `method path` with `Authorization: Bearer <token>` and an optional JSON body.
    pub async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A browser (a cookie-keeping client that does not follow redirects) signed in as `email`
    /// with the password form.
    pub async fn browser(&self, email: &str) -> reqwest::Client {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = browser
            .post(self.url("/auth/admin-login"))
            .header("origin", format!("http://{}", self.addr))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 200);
        browser
    }

    /// Creates an API key named `name` as `jwt` (`POST /v1/billings/api-keys/`); returns the key.
    pub async fn create_key(&self, jwt: &str, name: &str) -> String {
        let (status, key) = self
            .authed(
                reqwest::Method::POST,
                "/v1/billings/api-keys/",
                jwt,
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        key["key"].as_str().expect("key").to_owned()
    }

    /// Runs first-run setup through the API; returns the owner's email.
    pub async fn setup(&self) -> String {
        let (status, body) = self
            .post_json(
                "/auth/setup",
                serde_json::json!({"email": "owner@acme.test", "password": PASSWORD,
                                   "name": "Olive Owner", "organization_name": "Acme"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        "owner@acme.test".to_owned()
    }

    /// Logs in; returns (access, refresh).
    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let (status, body) = self
            .post_json(
                "/auth/jwt/create/",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["access"].as_str().expect("access").to_owned(),
            body["refresh"].as_str().expect("refresh").to_owned(),
        )
    }

    /// Audit actions recorded so far (oldest first).
    pub async fn audit_actions(&self) -> Vec<String> {
        use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
        let db = self.ctx.db();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT action FROM audit_events ORDER BY created_at, id".to_owned(),
            ))
            .await
            .expect("audit query");
        rows.iter()
            .map(|r| r.try_get::<String>("", "action").expect("action"))
            .collect()
    }
}

impl TestApp {
    /// A second organisation ("Globex") with an owner, created through the store (there is no
    /// API to create further organisations yet); returns the owner's email.
    pub async fn second_org(&self) -> String {
        use aerie_backend::actor::Role;
        use aerie_backend::services::auth::password;
        use aerie_backend::testing::store;
        use aerie_contract::ids::OrgId;
        let now = chrono::Utc::now();
        let org = store::orgs::insert(self.ctx.db(), "globex", "Globex", now)
            .await
            .expect("org");
        let hash = password::hash(PASSWORD.to_owned()).await.expect("hash");
        store::users::insert_member(
            self.ctx.db(),
            OrgId(org.id),
            store::users::NewUser {
                email: "bob@globex.test",
                name: "Bob",
                password_hash: Some(hash),
                role: Role::Owner,
            },
            now,
        )
        .await
        .expect("user");
        "bob@globex.test".to_owned()
    }

    /// Invites `email` with `role` as `admin_jwt` and signs them up; returns their JWT.
    pub async fn join(&self, admin_jwt: &str, email: &str, role: &str) -> String {
        let (status, invite) = self
            .authed(
                reqwest::Method::POST,
                "/api/users",
                admin_jwt,
                Some(serde_json::json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{invite}");
        let token = invite["token"].as_str().expect("token");
        let (status, body) = self
            .post_json(
                "/auth/signup",
                serde_json::json!({"email": email, "password": PASSWORD, "invite_token": token}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.login(email, PASSWORD).await.0
    }
}
