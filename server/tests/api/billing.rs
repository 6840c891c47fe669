//! Plans, the subscription and credits (docs/BILLING.md): the public plan list; the
//! subscription, `/v1/auth/profile` and the usage log agree to the token; concurrent requests
//! never overspend and every call that ran is charged; a client that drops its stream is
//! charged for what the provider produced; a stream stops at its reserved output; overlapping
//! calls are held out of the instance's lease, whose charges and unspent block go back to the
//! period's row.

use std::time::Duration;

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use futures::StreamExt;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::support::chat::Chat;

/// Runs `sql` on the app's database (the operator's plan and price editors come later; the
/// tests set their terms directly).
async fn sql(t: &Chat, sql: &str) {
    t.app.ctx.db().execute_unprepared(sql).await.expect("sql");
}

/// The period's row as the database holds it: `(credits_used, credits_reserved, tokens_used)`.
async fn period_row(t: &Chat) -> (i64, i64, i64) {
    let db = t.app.ctx.db();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT credits_used, credits_reserved, tokens_used FROM credit_periods",
        ))
        .await
        .expect("period")
        .expect("a period row");
    (
        row.try_get::<i64>("", "credits_used").expect("used"),
        row.try_get::<i64>("", "credits_reserved")
            .expect("reserved"),
        row.try_get::<i64>("", "tokens_used").expect("tokens"),
    )
}

/// `n` calls at once on the plain agent `model`, each answered after 200 ms: what they were
/// charged in all (a credit per token).
async fn overlapping_calls(t: &Chat, model: &str, n: usize) -> i64 {
    for _ in 0..n {
        t.fake.push(Reply::Delay {
            ms: 200,
            then: Box::new(Reply::text("ok")),
        });
    }
    let ask = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let calls = (0..n).map(|_| t.post("/v1/chat/completions", ask.clone()));
    let mut charged = 0;
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        charged += body["usage"]["total_tokens"].as_i64().expect("usage");
    }
    charged
}

