//! `/v1/chat`'s `session_id` is a tracking key of the client's choosing (seed 002).

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::chat::{Chat, data_json};
use crate::support::{PASSWORD, assert_contract_body};

/// The user messages the fake upstream received in its last request.
fn sent_user_texts(t: &Chat) -> Vec<String> {
    t.fake
        .last_request()
        .expect("request")
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}

/// `session_id` is a tracking key the client chooses (seed 002): any string up to 200
/// characters; an unknown key starts a session under that key, a known one continues it; keys
/// belong to one user of one organisation; a conversation's UUID still works.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn v1_chat_session_id_is_a_client_chosen_key(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let key = "ticket-4711 / Zoë's 🐛 report";
    let (status, first) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Remember the word plum", "session_id": key}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["session_id"], key, "the key is answered back");
    let conversation = first["conversation_id"]
        .as_str()
        .expect("conversation_id")
        .to_owned();

    // A known key continues its session: the model gets the history.
    let (status, second) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Which word?", "session_id": key}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["session_id"], key);
    assert_eq!(second["conversation_id"], conversation.as_str());
    assert_eq!(
        sent_user_texts(&t),
        ["Remember the word plum", "Which word?"]
    );
    let (status, messages) = t
        .get(&format!("/v1/sessions/{conversation}/messages/"))
        .await;
    assert_eq!(status, 200, "{messages}");
    assert_eq!(messages.as_array().map(Vec::len), Some(4), "{messages}");

    // Streaming ends with the same key.
    let (status, events) = t
        .post_sse(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Again", "session_id": key, "stream": true}),
        )
        .await;
    assert_eq!(status, 200);
    let last = data_json(&events).pop().expect("done line");
    assert_eq!(
        (&last["done"], &last["session_id"], &last["conversation_id"]),
        (&json!(true), &json!(key), &json!(conversation)),
        "{last}"
    );

    // The UUID of an existing conversation still works, and is answered back.
    let (status, by_id) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "By id", "session_id": conversation}),
        )
        .await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(by_id["session_id"], conversation.as_str());
    assert_eq!(by_id["conversation_id"], conversation.as_str());
    assert_eq!(sent_user_texts(&t).len(), 4);

    // 200 characters (not bytes) are accepted; 201 are refused in the contract shape.
    let longest = "é".repeat(200);
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Long key", "session_id": longest}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], longest.as_str());
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "Too long", "session_id": "é".repeat(201)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_contract_body(&body, "REQ-001");
    assert_eq!(body["error"]["param"], "session_id");

    // Another user of the organisation with the same key has a session of their own.
    let member = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    let (status, theirs) = t
        .app
        .authed(
            Method::POST,
            "/v1/chat",
            &member,
            Some(json!({"agent_id": t.agent_id, "message": "Mine", "session_id": key})),
        )
        .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["session_id"], key);
    assert_ne!(theirs["conversation_id"], conversation.as_str());
    assert_eq!(sent_user_texts(&t), ["Mine"], "no other user's history");
    // Nor can they reach ours by its UUID.
    let (status, body) = t
        .app
        .authed(
            Method::GET,
            &format!("/v1/sessions/{conversation}/messages/"),
            &member,
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");

    // Another organisation (its own provider and agent) with the same key: its own session.
    let other_email = t.app.second_org().await;
    let (other, _) = t.app.login(&other_email, PASSWORD).await;
    let (status, provider) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &other,
            Some(json!({"name": "fake", "base_url": t.fake.base_url(), "api_key": "sk-other"})),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    let (status, agent) = t
        .app
        .authed(
            Method::POST,
            "/api/agents",
            &other,
            Some(json!({"name": "globex-helper", "model": "fake-model",
                        "provider_id": provider["id"], "visibility": "organization"})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let (status, globex) = t
        .app
        .authed(
            Method::POST,
            "/v1/chat",
            &other,
            Some(json!({"agent_id": agent["id"], "message": "Globex here", "session_id": key})),
        )
        .await;
    assert_eq!(status, 200, "{globex}");
    assert_eq!(globex["session_id"], key);
    assert_ne!(globex["conversation_id"], conversation.as_str());
    assert_ne!(globex["conversation_id"], theirs["conversation_id"]);
    assert_eq!(sent_user_texts(&t), ["Globex here"]);

    // Our session is untouched: 4 turns, 8 messages.
    let (_, messages) = t
        .get(&format!("/v1/sessions/{conversation}/messages/"))
        .await;
    assert_eq!(messages.as_array().map(Vec::len), Some(8), "{messages}");

    // Two first turns with a fresh key at the same time end in one session.
    let fresh = json!({"agent_id": t.agent_id, "message": "race", "session_id": "fresh-key"});
    let (a, b) = tokio::join!(t.post("/v1/chat", fresh.clone()), t.post("/v1/chat", fresh));
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    assert_eq!(a.1["conversation_id"], b.1["conversation_id"]);
    let id = a.1["conversation_id"].as_str().expect("id");
    let (_, messages) = t.get(&format!("/v1/sessions/{id}/messages/")).await;
    assert_eq!(messages.as_array().map(Vec::len), Some(4), "{messages}");

    // A deleted session frees its key: the next turn starts afresh.
    let (status, _) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/v1/sessions/{id}/delete/"),
            &t.key,
            None,
        )
        .await;
    assert!(status == 200 || status == 204, "{status}");
    let (status, again) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "new start", "session_id": "fresh-key"}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["conversation_id"], id);
    assert_eq!(sent_user_texts(&t), ["new start"]);
}
