//! `/v1/chat/completions` and `/v1/models` as the OpenAI SDKs call them; upstream failures;
//! cancelling and disconnecting.

use std::time::Duration;

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use futures::StreamExt;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::assert_contract_body;
use crate::support::chat::{Chat, data_json, parse_sse};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn chat_completions_to_the_letter(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    // /v1/models lists the agent; `model` may be its name or its id.
    let (status, models) = t.get("/v1/models").await;
    assert_eq!(status, 200);
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], t.agent_id.as_str());
    assert_eq!(models["data"][0]["name"], "helper");
    assert_eq!(models["data"][0]["object"], "model");
    assert_eq!(models["data"][0]["kind"], "agent");
    let (status, same) = t.get("/v1/models/").await;
    assert_eq!((status, &same), (200, &models));

    for model in ["helper", t.agent_id.as_str()] {
        let (status, body) = t
            .post("/v1/chat/completions", json!({
                "model": model, "temperature": 0.7, "max_tokens": 50,
                "response_format": {"type": "text"},
                "messages": [{"role": "system", "content": "You are a helpful AI assistant."},
                             {"role": "user", "content": "Explain quantum computing in 3 sentences."}]}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["object"], "chat.completion");
        assert!(body["id"].as_str().unwrap_or("").starts_with("chatcmpl-"));
        assert_eq!(body["model"], model);
        assert_eq!(body["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            body["choices"][0]["message"]["content"],
            "echo: Explain quantum computing in 3 sentences."
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        let u = &body["usage"];
        assert_eq!(
            u["total_tokens"].as_u64(),
            Some(
                u["prompt_tokens"].as_u64().unwrap_or(0)
                    + u["completion_tokens"].as_u64().unwrap_or(0)
            )
        );
        // The agent's prompt first, the client's system message after it; parameters pass through.
        let sent = t.fake.last_request().expect("request");
        assert_eq!(sent["messages"][0]["content"], "You are terse.");
        assert_eq!(
            sent["messages"][1]["content"],
            "You are a helpful AI assistant."
        );
        assert_eq!(sent["temperature"], 0.7);
        assert_eq!(sent["max_tokens"], 50);
        assert_eq!(sent["response_format"], json!({"type": "text"}));
        assert_eq!(sent["model"], "fake-model");
        assert_eq!(sent["stream"], false);
    }

    // Streaming with include_usage: chunks, a usage chunk with empty choices, then [DONE].
    let (status, events) = t
        .post_sse(
            "/v1/chat/completions",
            json!({"model": "helper", "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "Write a short poem about AI."}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"));
    let chunks = data_json(&events);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "helper")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: Write a short poem about AI.");
    let usage = chunks.last().expect("usage chunk");
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );

    // Client tools pass through: the model's call comes back to the client, not run here.
    t.fake.push(Reply::ToolCalls(vec![(
        "get_weather".to_owned(),
        r#"{"city":"Oslo"}"#.to_owned(),
    )]));
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let (status, body) = t
        .post("/v1/chat/completions", json!({"model": "helper", "tools": tools, "messages": [{"role": "user", "content": "Weather in Oslo?"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Oslo"}"#
    );
    assert_eq!(t.fake.last_request().expect("request")["tools"], tools);
    // Streamed too.
    t.fake.push(Reply::ToolCalls(vec![(
        "get_weather".to_owned(),
        r#"{"city":"Oslo"}"#.to_owned(),
    )]));
    let (_, events) = t
        .post_sse("/v1/chat/completions", json!({"model": "helper", "stream": true, "tools": tools, "messages": [{"role": "user", "content": "Weather?"}]}))
        .await;
    let chunks = data_json(&events);
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, r#"{"city":"Oslo"}"#);
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );

    // Errors use the OpenAI error object (inside the contract body).
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_contract_body(&body, "RES-001");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nope")
    );
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": []}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "messages");
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [{"role": "wizard", "content": "x"}]}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
    let res = t
        .app
        .client
        .post(t.app.url("/v1/chat/completions"))
        .json(&json!({"model": "helper", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 401);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn upstream_failures_are_retried_then_reported(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let ask = json!({"model": "helper", "messages": [{"role": "user", "content": "hi"}]});
    // One 429 before the first byte: retried, the caller sees the answer.
    t.fake.push(Reply::error(429, "slow down"));
    let (status, body) = t.post("/v1/chat/completions", ask.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.fake.requests().len(), 2);
    // 5xx three times: two retries, then a 502 that says what the provider said — never its key.
    for _ in 0..3 {
        t.fake.push(Reply::error(500, "upstream exploded"));
    }
    let (status, body) = t.post("/v1/chat/completions", ask.clone()).await;
    assert_eq!(status, 502, "{body}");
    assert_contract_body(&body, "SRV-002");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("upstream exploded"),
        "{body}"
    );
    assert!(!body.to_string().contains("sk-upstream-secret"));
    assert_eq!(t.fake.requests().len(), 5);
    // A 400 from the provider is not retried.
    t.fake.push(Reply::error(400, "bad parameter"));
    let (status, _) = t.post("/v1/chat/completions", ask.clone()).await;
    assert_eq!(status, 502);
    assert_eq!(t.fake.requests().len(), 6);
    // Streaming: a failure before the first token is an HTTP error too.
    for _ in 0..3 {
        t.fake.push(Reply::error(503, "down"));
    }
    let (status, events) = t
        .post_sse("/v1/chat/completions", json!({"model": "helper", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 502, "{events:?}");
    // Failed calls are in the usage log.
    let (_, logs) = t.get("/v1/logs").await;
    assert!(
        logs.as_array()
            .expect("logs")
            .iter()
            .any(|l| l["status"] == "error")
    );

    // A stream that drops midway ends with an error event; what came is kept.
    t.fake.push(Reply::DropAfter {
        chunks: vec!["partial ".to_owned(), "answer".to_owned()],
    });
    let res = t
        .app
        .client
        .post(t.app.url("/api/chat"))
        .bearer_auth(&t.key)
        .json(&json!({"agent_id": t.agent_id, "message": "go"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let events = parse_sse(&res.text().await.unwrap_or_default());
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names.first(), Some(&"start"));
    assert_eq!(names.last(), Some(&"error"), "{events:?}");
    let start: Value = serde_json::from_str(&events[0].1).expect("start");
    let conversation = start["conversation_id"].as_str().expect("conversation");
    let (_, page) = t
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    assert_eq!(page["data"][1]["content"], "partial answer", "{page}");
    assert_eq!(page["data"][1]["status"], "error");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn slow_providers_time_out_with_504(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let (status, _) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/providers/{}", t.provider_id),
            &t.jwt,
            // 1.0: a whole number written as a float is an integer (JSON Schema's reading).
            Some(json!({"timeout_secs": 1.0})),
        )
        .await;
    assert_eq!(status, 200);
    t.fake.push(Reply::Delay {
        ms: 2500,
        then: Box::new(Reply::text("too late")),
    });
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "helper", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 504, "{body}");
    assert_contract_body(&body, "SRV-004");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn cancel_keeps_the_partial_answer_and_disconnect_stops_the_upstream(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let slow: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
    t.fake.push(Reply::StreamSlow {
        chunks: slow.clone(),
        interval_ms: 50,
    });
    let res = t
        .app
        .client
        .post(t.app.url("/api/chat"))
        .bearer_auth(&t.key)
        .json(&json!({"agent_id": t.agent_id, "message": "long please"}))
        .send()
        .await
        .expect("request");
    let mut body = res.bytes_stream();
    let mut text = String::new();
    while !text.contains("event: delta") || text.matches("event: delta").count() < 3 {
        let chunk = body.next().await.expect("more").expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let start: Value = serde_json::from_str(&parse_sse(&text)[0].1).expect("start");
    let message_id = start["message_id"].as_str().expect("message id");
    let (status, message) = t
        .post(&format!("/api/chat/{message_id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["status"], "cancelled");
    let kept = message["content"].as_str().unwrap_or("");
    assert!(
        kept.starts_with("w0 w1 ") && kept.len() < slow.concat().len(),
        "{kept}"
    );
    // The stream ends with `done` (the stored, cancelled answer).
    while let Some(Ok(chunk)) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(parse_sse(&text).last().map(|e| e.0.as_str()), Some("done"));
    wait_for(|| t.fake.cancelled_streams() == 1).await;

    // A client that goes away mid-stream cancels the upstream call.
    t.fake.push(Reply::StreamSlow {
        chunks: slow,
        interval_ms: 50,
    });
    let res = t.app.client.post(t.app.url("/v1/chat/completions")).bearer_auth(&t.key)
        .json(&json!({"model": "helper", "stream": true, "messages": [{"role": "user", "content": "x"}]})).send().await.expect("request");
    let mut body = res.bytes_stream();
    let _ = body.next().await;
    let _ = body.next().await;
    drop(body);
    wait_for(|| t.fake.cancelled_streams() == 2).await;
    // …and is recorded as cancelled.
    let mut cancelled = false;
    for _ in 0..50 {
        let (_, logs) = t.get("/v1/logs").await;
        if logs
            .as_array()
            .is_some_and(|l| l.iter().filter(|r| r["status"] == "cancelled").count() == 2)
        {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cancelled, "both cancelled calls are in the usage log");
    // Cancelling someone else's or an unknown message: 404.
    let (status, _) = t
        .post(
            &format!("/api/chat/{}/cancel", uuid::Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in 5 s");
}
