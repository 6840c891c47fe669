//! The `aerie` binary as an operator meets it: help, start-up errors, first start, signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aerie");

fn aerie(data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AERIE_DATA_DIR", data_dir)
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run aerie");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `aerie admin create` of ops@acme.test, the owner of Acme (and the instance's operator).
fn admin_create(data: &Path) {
    let (code, _, err) = run(aerie(data).args([
        "admin",
        "create",
        "--email",
        "ops@acme.test",
        "--org",
        "Acme",
    ]));
    assert_eq!(code, 0, "{err}");
}

fn assert_one_clear_line(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[test]
fn help_explains_every_command() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, out, _) = run(aerie(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for word in [
        "serve",
        "dev",
        "migrate",
        "admin",
        "keys",
        "jobs",
        "./data",
        "127.0.0.1:3000",
    ] {
        assert!(out.contains(word), "--help lacks {word}: {out}");
    }
    let (code, out, _) = run(aerie(dir.path()).args(["keys", "--help"]));
    assert_eq!(code, 0);
    for word in ["create", "list", "revoke"] {
        assert!(out.contains(word), "{out}");
    }
    let (code, out, _) = run(aerie(dir.path()).arg("--version"));
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn admin_create_then_keys_create_list_revoke() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    let mut create = aerie(data);
    create
        .args([
            "admin",
            "create",
            "--email",
            "ops@acme.test",
            "--org",
            "Acme",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = create.spawn().expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"plum-orbit-cascade-42\n").expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ops@acme.test"));

    // A second setup is refused with one clear line.
    let (code, _, err) = run(aerie(data).args(["admin", "create", "--email", "x@acme.test"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "already set up");

    let (code, key, err) = run(aerie(data).args([
        "keys",
        "create",
        "--user",
        "ops@acme.test",
        "--name",
        "deploy",
    ]));
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("aerie_") && key.len() == 51, "{key}");
    assert!(err.contains("shown once"));

    let (code, list, _) = run(aerie(data).args(["keys", "list"]));
    assert_eq!(code, 0);
    assert!(list.contains("deploy") && list.contains("active"), "{list}");
    assert!(!list.contains(&key), "the secret is never listed");

    // By id (from the listing) works as well as by prefix or by the key itself.
    let id = list
        .lines()
        .find(|l| l.contains("deploy"))
        .and_then(|l| l.split_whitespace().next())
        .expect("id column")
        .to_owned();
    let (code, _, err) =
        run(aerie(data).args(["keys", "revoke", "00000000-0000-0000-0000-000000000000"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "not found");
    let (code, out, err) = run(aerie(data).args(["keys", "revoke", &id]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Revoked"));
    let (_, list, _) = run(aerie(data).args(["keys", "list", "--user", "ops@acme.test"]));
    assert!(list.contains("revoked"), "{list}");

    let (code, _, err) = run(aerie(data).args([
        "keys",
        "create",
        "--user",
        "nobody@acme.test",
        "--name",
        "x",
    ]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "No active user");
    let (code, _, err) = run(aerie(data).args([
        "keys",
        "create",
        "--user",
        "ops@acme.test",
        "--name",
        "x",
        "--expires",
        "later",
    ]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "expires_at");
}

#[test]
fn a_bad_setting_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(aerie(dir.path()).env("AERIE_LISTEN", "localhost-ish"));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "AERIE_LISTEN");

    let (code, _, err) = run(aerie(dir.path()).env("AERIE_LOG_FORMAT", "xml"));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "AERIE_LOG_FORMAT");

    let (code, _, err) = run(aerie(dir.path()).env("DATABASE_URL", "mysql://x/y"));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "DATABASE_URL");

    let (code, _, err) = run(aerie(dir.path()).args(["--config", "/nonexistent/aerie.toml"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "does not exist");
}

#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(aerie(dir.path())
        .env("DATABASE_URL", "postgres://aerie:hunter2@127.0.0.1:1/aerie")
        .env("AERIE_LISTEN", "127.0.0.1:0"));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "cannot connect to the database");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (code, _, err) = run(aerie(dir.path()).args(["serve", "--listen", &addr]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "already in use");
}

#[test]
fn dev_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(aerie(dir.path()).args(["dev", "--listen", "0.0.0.0:0"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "loopback");
}

struct Running {
    child: Child,
    url: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

/// Starts the binary and waits for the line that prints its URL.
fn start(cmd: &mut Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn aerie");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().expect("a first line").expect("utf-8");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    Running {
        child,
        url,
        stderr: rx,
    }
}

fn terminate(mut running: Running) -> (i32, Vec<String>) {
    let pid = running.child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = running.child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(100));
    (code, running.stderr.try_iter().collect())
}

#[tokio::test]
async fn first_start_creates_the_data_folder_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let running = start(
        aerie(&data)
            .env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_LOG_FORMAT", "json"),
    );

    let health: serde_json::Value = crate::support::http()
        .get(format!("{}/health/", running.url))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "healthy");

    assert!(
        data.join("aerie.db").is_file(),
        "SQLite database in the data folder"
    );
    assert!(
        data.join("vectors").is_dir(),
        "vector store folder in the data folder"
    );
    let secrets_file = data.join("secrets.json");
    let secrets = std::fs::read_to_string(&secrets_file).expect("secrets generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&data).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "data folder is private");
    }

    let (code, logs) = terminate(running);
    assert_eq!(code, 0, "SIGTERM is a clean stop: {logs:?}");

    // JSON logs, with the request id on the request's lines, and no secret anywhere.
    let parsed: Vec<serde_json::Value> = logs
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        parsed.iter().any(|v| v["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)),
        "{logs:?}"
    );
    let all = logs.join("\n");
    let values: serde_json::Value = serde_json::from_str(&secrets).expect("secrets json");
    for key in [
        "jwt_signing_key",
        "session_key",
        "token_pepper",
        "encryption_key",
    ] {
        let secret = values[key].as_str().expect("secret");
        assert!(!all.contains(secret), "{key} leaked into logs");
    }
    assert!(all.contains("shutdown requested"), "{all}");

    // A second start reuses the secrets and the database.
    let running = start(aerie(&data).env("AERIE_LISTEN", "127.0.0.1:0"));
    let (code, _) = terminate(running);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&secrets_file).expect("secrets"),
        secrets
    );
}

#[tokio::test]
async fn dev_mode_prints_a_loud_banner_and_turns_auth_off() {
    let dir = tempfile::tempdir().expect("dir");
    let running = start(aerie(dir.path()).args(["dev", "--listen", "127.0.0.1:0"]));
    let status: serde_json::Value = crate::support::http()
        .post(format!("{}/_server/status", running.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(status["dev_mode"], true);
    let (code, logs) = terminate(running);
    assert_eq!(code, 0);
    assert!(
        logs.iter().any(|l| l.contains("AUTHENTICATION IS OFF")),
        "{logs:?}"
    );
}

#[test]
fn migrate_on_postgres_and_serve_refuses_pending_migrations() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let db = rt
        .block_on(aerie_backend::testing::TestDb::new(
            aerie_backend::config::DbKind::Postgres,
        ))
        .expect("pg db");
    let dir = tempfile::tempdir().expect("dir");

    // PostgreSQL is not migrated implicitly.
    let (code, _, err) = run(aerie(dir.path())
        .env("DATABASE_URL", &db.url)
        .env("AERIE_LISTEN", "127.0.0.1:0"));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "aerie migrate");

    let (code, out, _) = run(aerie(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["migrate", "--status"]));
    assert_eq!(code, 0);
    assert!(out.lines().all(|l| l.starts_with("pending")), "{out}");

    let (code, out, err) = run(aerie(dir.path())
        .env("DATABASE_URL", &db.url)
        .arg("migrate"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied"), "{out}");

    let (code, out, _) = run(aerie(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["migrate", "--status"]));
    assert_eq!(code, 0);
    assert!(out.lines().all(|l| l.starts_with("applied")), "{out}");

    let (code, out, _) = run(aerie(dir.path())
        .env("DATABASE_URL", &db.url)
        .arg("migrate"));
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");
    drop(rt);
}

#[tokio::test]
async fn passwords_tokens_and_keys_never_reach_the_logs() {
    let dir = tempfile::tempdir().expect("dir");
    let running = start(
        aerie(dir.path())
            .env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_LOG_FORMAT", "json")
            .env("AERIE_LOG_LEVEL", "trace"),
    );
    let client = crate::support::http();
    let url = |p: &str| format!("{}{p}", running.url);
    let password = "plum-orbit-cascade-42";
    let setup = client
        .post(url("/auth/setup"))
        .json(&serde_json::json!({"email": "ops@acme.test", "password": password}))
        .send()
        .await
        .expect("setup");
    assert_eq!(setup.status(), 201);
    let tokens: serde_json::Value = client
        .post(url("/auth/jwt/create/"))
        .json(&serde_json::json!({"email": "ops@acme.test", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = tokens["access"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh"].as_str().expect("refresh").to_owned();
    let created: serde_json::Value = client
        .post(url("/api/api-keys"))
        .bearer_auth(&access)
        .json(&serde_json::json!({"name": "ci"}))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key = created["key"].as_str().expect("key").to_owned();
    client
        .get(url("/api/api-keys?token=x"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("use");
    client
        .post(url("/auth/jwt/refresh/"))
        .json(&serde_json::json!({"refresh": refresh}))
        .send()
        .await
        .expect("refresh");
    let (code, logs) = terminate(running);
    assert_eq!(code, 0);
    let all = logs.join("\n");
    assert!(
        all.contains("/api/api-keys"),
        "request lines are logged at all"
    );
    for secret in [password, access.as_str(), refresh.as_str(), key.as_str()] {
        assert!(!all.contains(secret), "a secret reached the logs");
    }
}

/// Secret path segments (invitation tokens) never reach the request log: it names the matched
/// route template (`/invite/{token}`), never the raw path.
#[tokio::test]
async fn invitation_tokens_never_reach_the_request_log() {
    let dir = tempfile::tempdir().expect("dir");
    let running = start(
        aerie(dir.path())
            .env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_LOG_FORMAT", "json")
            .env("AERIE_LOG_LEVEL", "trace"),
    );
    let client = crate::support::http();
    let url = |p: &str| format!("{}{p}", running.url);
    let password = "plum-orbit-cascade-42";
    let setup = client
        .post(url("/auth/setup"))
        .json(&serde_json::json!({"email": "ops@acme.test", "password": password}))
        .send()
        .await
        .expect("setup");
    assert_eq!(setup.status(), 201);
    let tokens: serde_json::Value = client
        .post(url("/auth/jwt/create/"))
        .json(&serde_json::json!({"email": "ops@acme.test", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = tokens["access"].as_str().expect("access").to_owned();
    let invitation: serde_json::Value = client
        .post(url("/api/users"))
        .bearer_auth(&access)
        .json(&serde_json::json!({"email": "mia@acme.test", "role": "member"}))
        .send()
        .await
        .expect("invite")
        .json()
        .await
        .expect("json");
    let token = invitation["token"].as_str().expect("token").to_owned();
    // The invitation page, its API, and an unknown path under it (the fallback).
    for path in [
        format!("/invite/{token}"),
        format!("/auth/invite/{token}"),
        format!("/auth/invite/{token}/x"),
    ] {
        let res = client
            .get(url(&path))
            .header("accept", "text/html")
            .send()
            .await
            .expect("request");
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    let (code, logs) = terminate(running);
    assert_eq!(code, 0);
    let all = logs.join("\n");
    assert!(
        all.contains("\"/auth/invite/{token}\"") && all.contains("\"/invite/{token}\""),
        "requests are logged by route template: {all}"
    );
    assert!(
        !all.contains(&token),
        "the invitation token reached the logs"
    );
    assert!(!all.contains(token.trim_start_matches("inv_")));
}

#[tokio::test]
async fn jobs_list_and_cancel() {
    use aerie_backend::services::jobs::{self, NewJob};
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    let (code, _, err) = run(aerie(data).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    let config = aerie_backend::config::Config {
        data_dir: data.to_path_buf(),
        ..aerie_backend::config::Config::default()
    };
    let db = aerie_backend::db::connect(&config).await.expect("db");
    let id = jobs::enqueue(
        &db,
        NewJob {
            delay: Duration::from_secs(3600),
            ..NewJob::new("knowledge.ingest", None, serde_json::json!({}))
        },
    )
    .await
    .expect("enqueue");
    db.close().await.expect("close");

    let (code, out, err) = run(aerie(data).args(["jobs", "list"]));
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.contains(&id.to_string()))
        .unwrap_or_else(|| panic!("{id} not listed: {out}"));
    assert!(
        line.contains("knowledge.ingest") && line.contains("queued") && line.contains("0/5"),
        "{line}"
    );

    let (code, out, err) = run(aerie(data).args(["jobs", "cancel", &id.to_string()]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("Job {id}: cancelled."));
    let (_, out, _) = run(aerie(data).args(["jobs", "list", "--status", "cancelled"]));
    assert!(out.contains(&id.to_string()), "{out}");
    let (_, out, _) = run(aerie(data).args(["jobs", "list", "--status", "queued"]));
    assert!(!out.contains(&id.to_string()), "{out}");

    let (code, _, err) = run(aerie(data).args(["jobs", "list", "--status", "sleeping"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "one of: queued, running");
    let (code, _, err) = run(aerie(data).args(["jobs", "cancel", "not-a-uuid"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "is not a job id");
    let (code, _, err) =
        run(aerie(data).args(["jobs", "cancel", "00000000-0000-0000-0000-000000000000"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "not found");
}

/// `kill -9` while a document is being embedded, then a restart on the same data folder: the
/// job is taken again once its lease expires and the document completes with every chunk
/// exactly once in the vector store (issue 13, the ingestion item).
#[tokio::test]
async fn a_document_killed_mid_ingestion_completes_after_a_restart_without_duplicates() {
    use serde_json::{Value, json};
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let model = crate::documents::model_dir();
    let serve = |data: &Path| {
        let mut cmd = aerie(data);
        cmd.env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_EMBEDDING_MODEL_DIR", &model)
            .env("AERIE_JOB_LEASE_SECS", "3");
        cmd
    };
    let running = start(&mut serve(&data));
    let http = crate::support::http();
    let url = running.url.clone();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{url}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let res = post(
        "/auth/setup",
        None,
        json!({"email": "owner@acme.test", "password": crate::support::PASSWORD,
               "name": "Olive Owner", "organization_name": "Acme"}),
    )
    .await
    .expect("setup");
    assert_eq!(res.status(), 201);
    let tokens: Value = post(
        "/auth/jwt/create/",
        None,
        json!({"email": "owner@acme.test", "password": crate::support::PASSWORD}),
    )
    .await
    .expect("login")
    .json()
    .await
    .expect("json");
    let jwt = tokens["access"].as_str().expect("access").to_owned();
    let me: Value = http
        .post(format!("{url}/auth/admin-login"))
        .header("origin", &url)
        .json(&json!({"email": "owner@acme.test", "password": crate::support::PASSWORD}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let org: uuid::Uuid = me["org_id"].as_str().expect("org").parse().expect("uuid");
    let kb: Value = post(
        "/api/knowledge",
        Some(&jwt),
        json!({"name": "Long read", "chunking": {"chunk_size": 200, "chunk_overlap": 0}}),
    )
    .await
    .expect("kb")
    .json()
    .await
    .expect("json");
    let kb_id: uuid::Uuid = kb["id"].as_str().expect("id").parse().expect("uuid");
    // About 240 chunks: long enough to be caught in the middle.
    let text: String = (0..240)
        .map(|i| {
            format!(
                "Paragraph {i} of the survey: station {i} logged {} herons, {} egrets and a tide of {} centimetres at dawn.\n\n",
                i * 7 % 31,
                i * 3 % 17,
                100 + i
            )
        })
        .collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(text.into_bytes()).file_name("survey.txt"),
    );
    let res = http
        .post(format!("{url}/api/knowledge/{kb_id}/documents"))
        .bearer_auth(&jwt)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 201);
    let up: Value = res.json().await.expect("json");
    let doc = up[0]["document"]["id"].as_str().expect("id").to_owned();
    let read = |url: String, jwt: String, doc: String| async move {
        crate::support::http()
            .get(format!("{url}/api/knowledge/{kb_id}/documents/{doc}"))
            .bearer_auth(jwt)
            .send()
            .await
            .expect("read")
            .json::<Value>()
            .await
            .expect("json")
    };

    // Wait until it is being embedded, then kill the process outright.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let d = read(url.clone(), jwt.clone(), doc.clone()).await;
        if d["status"] == "processing" && d["progress"].as_u64().unwrap_or(0) >= 15 {
            break;
        }
        assert_ne!(
            d["status"], "ready",
            "finished before it could be killed: {d}"
        );
        assert!(Instant::now() < deadline, "never started: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = running.child;
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    // Restart on the same data folder: the job is taken again after its lease.
    let running = start(&mut serve(&data));
    let url = running.url.clone();
    let (status, token) = {
        let res = crate::support::http()
            .post(format!("{url}/auth/jwt/create/"))
            .json(&json!({"email": "owner@acme.test", "password": crate::support::PASSWORD}))
            .send()
            .await
            .expect("login");
        (res.status(), res.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, 200);
    let jwt = token["access"].as_str().expect("access").to_owned();
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let d = read(url.clone(), jwt.clone(), doc.clone()).await;
        if d["status"] == "ready" {
            break d;
        }
        assert_ne!(d["status"], "failed", "{d}");
        assert!(
            Instant::now() < deadline,
            "not completed after the restart: {d}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let chunks = done["chunk_count"].as_u64().expect("count");
    assert!(chunks >= 200, "{done}");
    let (code, _) = terminate(running);
    assert_eq!(code, 0);

    // Every chunk exactly once.
    let store = aerie_vectors::Store::open(&data.join("vectors").to_string_lossy())
        .await
        .expect("vector store");
    let table = format!("kb_{}_0", kb_id.simple());
    let stored = store.count(&table, org).await.expect("count");
    assert_eq!(u64::try_from(stored).expect("fits"), chunks);
}

/// The operator's plan, price and subscription editors (docs/BILLING.md).
#[test]
fn plans_prices_and_an_organisations_plan_from_the_shell() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    admin_create(data);
    let (code, out, err) = run(aerie(data).args(["plans", "list"]));
    assert_eq!(code, 0, "{err}");
    for slug in ["community", "pro", "enterprise"] {
        assert!(out.contains(slug), "{out}");
    }
    let (code, out, err) = run(aerie(data).args([
        "plans",
        "set",
        "team",
        "--name",
        "Team",
        "--credits",
        "5_000",
        "--requests-per-minute",
        "unlimited",
        "--features",
        "chat, agents",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("team") && out.contains("5000") && out.contains("chat,agents"),
        "{out}"
    );
    // Bad input is one clear line.
    let (code, _, err) = run(aerie(data).args(["plans", "set", "Bad Slug", "--credits", "1"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "slug");
    let (code, _, err) = run(aerie(data).args(["plans", "set", "team", "--credits=-5"]));
    assert_ne!(code, 0);
    assert!(err.contains("unlimited"), "{err}");

    let (code, _, err) = run(aerie(data).args([
        "prices", "set", "gpt-4o", "--input", "2500", "--output", "10000",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(aerie(data).args(["prices", "list"]));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with('*'), "the default price first: {out}");
    assert!(out.contains("gpt-4o") && out.contains("10000"), "{out}");

    let (code, out, err) = run(aerie(data).args(["org", "plan", "acme", "team"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Team"), "{out}");
    let (code, _, err) = run(aerie(data).args(["org", "plan", "acme", "nope"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "nope");
}

/// The operator's organisation commands (docs/TENANTS.md): create with an owner's invitation,
/// list, suspend, resume, delete (suspended first, confirmed by its slug), and the operator's
/// role and the SSO domain claims.
#[test]
fn organisations_from_the_shell() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    admin_create(data);
    let (code, out, err) = run(aerie(data).args([
        "org",
        "create",
        "Beta Works",
        "--owner",
        "bea@beta.test",
        "--plan",
        "pro",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("beta-works") && out.contains("pro"), "{out}");
    assert!(out.contains("/invite/inv_"), "the owner's link: {out}");
    let (code, out, _) = run(aerie(data).args(["org", "list"]));
    assert_eq!(code, 0);
    assert!(out.contains("acme") && out.contains("beta-works"), "{out}");

    let (code, _, err) =
        run(aerie(data).args(["org", "delete", "beta-works", "--confirm", "beta-works"]));
    assert_eq!(code, 1, "an active organisation is not deleted");
    assert_one_clear_line(&err, "Suspend");
    let (code, out, err) = run(aerie(data).args(["org", "suspend", "beta-works"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("suspended"), "{out}");
    let (code, out, _) = run(aerie(data).args(["org", "list"]));
    assert_eq!(code, 0);
    let beta = out
        .lines()
        .find(|l| l.starts_with("beta-works"))
        .expect("listed");
    assert!(beta.contains("suspended"), "{out}");
    let (code, out, err) = run(aerie(data).args(["org", "resume", "beta-works"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("active"), "{out}");
    run(aerie(data).args(["org", "suspend", "beta-works"]));
    let (code, _, err) =
        run(aerie(data).args(["org", "delete", "beta-works", "--confirm", "beta"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "confirm");
    let (code, _, err) =
        run(aerie(data).args(["org", "delete", "beta-works", "--confirm", "beta-works"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(aerie(data).args(["org", "list"]));
    assert_eq!(code, 0);
    assert!(!out.contains("beta-works"), "{out}");
    let (code, _, err) = run(aerie(data).args(["org", "suspend", "nope"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "nope");

    let (code, _, err) = run(aerie(data).args(["operator", "grant", "nobody@acme.test"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "nobody@acme.test");
    let (code, out, err) = run(aerie(data).args(["operator", "revoke", "ops@acme.test"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no longer"), "{out}");
    let (code, _, err) = run(aerie(data).args(["operator", "grant", "ops@acme.test"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(aerie(data).args(["domains", "list", "--pending"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("DOMAIN"), "{out}");
    let (code, _, err) = run(aerie(data).args(["domains", "approve", "unclaimed.test"]));
    assert_eq!(code, 1);
    assert_one_clear_line(&err, "not found");
}

/// Two `aerie` processes sharing one PostgreSQL hold one balance: 200 concurrent calls split
/// between them against credits for 50 worst cases never hold more than the period grants, and
/// every call that ran is charged its usage (docs/BILLING.md).
#[tokio::test]
async fn two_processes_on_one_postgres_never_overspend() {
    use aerie_bench::{FakeUpstream, Reply};
    use serde_json::{Value, json};

    let db = aerie_backend::testing::TestDb::migrated(aerie_backend::config::DbKind::Postgres)
        .await
        .expect("pg db");
    let fake = FakeUpstream::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let serve = |dir: &Path| {
        let mut cmd = aerie(dir);
        cmd.env("DATABASE_URL", &db.url)
            .env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_ALLOW_PRIVATE_PROVIDER_URLS", "true")
            .env("AERIE_MAX_OUTPUT_TOKENS", "20")
            .arg("serve");
        cmd
    };
    // A credit per token, and credits for exactly 50 worst cases of the call below: its prompt
    // is "hi" (2 bytes) in one message with no system prompt or tools, so its worst case is
    // 2 + 8 (the message) + 8 (the request) input tokens and 20 output tokens = 38 credits.
    let cli = |args: &[&str]| {
        let (code, out, err) = run(aerie(dir.path()).env("DATABASE_URL", &db.url).args(args));
        assert_eq!(code, 0, "{args:?}: {out} {err}");
    };
    cli(&[
        "prices", "set", "*", "--input", "1000000", "--output", "1000000",
    ]);
    cli(&[
        "plans",
        "set",
        "community",
        "--credits",
        "1900",
        "--requests-per-minute",
        "unlimited",
        "--tokens-per-minute",
        "unlimited",
    ]);
    let a = start(&mut serve(dir.path()));
    let b = start(&mut serve(dir.path()));
    let http = crate::support::http();
    let post = |base: &str, path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post(
        &a.url,
        "/auth/setup",
        None,
        json!({"email": "owner@acme.test",
        "password": "plum-orbit-cascade-42", "name": "Olive", "organization_name": "Acme"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, login) = post(
        &a.url,
        "/auth/jwt/create/",
        None,
        json!({"email": "owner@acme.test", "password": "plum-orbit-cascade-42"}),
    )
    .await;
    let jwt = login["access"].as_str().expect("access").to_owned();
    let (status, provider) = post(
        &a.url,
        "/api/providers",
        Some(&jwt),
        json!({"name": "fake", "base_url": fake.base_url(), "api_key": "sk-upstream"}),
    )
    .await;
    assert_eq!(status, 201, "{provider}");
    let (status, agent) = post(
        &a.url,
        "/api/agents",
        Some(&jwt),
        json!({"name": "plain",
        "model": "fake-model", "provider_id": provider["id"], "visibility": "organization"}),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let (status, key) = post(
        &b.url,
        "/v1/billings/api-keys/",
        Some(&jwt),
        json!({"name": "k"}),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().expect("key").to_owned();

    for _ in 0..200 {
        fake.push(Reply::Delay {
            ms: 300,
            then: Box::new(Reply::text("ok")),
        });
    }
    let ask = json!({"model": "plain", "messages": [{"role": "user", "content": "hi"}]});
    let calls = (0..200).map(|i| {
        let base = if i % 2 == 0 { &a.url } else { &b.url };
        post(base, "/v1/chat/completions", Some(&key), ask.clone())
    });
    let results = futures::future::join_all(calls).await;
    let (mut ok, mut refused, mut charged) = (0, 0, 0);
    for (status, body) in &results {
        match status {
            200 => {
                ok += 1;
                charged += body["usage"]["total_tokens"].as_i64().expect("usage");
            }
            402 => refused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(ok >= 50, "every worst case that fits runs: {ok}");
    assert!(refused > 0, "{ok} ran");
    assert_eq!(
        fake.requests().len(),
        ok,
        "no refused call reached the model"
    );
    // Each instance writes its charges and gives its unspent block back within a second and a
    // half, and at once when it stops (docs/BILLING.md "Leases"): stop `b`, then read through
    // `a` (which counts its own lease in what it shows).
    terminate(b);
    let res = http
        .get(format!("{}/v1/billings/subscription/", a.url))
        .bearer_auth(&key)
        .send()
        .await
        .expect("subscription");
    let s: Value = res.json().await.expect("json");
    let q = &s["current_quota"];
    assert_eq!(q["credits_total"], 1900, "{s}");
    assert_eq!(q["credits_reserved"], 0, "{s}");
    assert_eq!(
        q["credits_used"], charged,
        "every call that ran is charged: {s}"
    );
    terminate(a);
}

/// `aerie license status|apply|remove`: the operator's licence from the shell, the key given as
/// a file or as itself; a licence that does not verify is one clear line and a failure code.
#[test]
fn the_licence_from_the_shell() {
    use crate::support::license::{PUBLIC_KEY, STRANGER, claims, sign, sign_with};
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    let with_key = |cmd: &mut Command| {
        cmd.env("AERIE_LICENSE_PUBLIC_KEY", PUBLIC_KEY);
    };
    admin_create(data);
    let mut status = aerie(data);
    with_key(&mut status);
    let (code, out, err) = run(status.args(["license", "status"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tier: community"), "{out}");

    let file = data.join("acme.licence");
    std::fs::write(&file, sign(&claims("enterprise", 3600))).expect("write");
    let mut apply = aerie(data);
    with_key(&mut apply);
    let (code, out, err) = run(apply.args(["license", "apply"]).arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("tier: enterprise") && out.contains("licensee: Acme Corp"),
        "{out}"
    );
    assert!(out.contains("usage_export"), "{out}");

    let mut forged = aerie(data);
    with_key(&mut forged);
    let (code, _, err) = run(forged.args([
        "license",
        "apply",
        &sign_with(STRANGER, &claims("enterprise", 3600)),
    ]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "signature does not verify");

    let mut remove = aerie(data);
    with_key(&mut remove);
    let (code, out, err) = run(remove.args(["license", "remove"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tier: community"), "{out}");
}

/// `aerie audit verify`: an intact trail says so (exit 0); after someone edits an event in the
/// database, it names the event and fails (docs/AUDIT.md).
#[test]
fn the_audit_trail_is_verified_from_the_shell() {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database};
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path();
    admin_create(data);
    for credits in ["5000", "6000"] {
        let (code, _, err) =
            run(aerie(data).args(["plans", "set", "community", "--credits", credits]));
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(aerie(data).args(["audit", "verify"]));
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("the audit trail is intact"), "{out}");
    assert!(!out.contains(" 0 events"), "events were recorded: {out}");

    let url = format!("sqlite://{}?mode=rw", data.join("aerie.db").display());
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let db = Database::connect(url.as_str()).await.expect("db");
            db.execute_unprepared(
                "UPDATE audit_events SET details = '{\"credits\": 1}' WHERE action = 'plan.saved' AND seq = (SELECT MIN(seq) FROM audit_events WHERE action = 'plan.saved')",
            )
            .await
            .expect("tamper");
            db.close().await.ok();
        });
    let (code, out, err) = run(aerie(data).args(["audit", "verify"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("was changed"), "{out}");
    assert_one_clear_line(&err, "the audit trail was tampered with");
}

/// `kill -9` while a background run waits for its model, then a restart on the same data
/// folder: the `run.execute` job is taken again once its lease expires and the run completes
/// (issue 15: "a background run survives a kill of the server").
#[tokio::test]
async fn a_background_run_killed_mid_answer_completes_after_a_restart() {
    use aerie_bench::{FakeUpstream, Reply};
    use serde_json::{Value, json};
    let fake = FakeUpstream::start().await;
    // The first attempt hangs until the server is killed; the second answers.
    fake.push(Reply::Delay {
        ms: 120_000,
        then: Box::new(Reply::text("Too late.")),
    });
    fake.push(Reply::text("Survived the restart."));
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let serve = |data: &Path| {
        let mut cmd = aerie(data);
        cmd.env("AERIE_LISTEN", "127.0.0.1:0")
            .env("AERIE_ALLOW_PRIVATE_PROVIDER_URLS", "true")
            .env("AERIE_JOB_LEASE_SECS", "3");
        cmd
    };
    let running = start(&mut serve(&data));
    let http = crate::support::http();
    let url = running.url.clone();
    let res = http
        .post(format!("{url}/auth/setup"))
        .json(
            &json!({"email": "owner@acme.test", "password": crate::support::PASSWORD,
                      "name": "Olive Owner", "organization_name": "Acme"}),
        )
        .send()
        .await
        .expect("setup");
    assert_eq!(res.status(), 201);
    let login = |url: String| async move {
        let tokens: Value = crate::support::http()
            .post(format!("{url}/auth/jwt/create/"))
            .json(&json!({"email": "owner@acme.test", "password": crate::support::PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        tokens["access"].as_str().expect("access").to_owned()
    };
    let jwt = login(url.clone()).await;
    let res = http
        .post(format!("{url}/api/providers"))
        .bearer_auth(&jwt)
        .json(&json!({"name": "fake", "base_url": fake.base_url(), "api_key": "sk-upstream"}))
        .send()
        .await
        .expect("provider");
    assert_eq!(res.status(), 201);
    let res = http
        .post(format!("{url}/v1/runs"))
        .bearer_auth(&jwt)
        .json(&json!({"messages": [{"role": "user", "content": "Hello"}], "background": true}))
        .send()
        .await
        .expect("run");
    assert_eq!(res.status(), 202);
    let run: Value = res.json().await.expect("json");
    let id = run["run_id"].as_str().expect("id").to_owned();
    let read = |url: String, jwt: String, id: String| async move {
        crate::support::http()
            .get(format!("{url}/v1/runs/{id}"))
            .bearer_auth(jwt)
            .send()
            .await
            .expect("read")
            .json::<Value>()
            .await
            .expect("json")
    };
    // Running, and the provider has the request: kill the process outright.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = read(url.clone(), jwt.clone(), id.clone()).await;
        if r["status"] == "running" && !fake.requests().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never started: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = running.child;
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    let running = start(&mut serve(&data));
    let url = running.url.clone();
    let jwt = login(url.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let r = read(url.clone(), jwt.clone(), id.clone()).await;
        if r["status"] == "completed" {
            break r;
        }
        assert_ne!(r["status"], "error", "{r}");
        assert!(
            Instant::now() < deadline,
            "not completed after the restart: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["response"], "Survived the restart.", "{done}");
    assert_eq!(fake.requests().len(), 2);
    let (code, _) = terminate(running);
    assert_eq!(code, 0);
}
