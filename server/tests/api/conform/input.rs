//! Request input that once made the server panic.

use aerie_backend::config::DbKind;
use aerie_bench::Reply;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::chat::Chat;
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// An `expires_at` with non-ASCII characters (a byte slice inside a character used to
/// panic: 500) is a 400 naming the field, on both families and on update.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn non_ascii_expires_at_is_a_400(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    let (status, key) = app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &jwt,
            Some(json!({"name": "ok"})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let update = format!(
        "/v1/billings/api-keys/{}/update/",
        key["id"].as_str().expect("id")
    );
    for bad in ["1é", "30д", "é", "３０d", "30d\u{301}", "🗓", "2027-01-3１"] {
        for (method, path) in [
            (Method::POST, "/api/api-keys"),
            (Method::POST, "/v1/billings/api-keys/"),
            (Method::PATCH, update.as_str()),
        ] {
            let (status, body) = app
                .authed(
                    method.clone(),
                    path,
                    &jwt,
                    Some(json!({"name": "fuzz", "expires_at": bad})),
                )
                .await;
            assert_eq!(status, 400, "{method} {path} {bad:?}: {body}");
            assert_contract_body(&body, "REQ-001");
            assert_eq!(body["error"]["param"], "expires_at", "{bad:?}");
        }
    }
}

/// A tool argument the model sends (here a time zone with a multi-byte character
/// where an offset's digits are expected) is refused to the model, not a crashed turn.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_non_ascii_time_zone_is_refused_to_the_model(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    t.fake.push(Reply::ToolCalls(vec![(
        "current_time".to_owned(),
        r#"{"timezone": "+aé1"}"#.to_owned(),
    )]));
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "What time is it?"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tool_calls"][0]["name"], "current_time");
    let result = body["tool_calls"][0]["result"].as_str().unwrap_or_default();
    assert!(result.contains("Unknown time zone"), "{body}");
}
