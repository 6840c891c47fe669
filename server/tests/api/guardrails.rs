//! Guardrails (docs/GUARDRAILS.md): the default policy redacts a card number before the
//! provider sees it (the fake upstream records what it receives) and in what is stored; a
//! `block` rule refuses a message with GUARD-001 naming the finding, and nothing reaches the
//! provider; an organisation's own pattern redacts; the OpenAI format is screened too; answers
//! are screened when the policy asks; every finding is in the guardrail log (Enterprise), by
//! page and as CSV, and only admins read it.

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::assert_contract_body;
use crate::support::chat::Chat;
use crate::support::license::{PUBLIC_KEY, claims, sign};

const CARD: &str = "4242 4242 4242 4242";
const IBAN: &str = "DE89370400440532013000";

async fn start(kind: DbKind) -> Chat {
    Chat::start_with(kind, |c| c.license_public_key = PUBLIC_KEY.to_owned()).await
}

/// Everything the provider was sent, as text.
fn seen(t: &Chat) -> String {
    serde_json::to_string(&t.fake.requests()).expect("json")
}

async fn put_policy(t: &Chat, policy: Value) -> (u16, Value) {
    t.app
        .authed(Method::PUT, "/api/guardrails/policy", &t.jwt, Some(policy))
        .await
}

