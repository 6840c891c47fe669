//! Seed 001's 402 sentence on every family.

use aerie_backend::config::DbKind;
use chrono::{Datelike, TimeZone, Utc};
use rstest::rstest;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::chat::{Chat, data_json, parse_sse};
use crate::support::{TestApp, assert_contract_body};

/// Seed 001, "402 — Credits exhausted".
const SEED_001_402: &str =
    "Credit quota exhausted. Upgrade your plan or wait for your quota to reset.";

/// The first day of the month after now, as the 402 body names it.
fn next_reset() -> String {
    let now = Utc::now();
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .expect("date")
        .format("%Y-%m-%d")
        .to_string()
}

/// `POST path` with `token`; a streamed answer's status and its first `data:` JSON, else the JSON.
async fn post_any(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text)
        .ok()
        .or_else(|| data_json(&parse_sse(&text)).into_iter().next())
        .unwrap_or(Value::Null);
    (status, value)
}

/// A 402 from any family carries seed 001's exact sentence in `detail` (and so in
/// `error.message`); the reset date and the way to raise the limit are in `why` and `fix`:
/// the operator's token cap (`AERIE_MONTHLY_TOKEN_QUOTA`) or the plan's credits.
#[rstest]
#[case::sqlite_tokens(DbKind::Sqlite, "tokens")]
#[case::postgres_tokens(DbKind::Postgres, "tokens")]
#[case::sqlite_credits(DbKind::Sqlite, "credits")]
#[case::postgres_credits(DbKind::Postgres, "credits")]
#[tokio::test]
async fn quota_402_says_seed_001s_sentence_on_every_family(
    #[case] kind: DbKind,
    #[case] exhausted: &str,
) {
    let t = Chat::start_with(kind, |c| c.monthly_token_quota = 1_000_000).await;
    let before = next_reset();
    // One turn, then the period is used up (as many turns would leave it).
    let (status, turn) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "one two three four five six"}),
        )
        .await;
    assert_eq!(status, 200, "{turn}");
    let conversation = turn["conversation_id"]
        .as_str()
        .or_else(|| turn["session_id"].as_str())
        .expect("conversation")
        .to_owned();
    let used_up = if exhausted == "tokens" {
        "UPDATE credit_periods SET tokens_used = tokens_granted"
    } else {
        "UPDATE credit_periods SET credits_used = credits_granted"
    };
    t.app
        .ctx
        .db()
        .execute_unprepared(used_up)
        .await
        .expect("sql");
    let ask = json!({"model": "helper", "messages": [{"role": "user", "content": "hi"}]});
    let calls: Vec<(String, Option<Value>)> = vec![
        (
            "/api/chat".to_owned(),
            Some(json!({"agent_id": t.agent_id, "message": "hi"})),
        ),
        (
            "/api/chat".to_owned(),
            Some(json!({"conversation_id": conversation, "message": "hi"})),
        ),
        (
            "/v1/chat".to_owned(),
            Some(json!({"agent_id": t.agent_id, "message": "hi"})),
        ),
        (
            "/v1/chat".to_owned(),
            Some(json!({"agent_id": t.agent_id, "message": "hi", "stream": true})),
        ),
        ("/v1/chat/completions".to_owned(), Some(ask.clone())),
        (
            "/v1/chat/completions".to_owned(),
            Some(json!({"model": "helper", "stream": true,
                        "messages": [{"role": "user", "content": "hi"}]})),
        ),
        (format!("/api/conversations/{conversation}/title"), None),
    ];
    for token in [&t.jwt, &t.key] {
        for (path, body) in &calls {
            let (status, body) = post_any(&t.app, path, token, body.clone()).await;
            assert_eq!(status, 402, "{path}: {body}");
            assert_contract_body(&body, "BILL-001");
            assert_eq!(body["detail"], SEED_001_402, "{path}");
            assert_eq!(body["error"]["message"], SEED_001_402, "{path}");
            let why = body["error"]["why"].as_str().unwrap_or_default();
            assert!(
                why.contains(&before) || why.contains(&next_reset()),
                "{path}: the reset date is in `why`: {body}"
            );
            let fix = body["error"]["fix"].as_str().unwrap_or_default();
            let unlock = if exhausted == "tokens" {
                "AERIE_MONTHLY_TOKEN_QUOTA"
            } else {
                "GET /v1/billings/plans/"
            };
            assert!(
                fix.contains(unlock),
                "{path}: how to raise the limit is in `fix`: {body}"
            );
        }
    }
    assert_eq!(
        t.fake.requests().len(),
        1,
        "no refused call reached the model"
    );
}
