//! Chat over the three wire formats against the test-only fake upstream: Egzora's `/v1/chat`,
//! the workspace `/api/chat` SSE, and the OpenAI-compatible `/v1/chat/completions`.

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::assert_contract_body;
use crate::support::chat::{Chat, data_json};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn v1_chat_answers_streams_and_remembers(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    // Seed 002's non-streaming sample.
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Hello there", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"], "echo: Hello there");
    assert!(
        body["usage"]["total_tokens"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    let session = body["session_id"].as_str().expect("session").to_owned();
    // The agent's prompt is sent first, and the upstream got the provider's key.
    let sent = t.fake.last_request().expect("request");
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(sent["model"], "fake-model");
    assert_eq!(
        t.fake.auth_headers().last().cloned().flatten().as_deref(),
        Some("Bearer sk-upstream-secret-7781")
    );

    // Memory: the session's history goes to the model.
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "And again", "session_id": session}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], session.as_str());
    let sent = t.fake.last_request().expect("request");
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"], "{sent}");
    assert_eq!(sent["messages"][2]["content"], "echo: Hello there");

    // Seed 002's streaming sample: `data: {"chunk": ...}` lines, then the final event.
    let (status, events) = t
        .post_sse("/v1/chat", json!({"agent_id": t.agent_id, "message": "What are my metrics?", "stream": true, "reasoning_enabled": false}))
        .await;
    assert_eq!(status, 200);
    let data = data_json(&events);
    let text: String = data.iter().filter_map(|d| d["chunk"].as_str()).collect();
    assert_eq!(text, "echo: What are my metrics?");
    let last = data.last().expect("final event");
    assert_eq!(last["done"], true);
    assert!(
        last["session_id"].is_string() && last["usage"]["total_tokens"].is_u64(),
        "{last}"
    );

    // The same data through the session views (seed 000).
    let (status, recent) = t.get("/v1/sessions/recent/").await;
    assert_eq!(status, 200);
    assert_eq!(recent.as_array().map(Vec::len), Some(2), "{recent}");
    let (status, messages) = t.get(&format!("/v1/sessions/{session}/messages/")).await;
    assert_eq!(status, 200);
    assert_eq!(messages.as_array().map(Vec::len), Some(4));
    assert_eq!(messages[3]["status"], "complete");
    let (status, renamed) = t
        .post(
            &format!("/v1/sessions/{session}/rename/"),
            json!({"title": "Metrics"}),
        )
        .await;
    assert_eq!((status, renamed["title"].as_str()), (200, Some("Metrics")));
    let (status, _) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/v1/sessions/{session}/delete/"),
            &t.key,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = t.get(&format!("/v1/sessions/{session}/messages/")).await;
    assert_eq!(status, 404);
    assert_contract_body(&body, "RES-001");

    // Usage: one record per model call, newest first; the profile counts them.
    let (status, logs) = t.get("/v1/logs?limit=10").await;
    assert_eq!(status, 200);
    let logs = logs.as_array().expect("logs");
    assert_eq!(logs.len(), 3);
    assert!(logs.iter().all(|l| l["model_id"] == "fake-model"
        && l["status"] == "ok"
        && l["input_tokens"].as_i64().unwrap_or(0) > 0));
    let (status, profile) = t.get("/v1/auth/profile").await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["email"], "owner@acme.test");
    assert_eq!(profile["subscription_tier"], "community");
    let used = profile["used_monthly_tokens"].as_i64().expect("used");
    let total: i64 = logs
        .iter()
        .map(|l| l["input_tokens"].as_i64().unwrap_or(0) + l["output_tokens"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(used, total);
    // No token cap: the community plan's 10,000 credits at a credit per thousand tokens.
    assert_eq!(profile["monthly_token_quota"], 10_000_000);
    let remaining = profile["remaining_monthly_tokens"]
        .as_i64()
        .expect("remaining");
    assert!(remaining > 0 && remaining <= 10_000_000 - used, "{profile}");
    let (status, body) = t.get("/v1/logs?limit=0").await;
    assert_eq!(status, 400);
    assert_contract_body(&body, "REQ-001");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_calculator_answers_not_the_model(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    t.fake.push(Reply::ToolCalls(vec![(
        "calculator".to_owned(),
        r#"{"expression": "sqrt(144) + 56"}"#.to_owned(),
    )]));
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Compute the square root of 144 plus 56"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The fake answers with what the tool said; the tool computed 68.
    assert_eq!(body["response"], "The tool says: 68");
    assert_eq!(body["tool_calls"][0]["name"], "calculator");
    assert_eq!(body["tool_calls"][0]["result"], "68");
    let requests = t.fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["tools"][0]["function"]["name"], "calculator");
    let tool_msg = requests[1]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("last");
    assert_eq!(tool_msg["role"], "tool");
    assert_eq!(tool_msg["content"], "68");
    // Stored with the message.
    let session = body["session_id"].as_str().expect("session");
    let (_, page) = t
        .get(&format!("/api/conversations/{session}/messages"))
        .await;
    assert_eq!(page["data"][1]["tool_calls"][0]["result"], "68", "{page}");

    // A tool the agent does not have is refused to the model, not run.
    t.fake.push(Reply::ToolCalls(vec![(
        "http_get".to_owned(),
        r#"{"url": "http://169.254.169.254/"}"#.to_owned(),
    )]));
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "fetch"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tool_calls"][0]["ok"], false);
    assert!(
        body["response"]
            .as_str()
            .unwrap_or("")
            .contains("not enabled"),
        "{body}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn reasoning_is_shown_only_when_enabled(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    t.fake.push(Reply::Text {
        content: "It is 4.".to_owned(),
        reasoning: Some("Two plus two.".to_owned()),
    });
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "2+2?", "reasoning_enabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reasoning"], "Two plus two.");
    assert_eq!(body["answer"], "It is 4.");
    let response = body["response"].as_str().expect("response");
    assert!(
        response.starts_with("💭 Thinking Process")
            && response.contains("Two plus two.")
            && response.ends_with("It is 4."),
        "{response}"
    );

    // `<think>` tags are reasoning too; with reasoning off, only the answer shows.
    t.fake.push(Reply::Text {
        content: "<think>hidden</think>Fine.".to_owned(),
        reasoning: None,
    });
    let (_, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "x", "reasoning_enabled": false}),
        )
        .await;
    assert_eq!(body["response"], "Fine.");
    assert_eq!(body["reasoning"], serde_json::Value::Null);

    // Streaming with reasoning: the block comes first, marked as reasoning.
    t.fake.push(Reply::Text {
        content: "Done.".to_owned(),
        reasoning: Some("Thinking hard.".to_owned()),
    });
    let (_, events) = t
        .post_sse("/v1/chat", json!({"agent_id": t.agent_id, "message": "x", "stream": true, "reasoning_enabled": true}))
        .await;
    let data = data_json(&events);
    let text: String = data.iter().filter_map(|d| d["chunk"].as_str()).collect();
    assert!(
        text.starts_with("💭 Thinking Process")
            && text.contains("Thinking hard.")
            && text.ends_with("Done."),
        "{text}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn images_are_checked(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    for (image, why) in [
        ("data:text/plain;base64,aGk=", "type"),
        ("data:image/png;base64,@@notbase64@@", "base64"),
        ("https://example.com/cat.png", "data URL"),
    ] {
        let (status, body) = t
            .post(
                "/v1/chat",
                json!({"agent_id": t.agent_id, "message": "look", "images": [image]}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_contract_body(&body, "REQ-001");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(why),
            "{body}"
        );
    }
    // fake-model is not marked as a vision model on the provider.
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "look", "images": [png]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("does not accept images"),
        "{body}"
    );
    // Marked as vision: the image goes to the model as a content part.
    let (status, _) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/providers/{}", t.provider_id),
            &t.jwt,
            Some(json!({"models": [{"id": "fake-model", "vision": true}]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "look", "images": [png]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sent = t.fake.last_request().expect("request");
    let parts = &sent["messages"][1]["content"];
    assert_eq!(parts[0], json!({"type": "text", "text": "look"}));
    assert_eq!(parts[1]["image_url"]["url"], png);
    assert_eq!(
        t.fake.requests().len(),
        1,
        "invalid requests never reached the upstream"
    );
}
