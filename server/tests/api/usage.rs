//! The usage views (docs/BILLING.md): the organisation's model calls grouped by day, model,
//! person, agent and key add up to the subscription's credits; a member sees their own, never
//! another organisation's; the CSV export (the Pro tier) streams every call with the same sums.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::PASSWORD;
use crate::support::chat::Chat;
use crate::support::license::{PUBLIC_KEY, claims, sign};

async fn report(t: &Chat, jwt: &str, query: &str) -> (u16, Value) {
    t.app
        .authed(Method::GET, &format!("/api/usage{query}"), jwt, None)
        .await
}

/// The report's rows as `(label, requests)`, in its order, without empty days.
fn rows(r: &Value) -> Vec<(String, i64)> {
    r["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["requests"].as_i64().unwrap_or(0) > 0)
        .map(|row| {
            (
                row["label"].as_str().unwrap_or_default().to_owned(),
                row["requests"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

async fn complete(t: &Chat, credential: &str, text: &str) {
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/v1/chat/completions",
            credential,
            Some(json!({"model": "helper", "messages": [{"role": "user", "content": text}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn usage_by_day_model_person_agent_and_key_adds_up(#[case] kind: DbKind) {
    let t = Chat::start_with(kind, |c| c.license_public_key = PUBLIC_KEY.to_owned()).await;
    // A credit per token.
    t.app
        .ctx
        .db()
        .execute_unprepared(
            "UPDATE model_prices SET input_per_mtok = 1000000, output_per_mtok = 1000000 WHERE model = '*'",
        )
        .await
        .expect("price");
    let carol = t.app.join(&t.jwt, "carol@acme.test", "member").await;
    complete(&t, &t.key, "one").await;
    complete(&t, &t.key, "two three").await;
    complete(&t, &t.jwt, "four").await;
    complete(&t, &carol, "five six seven").await;

    let (status, by_day) = report(&t, &t.jwt, "").await;
    assert_eq!(status, 200, "{by_day}");
    assert_eq!(by_day["group_by"], "day");
    assert_eq!(by_day["scope"], "organization");
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(by_day["to"], today.as_str());
    assert_eq!(rows(&by_day), [(today.clone(), 4)]);
    // Every day of the range is a row, in order.
    let days = by_day["rows"].as_array().expect("rows");
    assert_eq!(days.first().expect("a day")["key"], by_day["from"]);
    assert_eq!(days.last().expect("a day")["key"], today.as_str());

    // The credits add up to what the subscription charged, and are not zero.
    let (_, s) = t.get("/v1/billings/subscription/").await;
    let credits = by_day["total"]["credits"].as_i64().expect("credits");
    assert!(credits > 0);
    assert_eq!(
        credits,
        s["current_quota"]["credits_used"].as_i64().expect("used")
    );
    let tokens = by_day["total"]["input_tokens"].as_i64().unwrap_or(0)
        + by_day["total"]["output_tokens"].as_i64().unwrap_or(0);
    assert_eq!(
        tokens,
        s["current_quota"]["tokens_used"].as_i64().expect("tokens")
    );

    let (_, by_model) = report(&t, &t.jwt, "?group_by=model").await;
    assert_eq!(rows(&by_model), [("fake-model".to_owned(), 4)]);
    let (_, by_user) = report(&t, &t.jwt, "?group_by=user").await;
    let mut people = rows(&by_user);
    people.sort();
    assert_eq!(
        people,
        [
            ("carol@acme.test".to_owned(), 1),
            ("owner@acme.test".to_owned(), 3)
        ]
    );
    let (_, by_agent) = report(&t, &t.jwt, "?group_by=agent").await;
    assert_eq!(rows(&by_agent), [("helper".to_owned(), 4)]);
    let (_, by_key) = report(&t, &t.jwt, "?group_by=key").await;
    let mut keys = rows(&by_key);
    keys.sort();
    assert_eq!(keys, [("(no key)".to_owned(), 2), ("sdk".to_owned(), 2)]);
    for r in [&by_model, &by_user, &by_agent, &by_key] {
        assert_eq!(r["total"]["credits"], by_day["total"]["credits"]);
    }

    // A member sees their own calls only, and may not ask for anyone else's.
    let (_, mine) = report(&t, &carol, "").await;
    assert_eq!(mine["scope"], "user");
    assert_eq!(mine["total"]["requests"], 1);
    let admin_id = by_user["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["label"] == "owner@acme.test")
        .expect("the admin")["key"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = report(&t, &carol, &format!("?user_id={admin_id}")).await;
    assert_eq!(status, 403, "{body}");
    // An admin may look at one person.
    let (_, admin_only) = report(&t, &t.jwt, &format!("?user_id={admin_id}")).await;
    assert_eq!(admin_only["total"]["requests"], 3);

    // Another organisation sees none of it.
    let bob = t.app.second_org().await;
    let (bob, _) = t.app.login(&bob, PASSWORD).await;
    let (_, theirs) = report(&t, &bob, "").await;
    assert_eq!(theirs["total"]["requests"], 0);

    // Ranges are checked.
    let (status, body) = report(&t, &t.jwt, "?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = report(&t, &t.jwt, "?from=2024-01-01&to=2026-01-01").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = report(&t, &t.jwt, "?group_by=planet").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = report(&t, &t.jwt, "?from=1969-12-31&to=1970-01-02").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "from");

    // The CSV export, once the licence allows it: one line per call, the same credits.
    let (status, s) = t
        .app
        .authed(
            Method::POST,
            "/api/license/apply",
            &t.jwt,
            Some(json!({"license_key": sign(&claims("pro", 3600))})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    let res = t
        .app
        .client
        .get(t.app.url("/api/usage.csv"))
        .bearer_auth(&t.jwt)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let header = |h: &str| {
        res.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert!(
        header("content-disposition").starts_with("attachment; filename=\"aerie-usage-"),
        "{}",
        header("content-disposition")
    );
    let csv = res.text().await.expect("body");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,created_at,user_id,user_email,api_key_id,api_key_name,agent_id,agent_name,provider_id,model,endpoint,status,input_tokens,output_tokens,credits,latency_ms"
        )
    );
    let calls: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(calls.len(), 4, "{csv}");
    let csv_credits: i64 = calls
        .iter()
        .map(|c| c[14].parse::<i64>().unwrap_or(-1))
        .sum();
    assert_eq!(csv_credits, credits);
    assert_eq!(calls.iter().filter(|c| c[5] == "sdk").count(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c[7] == "helper" && c[10] == "chat_completions")
    );
    // A member's export holds their own calls.
    let res = t
        .app
        .client
        .get(t.app.url("/api/usage.csv"))
        .bearer_auth(&carol)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let mine = res.text().await.expect("body");
    assert_eq!(mine.lines().count(), 2, "{mine}");
    assert!(mine.contains("carol@acme.test"));
}
