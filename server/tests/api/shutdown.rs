use std::time::Duration;

use aerie_backend::AppState;
use aerie_backend::config::DbKind;
use axum::Router;
use axum::routing::get;

use rstest::rstest;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn in_flight_requests_finish_and_new_ones_are_refused(#[case] kind: DbKind) {
    let slow: Router<AppState> = Router::new().route(
        "/__test/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "finished"
        }),
    );
    let app = TestApp::spawn_with(kind, |c| c.shutdown_grace_secs = 10, slow).await;
    let url = app.url("/__test/slow");
    let health = app.url("/api/health");
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;

    app.stop().await.expect("graceful stop");

    let res = in_flight
        .await
        .expect("task")
        .expect("the in-flight request completed");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "finished");

    let fresh = crate::support::http();
    assert!(
        fresh.get(health).send().await.is_err(),
        "no new connections after shutdown"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn the_grace_period_bounds_shutdown(#[case] kind: DbKind) {
    let stuck: Router<AppState> = Router::new().route(
        "/__test/stuck",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }),
    );
    let app = TestApp::spawn_with(kind, |c| c.shutdown_grace_secs = 1, stuck).await;
    let url = app.url("/__test/stuck");
    let client = app.client.clone();
    let _in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Returns (after the 1 s grace) instead of waiting an hour.
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("shutdown is bounded")
        .expect("clean stop");
}

/// Open chat streams do not hold shutdown up: each ends with a final event, and the partial
/// answer is stored.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn open_chat_streams_end_at_shutdown(#[case] kind: DbKind) {
    use futures::StreamExt;
    let t = crate::support::chat::Chat::start_with(kind, |c| c.shutdown_grace_secs = 30).await;
    let slow: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
    t.fake.push(aerie_bench::Reply::StreamSlow {
        chunks: slow.clone(),
        interval_ms: 50,
    });
    t.fake.push(aerie_bench::Reply::StreamSlow {
        chunks: slow,
        interval_ms: 50,
    });
    let open = |path: &str, body: serde_json::Value| {
        t.app
            .client
            .post(t.app.url(path))
            .bearer_auth(&t.key)
            .json(&body)
            .send()
    };
    let chat = open(
        "/api/chat",
        serde_json::json!({"agent_id": t.agent_id, "message": "long"}),
    )
    .await
    .expect("chat");
    let completion = open(
        "/v1/chat/completions",
        serde_json::json!({"model": "helper", "stream": true,
        "messages": [{"role": "user", "content": "long"}]}),
    )
    .await
    .expect("completion");
    let mut chat = chat.bytes_stream();
    let mut completion = completion.bytes_stream();
    let _ = chat.next().await;
    let _ = completion.next().await;
    let started = std::time::Instant::now();
    let stop = tokio::spawn(t.app.stop());
    let mut chat_text = String::new();
    while let Some(Ok(b)) = chat.next().await {
        chat_text.push_str(&String::from_utf8_lossy(&b));
    }
    let mut completion_text = String::new();
    while let Some(Ok(b)) = completion.next().await {
        completion_text.push_str(&String::from_utf8_lossy(&b));
    }
    stop.await.expect("join").expect("clean stop");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited for the streams"
    );
    assert!(chat_text.contains("event: done"), "{chat_text}");
    assert!(
        chat_text.contains("\"status\":\"cancelled\""),
        "{chat_text}"
    );
    assert!(
        completion_text.contains("shutting down") && completion_text.ends_with("data: [DONE]\n\n"),
        "{completion_text}"
    );
}
