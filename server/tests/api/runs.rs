//! Routes and governed runs (seed 003; docs/RUNS.md): `model: "default"` works out of the box,
//! a foreground run answers when done and a background one at once; a route that needs
//! approval pauses runs (and chat completions, with RUN-001 naming the run) until one of its
//! approvers decides — anyone else is refused with 403 and audited, nobody decides on their
//! own run; a rejected or timed-out run is blocked; a route's own guardrails redact before the
//! fake upstream sees the prompt, block, or ask an approver; another organisation sees none of
//! it.

use std::time::{Duration, Instant};

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::support::assert_contract_body;
use crate::support::chat::Chat;

const CARD: &str = "4242 4242 4242 4242";

async fn as_(
    t: &Chat,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    t.app.authed(method, path, token, body).await
}

/// Polls run `id` as `token` until `done` holds (10 s at most).
async fn until(t: &Chat, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, run) = as_(t, token, Method::GET, &format!("/v1/runs/{id}"), None).await;
        assert_eq!(status, 200, "{run}");
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "still {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn statuses(run: &Value) -> Vec<String> {
    run["transitions"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|x| x["status"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn create_route(t: &Chat, body: Value) -> Value {
    let (status, route) = as_(t, &t.jwt, Method::POST, "/api/routes", Some(body)).await;
    assert_eq!(status, 201, "{route}");
    route
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_default_route_answers_out_of_the_box(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    // OpenAI's client, `model: "default"`, with nothing configured beyond a provider.
    t.fake.push(Reply::text("Hello from the default route."));
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "default", "messages": [{"role": "user", "content": "Hello!"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the default route."
    );
    assert_eq!(body["model"], "default");
    let (status, models) = t.get("/v1/models").await;
    assert_eq!(status, 200, "{models}");
    let default = models["data"]
        .as_array()
        .and_then(|d| d.iter().find(|m| m["id"] == "default"))
        .cloned()
        .expect("the default route is listed");
    assert_eq!(default["kind"], "route", "{default}");
    assert_eq!(default["model"], "fake-model", "{default}");

    // Seed 003's run: a foreground run answers when done, with its usage.
    t.fake.push(Reply::text("A governed answer."));
    let res = t
        .app
        .client
        .post(t.app.url("/v1/runs"))
        .bearer_auth(&t.key)
        .json(&json!({"messages": [{"role": "user", "content": "Hello"}], "route": "default", "background": false, "approvers": []}))
        .send()
        .await
        .expect("run");
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .expect("location");
    let run: Value = res.json().await.expect("json");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["response"], "A governed answer.");
    assert!(
        run["usage"]["total_tokens"].as_u64().is_some_and(|n| n > 0),
        "{run}"
    );
    assert_eq!(statuses(&run), ["running", "completed"], "{run}");
    let id = run["run_id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/v1/runs/{id}"));
    let (status, polled) = t.get(&location).await;
    assert_eq!(status, 200);
    assert_eq!(polled["response"], "A governed answer.");

    // In the background: 202 `pending` at once, completed by a job.
    t.fake.push(Reply::Delay {
        ms: 300,
        then: Box::new(Reply::text("Later.")),
    });
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": "Take your time"}], "background": true}),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["status"], "pending");
    let id = run["run_id"].as_str().expect("id");
    let done = until(&t, &t.key, id, |r| r["status"] == "completed").await;
    assert_eq!(done["response"], "Later.");
    assert_eq!(
        statuses(&done),
        ["pending", "running", "completed"],
        "{done}"
    );

    // Bad input: the contract's shape, nothing stored.
    let (status, bad) = t.post("/v1/runs", json!({"messages": []})).await;
    assert_eq!(status, 400, "{bad}");
    assert_contract_body(&bad, "REQ-001");
    let (status, bad) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "wizard", "content": "x"}]}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, missing) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": "x"}], "route": "nowhere"}),
        )
        .await;
    assert_eq!(status, 404, "{missing}");
    assert_contract_body(&missing, "RES-001");
    let (status, page) = t.get("/v1/runs").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["runs"].as_array().map(Vec::len), Some(2), "{page}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_route_that_needs_approval_waits_for_one_of_its_approvers(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let mia = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    let ann = t.app.join(&t.jwt, "ann@acme.test", "member").await;
    let (_, me) = as_(&t, &ann, Method::GET, "/auth/user", None).await;
    let ann_id = me["id"].as_str().expect("id").to_owned();

    // Members cannot make routes.
    let (status, refused) = as_(
        &t,
        &mia,
        Method::POST,
        "/api/routes",
        Some(json!({"name": "sneaky"})),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let (status, bad) = as_(
        &t,
        &t.jwt,
        Method::POST,
        "/api/routes",
        Some(json!({"name": "costly", "approval": "above_cost"})),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["param"], "approval_cost_above", "{bad}");
    create_route(
        &t,
        json!({"name": "reviewed", "agent_id": t.agent_id, "approval": "always",
               "approver_user_ids": [ann_id], "approval_timeout_minutes": 30}),
    )
    .await;
    let (status, routes) = as_(&t, &mia, Method::GET, "/api/routes", None).await;
    assert_eq!(status, 200, "{routes}");
    let names: Vec<&str> = routes
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["default", "reviewed"]);

    // Mia's run pauses; the provider is not called.
    let before = t.fake.requests().len();
    let (status, run) = as_(
        &t,
        &mia,
        Method::POST,
        "/v1/runs",
        Some(json!({"messages": [{"role": "user", "content": "Ship it"}], "route": "reviewed"})),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "paused", "{run}");
    assert_eq!(run["approvers"][0]["name"], "ann@acme.test", "{run}");
    assert!(run["expires_at"].is_string(), "{run}");
    assert_eq!(t.fake.requests().len(), before);
    let id = run["run_id"].as_str().expect("id").to_owned();

    // Mia cannot pick a friendlier approver than the route's.
    let (status, refused) = as_(
        &t,
        &mia,
        Method::POST,
        "/v1/runs",
        Some(
            json!({"messages": [{"role": "user", "content": "Ship it"}], "route": "reviewed",
                    "approvers": ["owner@acme.test"]}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["param"], "approvers", "{refused}");
    let (status, named) = as_(
        &t,
        &mia,
        Method::POST,
        "/v1/runs",
        Some(
            json!({"messages": [{"role": "user", "content": "Ship it too"}], "route": "reviewed",
                    "approvers": ["ann@acme.test"]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{named}");
    assert_eq!(named["approvers"][0]["name"], "ann@acme.test", "{named}");

    // Ann's inbox has it; Mia's does not (nobody decides on their own run).
    let (_, inbox) = as_(&t, &ann, Method::GET, "/v1/runs?awaiting=me", None).await;
    assert!(
        inbox["runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["run_id"] == id.as_str())),
        "{inbox}"
    );
    let (_, own) = as_(&t, &mia, Method::GET, "/v1/runs?awaiting=me", None).await;
    assert_eq!(own["runs"].as_array().map(Vec::len), Some(0), "{own}");

    // The owner is no approver of this run (it names Ann): 403 RUN-002, audited; so is Mia.
    let resume = format!("/v1/runs/{id}/resume");
    let (status, refused) = as_(
        &t,
        &t.key,
        Method::POST,
        &resume,
        Some(json!({"decision": "approved"})),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_contract_body(&refused, "RUN-002");
    let (status, refused) = as_(
        &t,
        &mia,
        Method::POST,
        &resume,
        Some(json!({"decision": "approved"})),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let refusals = t
        .app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "run.resume_refused")
        .count();
    assert_eq!(refusals, 2);
    let (status, bad) = as_(
        &t,
        &ann,
        Method::POST,
        &resume,
        Some(json!({"decision": "maybe"})),
    )
    .await;
    assert_eq!(status, 400, "{bad}");

    // Ann approves: the run is queued and completes.
    t.fake.push(Reply::text("Shipped."));
    let (status, approved) = as_(
        &t,
        &ann,
        Method::POST,
        &resume,
        Some(json!({"decision": "approved", "comment": "Looks fine"})),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["approval"]["decision"], "approved");
    let done = until(&t, &mia, &id, |r| r["status"] == "completed").await;
    assert_eq!(done["response"], "Shipped.");
    assert_eq!(
        statuses(&done),
        ["paused", "pending", "running", "completed"],
        "{done}"
    );
    assert_eq!(done["transitions"][1]["by"], ann_id.as_str(), "{done}");
    assert!(
        done["transitions"][1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("ann@acme.test") && r.contains("Looks fine")),
        "{done}"
    );
    let (status, again) = as_(
        &t,
        &ann,
        Method::POST,
        &resume,
        Some(json!({"decision": "approved"})),
    )
    .await;
    assert_eq!(status, 409, "{again}");

    // A chat completion on the route becomes a paused run: 403 RUN-001 naming it.
    let (status, paused) = as_(
        &t,
        &mia,
        Method::POST,
        "/v1/chat/completions",
        Some(json!({"model": "reviewed", "messages": [{"role": "user", "content": "Deploy"}]})),
    )
    .await;
    assert_eq!(status, 403, "{paused}");
    assert_contract_body(&paused, "RUN-001");
    let fix = paused["error"]["fix"].as_str().unwrap_or_default();
    let run_id = fix
        .split("/v1/runs/")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .expect("the run is named")
        .to_owned();
    let (status, waiting) = as_(&t, &mia, Method::GET, &format!("/v1/runs/{run_id}"), None).await;
    assert_eq!(status, 200, "{waiting}");
    assert_eq!(waiting["status"], "paused");
    assert_eq!(waiting["messages"][0]["content"], "Deploy");

    // Rejected: blocked with the approver's words.
    let (status, rejected) = as_(
        &t,
        &ann,
        Method::POST,
        &format!("/v1/runs/{run_id}/resume"),
        Some(json!({"decision": "rejected", "comment": "Not on a Friday"})),
    )
    .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "blocked");
    assert_eq!(rejected["error"]["code"], "RUN-003", "{rejected}");
    assert!(
        rejected["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Not on a Friday"))
    );
    let actions = t.app.audit_actions().await;
    for action in [
        "route.created",
        "run.created",
        "run.approved",
        "run.rejected",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    // Seed 003's audit filter by route finds the run's events.
    let (status, trail) = t.get("/v1/audit?route=reviewed").await;
    assert_eq!(status, 200, "{trail}");
    assert!(
        trail
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["action"] == "run.approved")),
        "{trail}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_paused_run_nobody_decides_on_times_out_blocked(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    create_route(
        &t,
        json!({"name": "slow", "approval": "always", "approval_timeout_minutes": 1}),
    )
    .await;
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": "Anyone?"}], "route": "slow"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "paused");
    assert!(run["approvers"].as_array().is_some_and(Vec::is_empty));
    let id = run["run_id"].as_str().expect("id").to_owned();
    // Its deadline passes (moved into the past rather than waited for).
    let db = t.app.ctx.db();
    let backend = db.get_database_backend();
    for sql in [
        "UPDATE runs SET expires_at = created_at".to_owned(),
        "UPDATE jobs SET run_at = created_at WHERE kind = 'run.expire'".to_owned(),
    ] {
        db.execute_raw(Statement::from_string(backend, sql))
            .await
            .expect("age");
    }
    let done = until(&t, &t.key, &id, |r| r["status"] == "blocked").await;
    assert_eq!(done["error"]["code"], "RUN-004", "{done}");
    assert_eq!(statuses(&done), ["paused", "blocked"]);
    // Too late to approve.
    let member = t.app.join(&t.jwt, "ada@acme.test", "admin").await;
    let (status, late) = as_(
        &t,
        &member,
        Method::POST,
        &format!("/v1/runs/{id}/resume"),
        Some(json!({"decision": "approved"})),
    )
    .await;
    assert_eq!(status, 409, "{late}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_routes_own_guardrails_redact_block_and_ask(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let ann = t.app.join(&t.jwt, "ann@acme.test", "admin").await;
    create_route(
        &t,
        json!({"name": "careful", "agent_id": t.agent_id,
               "guardrails": {"rules": [{"detector": "payment_card", "action": "redact"},
                                        {"detector": "email", "action": "block"}]}}),
    )
    .await;
    // Redacted before the provider sees it.
    t.fake.push(Reply::text("Charged."));
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": format!("Charge {CARD} now")}], "route": "careful"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    let upstream = t.fake.last_request().expect("request").to_string();
    assert!(
        !upstream.contains(CARD) && upstream.contains("[REDACTED:payment_card]"),
        "{upstream}"
    );
    assert_eq!(run["findings"][0]["detector"], "payment_card", "{run}");
    assert!(!run.to_string().contains(CARD), "{run}");

    // Blocked: the run is kept as `blocked`, without its input; the provider saw nothing.
    let before = t.fake.requests().len();
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": "mail jane@example.com"}], "route": "careful"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "blocked", "{run}");
    assert_eq!(run["error"]["code"], "GUARD-001", "{run}");
    assert!(!run.to_string().contains("jane@example.com"), "{run}");
    assert_eq!(t.fake.requests().len(), before);

    // `ask` on a route that asks approvers: the run waits; once approved the text goes as
    // written.
    create_route(
        &t,
        json!({"name": "asking", "agent_id": t.agent_id, "approval": "on_ask",
               "guardrails": {"rules": [{"detector": "secret", "action": "ask"}]}}),
    )
    .await;
    let secret = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": format!("Rotate {secret} please")}], "route": "asking"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "paused", "{run}");
    assert_eq!(run["findings"][0]["detector"], "secret", "{run}");
    let id = run["run_id"].as_str().expect("id").to_owned();
    t.fake.push(Reply::text("Rotated."));
    let (status, _) = as_(
        &t,
        &ann,
        Method::POST,
        &format!("/v1/runs/{id}/resume"),
        Some(json!({"decision": "approved"})),
    )
    .await;
    assert_eq!(status, 200);
    until(&t, &t.key, &id, |r| r["status"] == "completed").await;
    assert!(
        t.fake
            .last_request()
            .expect("request")
            .to_string()
            .contains(secret)
    );
    // Without approvers to ask, `ask` blocks (the default route never waits).
    let (status, refused) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "careful", "messages": [{"role": "user", "content": "to jane@example.com"}]}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_contract_body(&refused, "GUARD-001");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn runs_and_routes_stay_in_their_organisation(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let route = create_route(&t, json!({"name": "internal", "approval": "always"})).await;
    let (status, run) = t
        .post(
            "/v1/runs",
            json!({"messages": [{"role": "user", "content": "hi"}], "route": "internal"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let id = run["run_id"].as_str().expect("id").to_owned();
    let bob = t.app.second_org().await;
    let (bob_jwt, _) = t.app.login(&bob, crate::support::PASSWORD).await;
    let route_id = route["id"].as_str().expect("id");
    for (method, path, body) in [
        (Method::GET, format!("/v1/runs/{id}"), None),
        (
            Method::POST,
            format!("/v1/runs/{id}/resume"),
            Some(json!({"decision": "approved"})),
        ),
        (Method::GET, format!("/api/routes/{route_id}"), None),
        (
            Method::PATCH,
            format!("/api/routes/{route_id}"),
            Some(json!({"approval": "never"})),
        ),
        (Method::DELETE, format!("/api/routes/{route_id}"), None),
    ] {
        let (status, body) = as_(&t, &bob_jwt, method.clone(), &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, theirs) = as_(&t, &bob_jwt, Method::GET, "/v1/runs", None).await;
    assert_eq!(theirs["runs"].as_array().map(Vec::len), Some(0), "{theirs}");
    let (_, routes) = as_(&t, &bob_jwt, Method::GET, "/api/routes", None).await;
    assert!(!routes.to_string().contains("internal"), "{routes}");
    // Bob's own `internal` route is his alone; the default route cannot be deleted.
    let (status, _) = as_(
        &t,
        &bob_jwt,
        Method::POST,
        "/api/routes",
        Some(json!({"name": "internal"})),
    )
    .await;
    assert_eq!(status, 201);
    let default = routes
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "default"))
        .and_then(|r| r["id"].as_str())
        .expect("default")
        .to_owned();
    let (status, refused) = as_(
        &t,
        &bob_jwt,
        Method::DELETE,
        &format!("/api/routes/{default}"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
}