async fn plain_agent(t: &Chat) {
    let (status, agent) = t
        .app
        .authed(
            reqwest::Method::POST,
            "/api/agents",
            &t.jwt,
            Some(
                json!({"name": "plain", "model": "fake-model", "provider_id": t.provider_id,
                        "visibility": "organization"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
}

async fn subscription(t: &Chat) -> Value {
    let (status, s) = t.get("/v1/billings/subscription/").await;
    assert_eq!(status, 200, "{s}");
    s
}

async fn wait_until<F, Fut>(mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn plans_are_public() {
    let t = Chat::start(DbKind::Sqlite).await;
    let res = t
        .app
        .client
        .get(t.app.url("/v1/billings/plans/"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let plans: Value = res.json().await.expect("json");
    let slugs: Vec<&str> = plans
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["community", "pro", "enterprise"]);
    assert_eq!(plans[0]["monthly_credits"], 10_000);
    assert_eq!(
        plans[2]["monthly_credits"],
        Value::Null,
        "enterprise: unlimited"
    );
    // The subscription needs a credential.
    let res = t
        .app
        .client
        .get(t.app.url("/v1/billings/subscription/"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
}

/// The subscription, the profile and the usage log tell the same numbers after calls on every
/// chat family.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn subscription_profile_and_usage_agree_to_the_token(#[case] kind: DbKind) {
    let t = Chat::start_with(kind, |c| c.monthly_token_quota = 1_000_000).await;
    let s = subscription(&t).await;
    assert_eq!(s["plan"]["slug"], "community");
    assert_eq!(s["status"], "active");
    assert_eq!(s["current_quota"]["credits_total"], 10_000);
    assert_eq!(s["current_quota"]["credits_used"], 0);
    assert_eq!(s["current_quota"]["credits_remaining"], 10_000);
    // A credit per token makes the arithmetic visible.
    sql(&t, "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'").await;
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "one two three"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [{"role": "user", "content": "four five"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, events) = t
        .post_sse(
            "/api/chat",
            json!({"agent_id": t.agent_id, "message": "six"}),
        )
        .await;
    assert_eq!(status, 200, "{events:?}");

    let (_, logs) = t.get("/v1/logs").await;
    let logged: i64 = logs
        .as_array()
        .expect("logs")
        .iter()
        .map(|r| r["input_tokens"].as_i64().unwrap_or(0) + r["output_tokens"].as_i64().unwrap_or(0))
        .sum();
    assert!(logged > 0);
    let s = subscription(&t).await;
    let q = &s["current_quota"];
    assert_eq!(q["tokens_used"], logged, "{s}");
    assert_eq!(q["credits_used"], logged, "a credit per token: {s}");
    assert_eq!(q["credits_reserved"], 0);
    assert_eq!(q["credits_remaining"], 10_000 - logged);
    assert_eq!(q["tokens_remaining"], 1_000_000 - logged);
    let (status, profile) = t.get("/v1/auth/profile").await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["subscription_tier"], "community");
    assert_eq!(profile["used_monthly_tokens"], logged);
    assert_eq!(profile["remaining_monthly_tokens"], 1_000_000 - logged);
    assert_eq!(profile["quota_resets_at"], s["current_period_end"]);
}

/// 200 concurrent requests against credits for 50 worst cases: the period never holds more than
/// it grants, the refused ones never reach the model, and every one that ran is charged exactly
/// its usage.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn concurrent_requests_never_overspend_and_all_that_ran_are_charged(#[case] kind: DbKind) {
    let t = Chat::start_with(kind, |c| c.max_output_tokens = 20).await;
    // A credit per token, and an agent without a system prompt or tools: the call below asks
    // "hi" (2 bytes, one message), so its worst case is 2 + 8 (the message) + 8 (the request)
    // input tokens and 20 output tokens = 38 credits (docs/BILLING.md). The period grants the
    // probe's 2 credits (a one-word question, a one-word answer) and 50 worst cases.
    sql(&t, "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'").await;
    sql(
        &t,
        "UPDATE plans SET monthly_credits = 1902, requests_per_minute = NULL, tokens_per_minute = NULL WHERE slug = 'community'",
    )
    .await;
    plain_agent(&t).await;
    let ask = json!({"model": "plain", "messages": [{"role": "user", "content": "hi"}]});
    // The worst case, read off the period while a call holds it.
    t.fake.push(Reply::Delay {
        ms: 400,
        then: Box::new(Reply::text("warm")),
    });
    let first = {
        let (t2, ask) = (&t, ask.clone());
        async move { t2.post("/v1/chat/completions", ask).await }
    };
    let probe = async {
        for _ in 0..100 {
            let held = subscription(&t).await["current_quota"]["credits_reserved"]
                .as_i64()
                .unwrap_or(0);
            if held > 0 {
                return held;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        0
    };
    let ((status, _), worst) = tokio::join!(first, probe);
    assert_eq!(status, 200);
    assert_eq!(worst, 38, "the documented worst case");
    let used = subscription(&t).await["current_quota"]["credits_used"]
        .as_i64()
        .unwrap_or(0);
    assert_eq!(used, 2, "the probe is charged its usage");
    let granted = 1902;
    let before = t.fake.requests().len();
    for _ in 0..200 {
        t.fake.push(Reply::Delay {
            ms: 300,
            then: Box::new(Reply::text("ok")),
        });
    }
    let calls = (0..200).map(|_| t.post("/v1/chat/completions", ask.clone()));
    let results = futures::future::join_all(calls).await;
    let mut charged = 0;
    let (mut ok, mut refused) = (0, 0);
    for (status, body) in &results {
        match status {
            200 => {
                ok += 1;
                charged += body["usage"]["total_tokens"].as_i64().expect("usage");
            }
            402 => {
                refused += 1;
                assert_eq!(
                    body["detail"],
                    "Credit quota exhausted. Upgrade your plan or wait for your quota to reset."
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok + refused, 200);
    assert!(ok >= 50, "every worst case that fits runs: {ok}");
    assert!(
        refused > 0,
        "credits for 50 worst cases cannot run 200 calls at once"
    );
    assert_eq!(
        t.fake.requests().len() - before,
        ok,
        "no refused call reached the model"
    );
    let q = subscription(&t).await["current_quota"].clone();
    assert_eq!(q["credits_reserved"], 0, "every hold settled: {q}");
    assert_eq!(
        q["credits_used"],
        used + charged,
        "charged exactly what ran: {q}"
    );
    assert!(q["credits_used"].as_i64().unwrap_or(0) <= granted, "{q}");
}

/// A client that drops its stream before the end (no usage chunk, no `[DONE]`) is charged for
/// the prompt and the text streamed so far, not nothing.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_dropped_stream_is_charged_for_what_was_produced(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    sql(&t, "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'").await;
    let slow: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    for path in ["/v1/chat/completions", "/api/chat"] {
        let before = subscription(&t).await["current_quota"]["credits_used"]
            .as_i64()
            .unwrap_or(0);
        t.fake.push(Reply::StreamSlow {
            chunks: slow.clone(),
            interval_ms: 50,
        });
        let body = if path == "/api/chat" {
            json!({"agent_id": t.agent_id, "message": "tell me a long story"})
        } else {
            json!({"model": "helper", "stream": true,
                   "messages": [{"role": "user", "content": "tell me a long story"}]})
        };
        let res = t
            .app
            .client
            .post(t.app.url(path))
            .bearer_auth(&t.key)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        let mut stream = res.bytes_stream();
        let mut text = String::new();
        while text.matches("word").count() < 3 {
            let chunk = stream.next().await.expect("more").expect("bytes");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        drop(stream);
        let charged = wait_until(|| async {
            let q = subscription(&t).await["current_quota"].clone();
            q["credits_reserved"] == 0 && q["credits_used"].as_i64().unwrap_or(0) > before
        })
        .await;
        let q = subscription(&t).await["current_quota"].clone();
        assert!(charged, "{path}: the dropped call was charged: {q}");
        let cost = q["credits_used"].as_i64().unwrap_or(0) - before;
        // The prompt (system prompt and question, about 4 characters a token) and at least the
        // three words the client saw; never the whole answer it did not wait for.
        assert!(cost >= 10, "{path}: {cost}");
        assert!(cost < 10 + 40 * 2, "{path}: {cost}");
    }
}

/// A stream is stopped at the output its call was reserved for.
#[tokio::test]
async fn a_stream_stops_at_its_reserved_output() {
    let t = Chat::start_with(DbKind::Sqlite, |c| c.max_output_tokens = 8).await;
    let long: String = (0..200).map(|i| format!("w{i} ")).collect();
    t.fake.push(Reply::NoUsage {
        content: long.clone(),
    });
    let (status, events) = t
        .post_sse(
            "/v1/chat/completions",
            json!({"model": "helper", "stream": true,
                   "messages": [{"role": "user", "content": "go"}]}),
        )
        .await;
    assert_eq!(status, 200);
    let chunks = crate::support::chat::data_json(&events);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.len() < long.len(), "cut short: {}", text.len());
    let finish = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .next_back();
    assert_eq!(finish, Some("length"));
}

/// Where the rate-limit counters live.
#[derive(Clone, Copy, Debug)]
enum Counters {
    Database(DbKind),
    Redis,
}

async fn limited(counters: Counters) -> Chat {
    match counters {
        Counters::Database(kind) => Chat::start(kind).await,
        Counters::Redis => {
            Chat::start_with(DbKind::Sqlite, |c| {
                c.redis_url = aerie_backend::config::Redacted("redis://127.0.0.1:6379".to_owned());
            })
            .await
        }
    }
}

/// `POST /v1/chat/completions` with `token`: status, `Retry-After`, body.
async fn ask(t: &Chat, token: &str) -> (u16, Option<u64>, Value) {
    let res = t
        .app
        .client
        .post(t.app.url("/v1/chat/completions"))
        .bearer_auth(token)
        .json(&json!({"model": "helper", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

fn minute() -> i64 {
    chrono::Utc::now().timestamp() / 60
}

/// The plan's requests per minute hold per API key and per user, counted in the database or
/// in Redis: past them, 429 with `Retry-After` until the minute ends, and no call reaches the
/// model.
#[rstest]
#[case::sqlite(Counters::Database(DbKind::Sqlite))]
#[case::postgres(Counters::Database(DbKind::Postgres))]
#[case::redis(Counters::Redis)]
#[tokio::test]
async fn requests_per_minute_answer_429_with_retry_after(#[case] counters: Counters) {
    let t = limited(counters).await;
    sql(
        &t,
        "UPDATE plans SET requests_per_minute = 3 WHERE slug = 'community'",
    )
    .await;
    // A minute that ends during the test starts a fresh window: then try once more.
    for attempt in 0..2 {
        let started = minute();
        let before = t.fake.requests().len();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(ask(&t, &t.key).await.0);
        }
        let (status, retry, body) = ask(&t, &t.key).await;
        // The same user with a JWT: the user's own count is past the limit too.
        let (jwt_status, _, _) = ask(&t, &t.jwt).await;
        if minute() != started && attempt == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(statuses, [200, 200, 200], "{counters:?}");
        assert_eq!(status, 429, "{counters:?}: {body}");
        crate::support::assert_contract_body(&body, "RATE-001");
        assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
        assert_eq!(jwt_status, 429, "{counters:?}: per user too");
        assert_eq!(
            t.fake.requests().len() - before,
            3,
            "refused calls never reach the model"
        );
        return;
    }
}

/// A key's own limits replace the plan's for the calls made with it: a tighter key stops
/// before the plan would, an admin's wider key goes past it (its calls still count on the
/// person, whose other calls then wait), a member cannot lift the plan's limit, and `null`
/// goes back to the plan's.
#[rstest]
#[case::sqlite(Counters::Database(DbKind::Sqlite))]
#[case::postgres(Counters::Database(DbKind::Postgres))]
#[case::redis(Counters::Redis)]
#[tokio::test]
async fn a_keys_own_limits_replace_the_plans(#[case] counters: Counters) {
    let t = limited(counters).await;
    sql(
        &t,
        "UPDATE plans SET requests_per_minute = 3 WHERE slug = 'community'",
    )
    .await;
    let key = |name: &str, rpm: Value| json!({"name": name, "requests_per_minute": rpm});
    // A member may tighten their key, not lift it above the plan.
    let member = t.app.join(&t.jwt, "mo@acme.test", "member").await;
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/api-keys",
            &member,
            Some(key("too wide", json!(10))),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "requests_per_minute", "{body}");
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/api-keys",
            &member,
            Some(key("zero", json!(0))),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    for attempt in 0..2 {
        let started = minute();
        let (status, tight) = t
            .app
            .authed(
                Method::POST,
                "/api/api-keys",
                &t.jwt,
                Some(key("tight", json!(1))),
            )
            .await;
        assert_eq!(status, 201, "{tight}");
        assert_eq!(tight["requests_per_minute"], 1);
        let (status, wide) = t
            .app
            .authed(
                Method::POST,
                "/api/api-keys",
                &t.jwt,
                Some(key("wide", json!(10))),
            )
            .await;
        assert_eq!(status, 201, "{wide}");
        let tight_key = tight["key"].as_str().expect("key").to_owned();
        let wide_key = wide["key"].as_str().expect("key").to_owned();
        let tight_statuses = [ask(&t, &tight_key).await.0, ask(&t, &tight_key).await.0];
        let mut wide_statuses = Vec::new();
        for _ in 0..5 {
            wide_statuses.push(ask(&t, &wide_key).await.0);
        }
        let (person, _, _) = ask(&t, &t.jwt).await;
        if minute() != started && attempt == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(
            tight_statuses,
            [200, 429],
            "{counters:?}: the tight key stops at 1"
        );
        assert_eq!(
            wide_statuses, [200; 5],
            "{counters:?}: the wide key passes the plan's 3"
        );
        assert_eq!(
            person, 429,
            "{counters:?}: the key's calls count on the person"
        );
        // Back to the plan's.
        let id = wide["id"].as_str().expect("id");
        let (status, body) = t
            .app
            .authed(
                Method::PATCH,
                &format!("/v1/billings/api-keys/{id}/update/"),
                &t.jwt,
                Some(json!({"requests_per_minute": null})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("requests_per_minute").is_none(), "{body}");
        assert_eq!(
            ask(&t, &wide_key).await.0,
            429,
            "{counters:?}: the plan's again"
        );
        return;
    }
}

/// The plan's tokens per minute: once a minute's calls used them, the next call waits.
#[rstest]
#[case::sqlite(Counters::Database(DbKind::Sqlite))]
#[case::redis(Counters::Redis)]
#[tokio::test]
async fn tokens_per_minute_answer_429(#[case] counters: Counters) {
    let t = limited(counters).await;
    sql(
        &t,
        "UPDATE plans SET tokens_per_minute = 5 WHERE slug = 'community'",
    )
    .await;
    for attempt in 0..2 {
        let started = minute();
        let first = ask(&t, &t.key).await.0;
        let (second, retry, _) = ask(&t, &t.key).await;
        if minute() != started && attempt == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(first, 200, "{counters:?}");
        assert_eq!(
            second, 429,
            "{counters:?}: the first call's tokens used the minute up"
        );
        assert!(retry.is_some());
        return;
    }
}

/// The plan's tokens per person (set with the operator's plan editor): a person whose calls
/// used their tokens is refused with 402 in seed 001's words and a `why` about their own
/// tokens, while another person of the organisation goes on; the subscription shows each
/// person their own balance, and it never goes past the limit.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn each_person_stops_at_the_plans_tokens_per_person(#[case] kind: DbKind) {
    const LIMIT: i64 = 120;
    let t = Chat::start(kind).await;
    // An agent without tools or a system prompt: a call holds little beyond its max_tokens.
    let (status, plain) = t
        .app
        .authed(
            Method::POST,
            "/api/agents",
            &t.jwt,
            Some(
                json!({"name": "plain", "model": "fake-model", "provider_id": t.provider_id,
                        "visibility": "organization"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{plain}");
    let (status, plan) = t
        .app
        .authed(
            Method::POST,
            "/api/operator/plans",
            &t.jwt,
            Some(
                json!({"slug": "community", "name": "Community", "price_label": "Free",
                        "monthly_credits": 10_000, "monthly_tokens_per_user": LIMIT,
                        "requests_per_minute": 600, "tokens_per_minute": null,
                        "features": ["chat"]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["monthly_tokens_per_user"], LIMIT);
    let carol = t.app.join(&t.jwt, "carol@acme.test", "member").await;
    let ask = |credential: String| {
        let t = &t;
        async move {
            t.app
                .authed(
                    Method::POST,
                    "/v1/chat/completions",
                    &credential,
                    Some(json!({"model": "plain", "max_tokens": 20,
                                "messages": [{"role": "user", "content": "hi"}]})),
                )
                .await
        }
    };

    let mut answered = 0;
    let refusal = loop {
        let (status, body) = ask(t.key.clone()).await;
        match status {
            200 => answered += 1,
            402 => break body,
            other => panic!("{other}: {body}"),
        }
        assert!(answered < 60, "the person's tokens never ran out");
    };
    assert!(answered >= 1, "{refusal}");
    assert_eq!(
        refusal["detail"],
        "Credit quota exhausted. Upgrade your plan or wait for your quota to reset."
    );
    let why = refusal["error"]["why"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("You used ") && why.contains(&format!("of your {LIMIT} tokens")),
        "{why}"
    );
    let (_, mine) = t.get("/v1/billings/subscription/").await;
    let used = mine["your_tokens"]["tokens_used"].as_i64().expect("used");
    assert!(used > 0 && used <= LIMIT, "{mine}");
    assert_eq!(mine["your_tokens"]["tokens_total"], LIMIT);
    // The organisation still has credits: the limit is the person's.
    assert!(
        mine["current_quota"]["credits_remaining"]
            .as_i64()
            .unwrap_or(0)
            > 0
    );

    // Carol has her own tokens.
    let (status, body) = ask(carol.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (_, hers) = t
        .app
        .authed(Method::GET, "/v1/billings/subscription/", &carol, None)
        .await;
    assert!(
        hers["your_tokens"]["tokens_used"].as_i64().unwrap_or(0) > 0,
        "{hers}"
    );
    // The editor is audited.
    assert!(
        t.app
            .audit_actions()
            .await
            .contains(&"plan.saved".to_owned())
    );
}

/// Calls that overlap are held out of the instance's lease of the period (a block taken with
/// one conditional UPDATE): the subscription is exact at once, and within a few ticks the
/// period's row itself holds every charge and no block (docs/BILLING.md "Leases").
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn overlapping_calls_are_held_out_of_a_lease_that_goes_back_to_the_row(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    sql(&t, "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'").await;
    sql(
        &t,
        "UPDATE plans SET monthly_credits = 100000, requests_per_minute = NULL, tokens_per_minute = NULL WHERE slug = 'community'",
    )
    .await;
    plain_agent(&t).await;
    let charged = overlapping_calls(&t, "plain", 24).await;
    assert!(charged > 0);
    let q = subscription(&t).await["current_quota"].clone();
    assert_eq!(q["credits_used"], charged, "{q}");
    assert_eq!(q["credits_reserved"], 0, "{q}");
    assert_eq!(q["credits_remaining"], 100_000 - charged, "{q}");
    assert!(
        wait_until(|| async { period_row(&t).await == (charged, 0, charged) }).await,
        "the row holds the charges and no block: {:?}",
        period_row(&t).await
    );
    // And again, on the same period: a new lease.
    let more = overlapping_calls(&t, "plain", 8).await;
    assert_eq!(
        subscription(&t).await["current_quota"]["credits_used"],
        charged + more
    );
    assert!(
        wait_until(|| async { period_row(&t).await == (charged + more, 0, charged + more) }).await,
        "{:?}",
        period_row(&t).await
    );
}

/// On a plan without limits nothing needs holding: calls are counted in memory, shown at once,
/// and written to the period's row within a tick or two.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn an_unlimited_plans_calls_are_counted_and_written(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    sql(&t, "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'").await;
    sql(
        &t,
        "UPDATE plans SET monthly_credits = NULL, requests_per_minute = NULL, tokens_per_minute = NULL WHERE slug = 'community'",
    )
    .await;
    plain_agent(&t).await;
    let first = overlapping_calls(&t, "plain", 1).await;
    let charged = first + overlapping_calls(&t, "plain", 12).await;
    let q = subscription(&t).await["current_quota"].clone();
    assert_eq!(q["credits_total"], Value::Null, "{q}");
    assert_eq!(q["credits_used"], charged, "{q}");
    assert_eq!(q["credits_reserved"], 0, "{q}");
    assert!(
        wait_until(|| async { period_row(&t).await == (charged, 0, charged) }).await,
        "{:?}",
        period_row(&t).await
    );
}

/// A limit above 20 requests a minute is admitted from blocks of the window (a twentieth of
/// the limit at once), and one instance still admits exactly the limit.
#[rstest]
#[case::sqlite(Counters::Database(DbKind::Sqlite))]
#[case::redis(Counters::Redis)]
#[tokio::test]
async fn request_blocks_still_admit_exactly_the_limit(#[case] counters: Counters) {
    let t = limited(counters).await;
    sql(
        &t,
        "UPDATE plans SET requests_per_minute = 45 WHERE slug = 'community'",
    )
    .await;
    for attempt in 0..2 {
        let started = minute();
        let before = t.fake.requests().len();
        let mut ok = 0;
        let mut refused = 0;
        for _ in 0..48 {
            match ask(&t, &t.key).await.0 {
                200 => ok += 1,
                429 => refused += 1,
                other => panic!("{counters:?}: {other}"),
            }
        }
        if minute() != started && attempt == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!((ok, refused), (45, 3), "{counters:?}");
        assert_eq!(t.fake.requests().len() - before, 45);
        return;
    }
}