async fn enterprise(t: &Chat) {
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/license/apply",
            &t.jwt,
            Some(json!({"license_key": sign(&claims("enterprise", 3600))})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_card_number_is_redacted_before_the_provider_sees_it(#[case] kind: DbKind) {
    let t = start(kind).await;
    t.fake.push(Reply::text("Done."));
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": format!("Charge {CARD} for the order."), "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let upstream = seen(&t);
    assert!(
        !upstream.contains(CARD) && !upstream.contains("4242424242424242"),
        "{upstream}"
    );
    assert!(upstream.contains("[REDACTED:payment_card]"), "{upstream}");

    // What is stored is what the provider saw.
    let session = body["conversation_id"]
        .as_str()
        .or(body["session_id"].as_str())
        .expect("conversation")
        .to_owned();
    let (status, messages) = t
        .get(&format!("/api/conversations/{session}/messages"))
        .await;
    assert_eq!(status, 200, "{messages}");
    let stored = messages.to_string();
    assert!(!stored.contains(CARD), "{stored}");
    assert!(stored.contains("[REDACTED:payment_card]"), "{stored}");

    // The OpenAI format: every text the client wrote is screened.
    t.fake.push(Reply::text("Noted."));
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": format!("Pay to {IBAN} today")}]}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let last = t.fake.last_request().expect("request").to_string();
    assert!(
        !last.contains(IBAN) && last.contains("[REDACTED:iban]"),
        "{last}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_policy_blocks_redacts_its_own_patterns_and_screens_answers(#[case] kind: DbKind) {
    let t = start(kind).await;
    let (status, policy) = t
        .app
        .authed(Method::GET, "/api/guardrails/policy", &t.jwt, None)
        .await;
    assert_eq!(status, 200, "{policy}");
    assert!(
        policy["rules"].as_array().is_some_and(|r| r.len() == 6),
        "{policy}"
    );

    // Refused policies name the field and change nothing.
    let (status, bad) = put_policy(
        &t,
        json!({"rules": [], "patterns": [{"name": "broken", "pattern": "(unclosed", "action": "redact"}]}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["param"], "patterns.pattern", "{bad}");
    let (status, bad) = put_policy(
        &t,
        json!({"rules": [{"detector": "email", "action": "block"}, {"detector": "email", "action": "allow"}]}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");

    let (status, saved) = put_policy(
        &t,
        json!({
            "rules": [{"detector": "email", "action": "block"}, {"detector": "payment_card", "action": "redact"}],
            "patterns": [{"name": "codename", "pattern": "(?i)\\bbluebird\\b", "action": "redact"}],
            "scan_output": true
        }),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    // Blocked: 400 GUARD-001 naming the finding (masked); the provider saw nothing.
    let before = t.fake.requests().len();
    let (status, refused) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Mail jane.doe@example.com the plan", "stream": false}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_contract_body(&refused, "GUARD-001");
    let why = refused["error"]["why"].as_str().unwrap_or_default();
    assert!(
        why.contains("email address") && !why.contains("jane.doe@example.com"),
        "{why}"
    );
    assert_eq!(t.fake.requests().len(), before);
    // The OpenAI format refuses the same way.
    let (status, refused) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [{"role": "user", "content": "write to jane.doe@example.com"}]}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_contract_body(&refused, "GUARD-001");

    // The organisation's own pattern; and the answer is screened (stored without the email).
    t.fake.push(Reply::text("Ask bob@example.org about it."));
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Status of Project Bluebird?", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let upstream = t.fake.last_request().expect("request").to_string();
    assert!(
        !upstream.contains("Bluebird") && upstream.contains("[REDACTED:codename]"),
        "{upstream}"
    );
    let answer = body.to_string();
    assert!(
        !answer.contains("bob@example.org") && answer.contains("[REDACTED:email]"),
        "{answer}"
    );
    // A whole OpenAI answer is screened too.
    t.fake.push(Reply::text("Write to bob@example.org."));
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [{"role": "user", "content": "Who knows?"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !answer.contains("bob@example.org") && answer.contains("[REDACTED:email]"),
        "{answer}"
    );
    // Gone from the default: IBANs are no longer looked for.
    t.fake.push(Reply::text("ok"));
    let (status, _) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": format!("IBAN {IBAN}"), "stream": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        t.fake
            .last_request()
            .expect("request")
            .to_string()
            .contains(IBAN)
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_guardrail_log_pages_filters_and_exports(#[case] kind: DbKind) {
    let t = start(kind).await;
    for i in 0..3 {
        t.fake.push(Reply::text("ok"));
        let (status, body) = t
            .post(
                "/v1/chat",
                json!({"agent_id": t.agent_id, "message": format!("card {CARD} and mail a{i}@example.com"), "stream": false}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Enterprise+: 402 naming the tier before a licence is applied.
    let (status, refused) = t
        .app
        .authed(Method::GET, "/api/guardrails/events", &t.jwt, None)
        .await;
    assert_eq!(status, 402, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Enterprise"))
            || refused.to_string().contains("Enterprise"),
        "{refused}"
    );
    enterprise(&t).await;

    let (status, all) = t
        .app
        .authed(Method::GET, "/api/guardrails/events", &t.jwt, None)
        .await;
    assert_eq!(status, 200, "{all}");
    let events = all["events"].as_array().expect("events");
    assert_eq!(events.len(), 6, "{all}");
    assert!(
        events
            .iter()
            .all(|e| e["route"] == "v1_chat" && e["direction"] == "input")
    );
    assert!(!all.to_string().contains(CARD), "{all}");

    let (_, cards) = t
        .app
        .authed(
            Method::GET,
            "/api/guardrails/events?detector=payment_card&action=redact&limit=2",
            &t.jwt,
            None,
        )
        .await;
    let page = cards["events"].as_array().expect("events");
    assert_eq!(page.len(), 2, "{cards}");
    assert!(
        page.iter()
            .all(|e| e["preview"].as_str().is_some_and(|p| p.ends_with("4242")))
    );
    let cursor = cards["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, rest) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/guardrails/events?detector=payment_card&limit=2&cursor={cursor}"),
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(1), "{rest}");
    assert!(rest["next_cursor"].is_null());
    let (status, bad) = t
        .app
        .authed(
            Method::GET,
            "/api/guardrails/events?cursor=nonsense",
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(status, 400, "{bad}");

    let res = t
        .app
        .client
        .get(t.app.url("/api/guardrails/events.csv?detector=email"))
        .bearer_auth(&t.jwt)
        .send()
        .await
        .expect("csv");
    assert_eq!(res.status(), 200);
    let csv = res.text().await.expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("id,created_at,user_id"));
    assert!(lines[1..].iter().all(|l| l.contains(",email,")), "{csv}");
    assert!((0..3).all(|i| !csv.contains(&format!("a{i}@"))), "{csv}");

    // A member, and an API key, are refused.
    let member = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    let (status, _) = t
        .app
        .authed(Method::GET, "/api/guardrails/events", &member, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = t
        .app
        .authed(Method::GET, "/api/guardrails/policy", &t.key, None)
        .await;
    assert_eq!(status, 403);
}

/// Starts `/api/chat` with `message` and reads events until `dlp_finding`: the answer's id and
/// the findings, and the stream to read the rest from.
async fn until_asked(
    t: &Chat,
    message: &str,
) -> (
    String,
    Value,
    impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin + use<>,
) {
    use futures::StreamExt;
    let res = t
        .app
        .client
        .post(t.app.url("/api/chat"))
        .bearer_auth(&t.key)
        .json(&json!({"agent_id": t.agent_id, "message": message}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 200);
    let mut stream = Box::pin(res.bytes_stream());
    let mut text = String::new();
    loop {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), stream.next())
            .await
            .expect("an event in time")
            .expect("more events")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
        let events = crate::support::chat::parse_sse(&text);
        if let Some((_, data)) = events.iter().find(|(name, _)| name == "dlp_finding") {
            let event: Value = serde_json::from_str(data).expect("json");
            let id = event["message_id"].as_str().expect("id").to_owned();
            return (id, event["findings"].clone(), stream);
        }
    }
}

async fn rest(
    mut stream: impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin,
) -> Vec<(String, String)> {
    use futures::StreamExt;
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    crate::support::chat::parse_sse(&text)
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_workspace_chat_asks_and_the_sender_decides(#[case] kind: DbKind) {
    let t = start(kind).await;
    let (status, saved) = put_policy(
        &t,
        json!({"rules": [{"detector": "email", "action": "ask"}, {"detector": "payment_card", "action": "redact"}]}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    // Allow: the question goes as written (its card still redacted), and is stored so.
    t.fake.push(Reply::text("Sent."));
    let before = t.fake.requests().len();
    let (id, findings, stream) =
        until_asked(&t, &format!("Mail jane.doe@example.com the card {CARD}")).await;
    assert_eq!(findings[0]["detector"], "email", "{findings}");
    assert!(!findings.to_string().contains("jane.doe@"), "{findings}");
    assert_eq!(
        t.fake.requests().len(),
        before,
        "nothing reaches the provider before the decision"
    );
    // Only the sender decides.
    let member = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/chat/{id}/dlp-decision"),
            &member,
            Some(json!({"decision": "allow"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = t
        .post(
            &format!("/api/chat/{id}/dlp-decision"),
            json!({"decision": "allow"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let events = rest(stream).await;
    assert!(events.iter().any(|(name, _)| name == "done"), "{events:?}");
    let upstream = t.fake.last_request().expect("request").to_string();
    assert!(upstream.contains("jane.doe@example.com"), "{upstream}");
    assert!(
        !upstream.contains(CARD) && upstream.contains("[REDACTED:payment_card]"),
        "{upstream}"
    );
    // Decided once.
    let (status, _) = t
        .post(
            &format!("/api/chat/{id}/dlp-decision"),
            json!({"decision": "block"}),
        )
        .await;
    assert_eq!(status, 404);

    // Redact: the provider sees the placeholder.
    t.fake.push(Reply::text("Sent."));
    let (id, _, stream) = until_asked(&t, "Mail jane.doe@example.com today").await;
    let (status, _) = t
        .post(
            &format!("/api/chat/{id}/dlp-decision"),
            json!({"decision": "redact"}),
        )
        .await;
    assert_eq!(status, 200);
    rest(stream).await;
    let upstream = t.fake.last_request().expect("request").to_string();
    assert!(
        !upstream.contains("jane.doe@") && upstream.contains("[REDACTED:email]"),
        "{upstream}"
    );

    // Block: the turn ends with GUARD-001 and the provider sees nothing.
    let before = t.fake.requests().len();
    let (id, _, stream) = until_asked(&t, "Mail jane.doe@example.com now").await;
    let (status, _) = t
        .post(
            &format!("/api/chat/{id}/dlp-decision"),
            json!({"decision": "block"}),
        )
        .await;
    assert_eq!(status, 200);
    let events = rest(stream).await;
    let error = events
        .iter()
        .find(|(name, _)| name == "error")
        .expect("error event");
    assert!(error.1.contains("GUARD-001"), "{error:?}");
    assert_eq!(t.fake.requests().len(), before);

    // Every finding and every decision is in the log.
    enterprise(&t).await;
    let (_, log) = t
        .app
        .authed(
            Method::GET,
            "/api/guardrails/events?detector=email",
            &t.jwt,
            None,
        )
        .await;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["ask", "allow", "redact", "block"] {
        assert!(actions.contains(&action), "{actions:?}");
    }

    // Elsewhere nobody can be asked: the message is blocked.
    let (status, refused) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Mail jane.doe@example.com", "stream": false}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_contract_body(&refused, "GUARD-001");
}
