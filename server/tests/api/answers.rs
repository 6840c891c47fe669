//! Answers with citations (issue 13 item 7): an agent with knowledge bases is given, at every
//! turn, the best passages of them (as its owner sees them), numbered from 1, in a system
//! message after its own prompt, and its answer carries them as `citations` on every wire
//! format (`/api/chat`, `/v1/chat`, `/v1/chat/completions`) and in the stored message; an agent
//! without knowledge bases is answered as before (no `citations` key, no extra message).
//! `/v1/models` lists the provider models after the agents, and `POST /v1/query/` (Egret, seed
//! 000/001) answers a question about one domain, streamed or not, within a session, refusing
//! what seed 001 says it refuses. Another organisation's documents never reach an answer.

use aerie_backend::config::DbKind;
use aerie_bench::FakeUpstream;
use reqwest::Method;
use reqwest::multipart::Form;
use rstest::rstest;
use serde_json::{Value, json};

use crate::documents::{BAKERY_TXT, HERON_MD, model_dir, part, settled_in, upload_to};
use crate::support::chat::{Chat, data_json, parse_sse};
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// The question every test asks (the heron note answers it).
const QUESTION: &str = "where do herons migrate in autumn";
const LIBRARIAN_PROMPT: &str = "You answer from the field notes.";
/// Seed 001's sentence for a domain outside the organisation's `allowed_domains`.
const NO_ACCESS: &str = "Your organization does not have access to this domain.";

/// Organisation Acme as the tests need it: [`Chat`]'s owner, key, provider `fake` on the fake
/// upstream and agent `helper` (no knowledge bases, prompt "You are terse."), plus a private
/// knowledge base `birds` holding `heron.md` and, in its category `kitchen`, `bakery.txt`
/// (both ready), and the agent `librarian` (visible to the organisation) attached to it.
struct Fixture {
    t: Chat,
    kb: String,
    slug: String,
    /// The slug of the knowledge base's category holding `bakery.txt`.
    kitchen: String,
    librarian: String,
}

async fn start(kind: DbKind) -> Fixture {
    let t = Chat::start_with(kind, |c| c.embedding_model_dir = model_dir()).await;
    let kb = created(
        &t.app,
        &t.jwt,
        "/api/knowledge",
        json!({"name": "Field notes", "slug": "birds", "visibility": "private"}),
    )
    .await;
    let slug = kb["slug"].as_str().expect("slug").to_owned();
    assert_eq!(slug, "birds");
    let kb = kb["id"].as_str().expect("id").to_owned();
    let kitchen = created(
        &t.app,
        &t.jwt,
        &format!("/api/knowledge/{kb}/categories"),
        json!({"name": "Kitchen"}),
    )
    .await;
    upload(&t.app, &t.jwt, &kb, "heron.md", HERON_MD, None).await;
    upload(
        &t.app,
        &t.jwt,
        &kb,
        "bakery.txt",
        BAKERY_TXT,
        kitchen["id"].as_str(),
    )
    .await;
    ready(&t.app, &t.jwt, &kb).await;
    let librarian = created(
        &t.app,
        &t.jwt,
        "/api/agents",
        json!({"name": "librarian", "model": "fake-model", "provider_id": t.provider_id,
               "system_prompt": LIBRARIAN_PROMPT, "knowledge_base_ids": [kb],
               "visibility": "organization"}),
    )
    .await;
    Fixture {
        kitchen: kitchen["slug"].as_str().expect("slug").to_owned(),
        librarian: librarian["id"].as_str().expect("id").to_owned(),
        t,
        kb,
        slug,
    }
}

/// `POST path` as `token`, expecting 201; answers the created resource.
async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, v) = app.authed(Method::POST, path, token, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {v}");
    v
}

/// Uploads `text` as `filename` to knowledge base `kb` (in `category`); answers its id.
async fn upload(
    app: &TestApp,
    token: &str,
    kb: &str,
    filename: &str,
    text: &str,
    category: Option<&str>,
) -> String {
    let mut form = Form::new().part("file", part(filename, text.as_bytes()));
    if let Some(c) = category {
        form = form.text("category_id", c.to_owned());
    }
    let (status, up) = upload_to(app, token, kb, form).await;
    assert_eq!(status, 201, "{up}");
    up[0]["document"]["id"].as_str().expect("id").to_owned()
}

/// Waits until every document of `kb` is ready (none may fail).
async fn ready(app: &TestApp, token: &str, kb: &str) {
    let docs = settled_in(app, token, kb).await;
    assert!(docs.iter().all(|d| d["status"] == "ready"), "{docs:?}");
}

/// `POST path` as `token`, reading the whole body as server-sent events: `(status, content
/// type, [(event, data)])`.
async fn sse(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, String, Vec<(String, String)>) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.unwrap_or_default();
    (status, content_type, parse_sse(&text))
}

/// `POST /v1/query/` as `token`.
async fn query(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.authed(Method::POST, "/v1/query/", token, Some(body))
        .await
}

/// Checks `cites` are the passages of knowledge base `kb` for [`QUESTION`]: numbered from 1 in
/// order, at most 5, each with its source, the heron note first. Answers them.
fn check_citations(cites: &Value, kb: &str) -> Vec<Value> {
    let list = cites.as_array().expect("citations are an array");
    assert!(!list.is_empty() && list.len() <= 5, "{cites}");
    for (i, c) in list.iter().enumerate() {
        assert_eq!(c["number"], json!(i + 1), "{cites}");
        assert_eq!(c["knowledge_base_id"], kb, "{cites}");
        assert!(c["document_id"].is_string(), "{c}");
        assert!(c["chunk_index"].is_u64(), "{c}");
        assert!(c["score"].is_number(), "{c}");
        assert!(
            ["heron.md", "bakery.txt"].contains(&c["filename"].as_str().unwrap_or("")),
            "{c}"
        );
        assert!(!c["text"].as_str().expect("text").trim().is_empty(), "{c}");
    }
    assert_eq!(list[0]["filename"], "heron.md", "{cites}");
    assert!(
        list[0]["text"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("heron"),
        "{cites}"
    );
    list.clone()
}

/// The citations without their scores (compared across the answer, its stream and storage,
/// which may print a float differently).
fn unscored(cites: &Value) -> Vec<Value> {
    cites
        .as_array()
        .expect("citations are an array")
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.as_object_mut()
                .expect("a citation object")
                .remove("score");
            c
        })
        .collect()
}

/// The system messages of a request the upstream received.
fn system_messages(sent: &Value) -> Vec<String> {
    sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| m["content"].as_str().expect("system text").to_owned())
        .collect()
}

/// The system message of `sent` that gives the model the passages; it carries each citation
/// as `[n] <filename> (passage <chunk_index + 1>)` followed by its text.
fn knowledge_message(sent: &Value, cites: &[Value]) -> String {
    let knowledge = system_messages(sent)
        .into_iter()
        .find(|s| s.contains("[1] "))
        .unwrap_or_else(|| panic!("no system message with the passages: {sent}"));
    for c in cites {
        let entry = format!(
            "[{}] {} (passage {})\n{}",
            c["number"],
            c["filename"].as_str().expect("filename"),
            c["chunk_index"].as_u64().expect("chunk index") + 1,
            c["text"].as_str().expect("text").trim()
        );
        assert!(knowledge.contains(&entry), "{entry:?} not in {knowledge:?}");
    }
    knowledge
}

/// The last user message the upstream received.
fn last_user_text(sent: &Value) -> String {
    sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .expect("a user message")
        .to_owned()
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn api_chat_streams_citations_before_the_answer_and_stores_them(#[case] kind: DbKind) {
    let f = start(kind).await;
    let t = &f.t;
    let (status, _, events) = sse(
        &t.app,
        &t.key,
        "/api/chat",
        json!({"agent_id": f.librarian, "message": QUESTION}),
    )
    .await;
    assert_eq!(status, 200, "{events:?}");
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names.first(), Some(&"start"), "{names:?}");
    assert_eq!(names.get(1), Some(&"citations"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "citations").count(), 1);
    let first_delta = names.iter().position(|n| *n == "delta").expect("a delta");
    assert!(first_delta > 1, "{names:?}");
    let cited: Value = serde_json::from_str(&events[1].1).expect("citations event");
    assert_eq!(cited["type"], "citations");
    let cites = check_citations(&cited["citations"], &f.kb);
    let text: String = events
        .iter()
        .filter(|e| e.0 == "delta")
        .map(|e| {
            let d: Value = serde_json::from_str(&e.1).expect("delta");
            d["content"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(text, format!("echo: {QUESTION}"));
    let done: Value = serde_json::from_str(&events[events.len() - 1].1).expect("done");
    assert_eq!(
        unscored(&done["message"]["citations"]),
        unscored(&cited["citations"]),
        "{done}"
    );

    // The model got the agent's prompt, then the passages, then the question.
    let sent = t.fake.last_request().expect("request");
    let messages = sent["messages"].as_array().expect("messages");
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": LIBRARIAN_PROMPT})
    );
    assert_eq!(messages[1]["role"], "system", "{sent}");
    let knowledge = knowledge_message(&sent, &cites);
    assert_eq!(messages[1]["content"], knowledge.as_str());
    assert!(knowledge.contains("[1]"), "{knowledge}");
    assert_eq!(last_user_text(&sent), QUESTION);

    // Stored with the answer (not with the question).
    let start: Value = serde_json::from_str(&events[0].1).expect("start");
    let conversation = start["conversation_id"].as_str().expect("conversation");
    let (status, page) = t
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["role"], "user");
    assert!(page["data"][0].get("citations").is_none(), "{page}");
    assert_eq!(page["data"][1]["role"], "assistant");
    assert_eq!(page["data"][1]["id"], start["message_id"]);
    assert_eq!(
        unscored(&page["data"][1]["citations"]),
        unscored(&cited["citations"])
    );

    // A member chatting with the agent gets what its owner attached, though she cannot search
    // the owner's private knowledge base herself.
    let mia = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/knowledge/{}/search", f.kb),
            &mia,
            Some(json!({"query": QUESTION})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _, events) = sse(
        &t.app,
        &mia,
        "/api/chat",
        json!({"agent_id": f.librarian, "message": QUESTION}),
    )
    .await;
    assert_eq!(status, 200, "{events:?}");
    let cited = events
        .iter()
        .find(|e| e.0 == "citations")
        .expect("a citations event for the member");
    let cited: Value = serde_json::from_str(&cited.1).expect("citations event");
    check_citations(&cited["citations"], &f.kb);

    // An agent without knowledge bases: no citations event, none stored, no extra message.
    let (status, _, events) = sse(
        &t.app,
        &t.key,
        "/api/chat",
        json!({"agent_id": t.agent_id, "message": QUESTION}),
    )
    .await;
    assert_eq!(status, 200, "{events:?}");
    assert!(events.iter().all(|e| e.0 != "citations"), "{events:?}");
    let done: Value = serde_json::from_str(&events[events.len() - 1].1).expect("done");
    assert_eq!(done["type"], "done");
    assert!(done["message"].get("citations").is_none(), "{done}");
    let sent = t.fake.last_request().expect("request");
    assert_eq!(system_messages(&sent), ["You are terse."], "{sent}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn v1_chat_answers_and_streams_carry_citations(#[case] kind: DbKind) {
    let f = start(kind).await;
    let t = &f.t;
    // Seed 002, not streamed: `citations` beside the answer.
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": f.librarian, "message": QUESTION, "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"], format!("echo: {QUESTION}"));
    let cites = check_citations(&body["citations"], &f.kb);
    let sent = t.fake.last_request().expect("request");
    assert_eq!(
        system_messages(&sent).first().map(String::as_str),
        Some(LIBRARIAN_PROMPT)
    );
    assert_eq!(system_messages(&sent).len(), 2, "{sent}");
    knowledge_message(&sent, &cites);
    let session = body["session_id"].as_str().expect("session");
    let (status, messages) = t.get(&format!("/v1/sessions/{session}/messages/")).await;
    assert_eq!(status, 200, "{messages}");
    assert_eq!(
        unscored(&messages[1]["citations"]),
        unscored(&body["citations"])
    );

    // Streamed: one citations line, before the first chunk.
    let (status, events) = t
        .post_sse(
            "/v1/chat",
            json!({"agent_id": f.librarian, "message": QUESTION, "stream": true}),
        )
        .await;
    assert_eq!(status, 200, "{events:?}");
    let lines = data_json(&events);
    let at = lines
        .iter()
        .position(|l| l["type"] == "citations")
        .expect("a citations line");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.get("citations").is_some())
            .count(),
        1,
        "{lines:?}"
    );
    let first_chunk = lines
        .iter()
        .position(|l| l.get("chunk").is_some())
        .expect("a chunk");
    assert!(at < first_chunk, "{lines:?}");
    check_citations(&lines[at]["citations"], &f.kb);
    let text: String = lines.iter().filter_map(|l| l["chunk"].as_str()).collect();
    assert_eq!(text, format!("echo: {QUESTION}"));
    assert_eq!(lines.last().map(|l| &l["done"]), Some(&json!(true)));

    // An agent without knowledge bases: no `citations` key, only its own prompt.
    let (status, body) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": QUESTION}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("citations").is_none(), "{body}");
    let sent = t.fake.last_request().expect("request");
    assert_eq!(system_messages(&sent), ["You are terse."], "{sent}");
    let (_, events) = t
        .post_sse(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": QUESTION, "stream": true}),
        )
        .await;
    let lines = data_json(&events);
    assert!(
        lines.iter().all(|l| l.get("citations").is_none()),
        "{lines:?}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn chat_completions_carry_citations_on_the_answer_and_the_first_chunk(#[case] kind: DbKind) {
    let f = start(kind).await;
    let t = &f.t;
    let ask = |model: &str, stream: bool| {
        json!({"model": model, "stream": stream,
               "messages": [{"role": "user", "content": QUESTION}]})
    };
    let (status, body) = t
        .post("/v1/chat/completions", ask(&f.librarian, false))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        format!("echo: {QUESTION}")
    );
    let cites = check_citations(&body["citations"], &f.kb);
    let sent = t.fake.last_request().expect("request");
    assert_eq!(sent["messages"][0]["content"], LIBRARIAN_PROMPT);
    knowledge_message(&sent, &cites);
    assert_eq!(last_user_text(&sent), QUESTION);

    // Streamed: the first chunk (the assistant's role) carries them, no other chunk does.
    let (status, events) = t
        .post_sse("/v1/chat/completions", ask("librarian", true))
        .await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"));
    let chunks = data_json(&events);
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    check_citations(&chunks[0]["citations"], &f.kb);
    assert!(
        chunks[1..].iter().all(|c| c.get("citations").is_none()),
        "{chunks:?}"
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, format!("echo: {QUESTION}"));

    // An agent without knowledge bases: the key is absent, streamed or not.
    let (status, body) = t
        .post("/v1/chat/completions", ask(&t.agent_id, false))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("citations").is_none(), "{body}");
    assert_eq!(
        system_messages(&t.fake.last_request().expect("request")),
        ["You are terse."]
    );
    let (_, events) = t
        .post_sse("/v1/chat/completions", ask("helper", true))
        .await;
    let chunks = data_json(&events);
    assert!(!chunks.is_empty());
    assert!(
        chunks.iter().all(|c| c.get("citations").is_none()),
        "{chunks:?}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn models_lists_agents_then_provider_models_which_answer_as_they_are(#[case] kind: DbKind) {
    let f = start(kind).await;
    let t = &f.t;
    // A second provider offering the same model ids, on an upstream of its own (providers are
    // listed by name: `fake`, then `mirror`).
    let mirror = FakeUpstream::start().await;
    created(
        &t.app,
        &t.jwt,
        "/api/providers",
        json!({"name": "mirror", "base_url": mirror.base_url(), "api_key": "sk-mirror-0002"}),
    )
    .await;

    let (status, models) = t.get("/v1/models").await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["object"], "list");
    let (status, same) = t.get("/v1/models/").await;
    assert_eq!((status, &same), (200, &models));
    let data = models["data"].as_array().expect("data");
    let kinds: Vec<&str> = data
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or(""))
        .collect();
    let agents = kinds.iter().take_while(|k| **k == "agent").count();
    let routes = kinds.iter().rev().take_while(|k| **k == "route").count();
    assert!(
        kinds[agents..kinds.len() - routes]
            .iter()
            .all(|k| *k == "model"),
        "agents first, then models, then routes: {kinds:?}"
    );
    assert_eq!(routes, 1, "the default route: {kinds:?}");
    let mut agent_ids: Vec<&str> = data[..agents]
        .iter()
        .map(|m| m["id"].as_str().unwrap_or(""))
        .collect();
    agent_ids.sort_unstable();
    let mut expected = vec![t.agent_id.as_str(), f.librarian.as_str()];
    expected.sort_unstable();
    assert_eq!(agent_ids, expected);
    assert!(data[..agents].iter().all(|m| m["owned_by"] == "aerie"));
    let entry = |id: &str| {
        data[agents..]
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not listed: {models}"))
            .clone()
    };
    for (id, owner, model) in [
        ("fake-model", "fake", "fake-model"),
        ("fake-vision", "fake", "fake-vision"),
        ("mirror/fake-model", "mirror", "fake-model"),
        ("mirror/fake-vision", "mirror", "fake-vision"),
    ] {
        let m = entry(id);
        assert_eq!(m["object"], "model", "{m}");
        assert_eq!(m["owned_by"], owner, "{m}");
        assert_eq!(m["model"], model, "{m}");
    }
    assert_eq!(data.len(), agents + 4 + routes, "{models}");

    // A provider model answers as it is: no agent prompt, no knowledge, no citations.
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["choices"][0]["message"]["content"], "echo: hi");
    assert!(body.get("citations").is_none(), "{body}");
    let sent = t.fake.last_request().expect("request");
    assert_eq!(sent["model"], "fake-model");
    assert!(system_messages(&sent).is_empty(), "{sent}");
    // The second provider's, by its prefixed id: its own upstream gets the plain model id.
    let before = t.fake.requests().len();
    let (status, body) = t
        .post(
            "/v1/chat/completions",
            json!({"model": "mirror/fake-model",
                   "messages": [{"role": "user", "content": "hello mirror"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "mirror/fake-model");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "echo: hello mirror"
    );
    let sent = mirror
        .last_request()
        .expect("the second upstream was called");
    assert_eq!(sent["model"], "fake-model");
    assert!(system_messages(&sent).is_empty(), "{sent}");
    assert_eq!(
        mirror.auth_headers().last().cloned().flatten().as_deref(),
        Some("Bearer sk-mirror-0002")
    );
    assert_eq!(t.fake.requests().len(), before);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn query_answers_from_a_domain_with_citations_streamed_or_not_within_a_session(
    #[case] kind: DbKind,
) {
    let f = start(kind).await;
    let t = &f.t;
    let (status, first) = query(&t.app, &t.key, json!({"query": QUESTION, "domain": f.slug})).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["answer"], format!("echo: {QUESTION}"));
    assert_eq!(first["domain"], f.slug.as_str());
    assert_eq!(first["model"], "fake-model", "the first provider model");
    assert!(first["message_id"].is_string() && first["session_id"].is_string());
    assert!(first["usage"]["total_tokens"].as_u64().unwrap_or(0) > 0);
    let cites = check_citations(&first["citations"], &f.kb);
    let sent = t.fake.last_request().expect("request");
    assert_eq!(sent["model"], "fake-model");
    knowledge_message(&sent, &cites);
    assert_eq!(system_messages(&sent).len(), 1, "no agent prompt: {sent}");
    assert_eq!(last_user_text(&sent), QUESTION);

    // The session continues: the model reads the first question and answer.
    let again = "and where do they rest";
    let (status, second) = query(
        &t.app,
        &t.key,
        json!({"query": again, "domain": f.slug, "session_id": first["session_id"]}),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["answer"], format!("echo: {again}"));
    assert_eq!(second["session_id"], first["session_id"]);
    assert_eq!(second["conversation_id"], first["conversation_id"]);
    let sent = t.fake.last_request().expect("request");
    let turns: Vec<(&str, &str)> = sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            (
                m["role"].as_str().unwrap_or(""),
                m["content"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let echoed = format!("echo: {QUESTION}");
    assert_eq!(
        turns,
        [
            ("user", QUESTION),
            ("assistant", echoed.as_str()),
            ("user", again)
        ],
        "{sent}"
    );
    let conversation = first["conversation_id"].as_str().expect("conversation");
    let (status, messages) = t
        .get(&format!("/v1/sessions/{conversation}/messages/"))
        .await;
    assert_eq!(status, 200, "{messages}");
    let messages = messages.as_array().expect("messages");
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0]["content"], QUESTION);
    assert_eq!(messages[1]["content"], echoed.as_str());
    assert_eq!(messages[1]["id"], first["message_id"]);
    assert_eq!(
        unscored(&messages[1]["citations"]),
        unscored(&first["citations"])
    );
    assert_eq!(messages[2]["content"], again);

    // Narrowed: one passage; the kitchen category only.
    let (status, one) = query(
        &t.app,
        &t.key,
        json!({"query": QUESTION, "domain": f.slug, "top_k": 1}),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["citations"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one["citations"][0]["filename"], "heron.md");
    let (status, kitchen) = query(
        &t.app,
        &t.key,
        json!({"query": "sourdough starter", "domain": f.slug, "category": f.kitchen}),
    )
    .await;
    assert_eq!(status, 200, "{kitchen}");
    let list = kitchen["citations"].as_array().expect("citations");
    assert!(!list.is_empty(), "{kitchen}");
    assert!(
        list.iter().all(|c| c["filename"] == "bakery.txt"),
        "{kitchen}"
    );

    // An agent answers too, with its prompt first.
    let (status, by_agent) = query(
        &t.app,
        &t.key,
        json!({"query": QUESTION, "domain": f.slug, "model": t.agent_id}),
    )
    .await;
    assert_eq!(status, 200, "{by_agent}");
    assert_eq!(by_agent["model"], t.agent_id.as_str());
    let sent = t.fake.last_request().expect("request");
    assert_eq!(
        system_messages(&sent).first().map(String::as_str),
        Some("You are terse.")
    );
    knowledge_message(&sent, &check_citations(&by_agent["citations"], &f.kb));

    // Streamed: the citations, the chunks, then the whole answer.
    let (status, content_type, events) = sse(
        &t.app,
        &t.key,
        "/v1/query/",
        json!({"query": QUESTION, "domain": f.slug, "stream": true}),
    )
    .await;
    assert_eq!(status, 200, "{events:?}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let lines = data_json(&events);
    assert_eq!(lines[0]["type"], "citations", "{lines:?}");
    check_citations(&lines[0]["citations"], &f.kb);
    let last = lines.last().expect("a done line");
    assert_eq!(last["type"], "done", "{lines:?}");
    let chunks = &lines[1..lines.len() - 1];
    assert!(!chunks.is_empty(), "{lines:?}");
    assert!(chunks.iter().all(|l| l["type"] == "chunk"), "{lines:?}");
    let text: String = chunks.iter().filter_map(|l| l["chunk"].as_str()).collect();
    assert_eq!(text, format!("echo: {QUESTION}"));
    assert_eq!(last["answer"], text.as_str());
    assert_eq!(last["domain"], f.slug.as_str());
    assert_eq!(last["model"], "fake-model");
    assert!(last["session_id"].is_string() && last["conversation_id"].is_string());
    assert_eq!(
        unscored(&last["citations"]),
        unscored(&lines[0]["citations"])
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn query_refuses_bad_requests_unknown_names_and_domains_outside_allowed_domains(
    #[case] kind: DbKind,
) {
    let f = start(kind).await;
    let t = &f.t;
    let ask = |body: Value| query(&t.app, &t.key, body);

    for body in [
        json!({"domain": f.slug}),
        json!({"query": "  \n", "domain": f.slug}),
    ] {
        let (status, err) = ask(body).await;
        assert_eq!(status, 400, "{err}");
        assert_contract_body(&err, "REQ-001");
        assert_eq!(err["detail"], "query field is required.");
    }
    let (status, err) = ask(json!({"query": QUESTION})).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["detail"], "domain field is required.");
    for top_k in [0, 51] {
        let (status, err) = ask(json!({"query": QUESTION, "domain": f.slug, "top_k": top_k})).await;
        assert_eq!(status, 400, "top_k {top_k}: {err}");
    }
    let (status, err) = ask(json!({"query": QUESTION, "domain": "nowhere"})).await;
    assert_eq!(status, 404, "{err}");
    assert_contract_body(&err, "RES-001");
    let (status, err) = ask(json!({"query": QUESTION, "domain": f.slug, "category": "nope"})).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["param"], "category", "{err}");
    let (status, err) = ask(json!({"query": QUESTION, "domain": f.slug,
                                   "model": "no-such-model"}))
    .await;
    assert_eq!(status, 404, "{err}");
    assert_contract_body(&err, "RES-001");
    assert!(
        t.fake.requests().is_empty(),
        "refused queries never reach the model"
    );

    // `allowed_domains` set and lacking the slug: 403, for a slug that does not exist too.
    allow(t, json!(["recipes"])).await;
    for domain in [f.slug.as_str(), "nowhere"] {
        let (status, err) = ask(json!({"query": QUESTION, "domain": domain})).await;
        assert_eq!(status, 403, "{domain}: {err}");
        assert_eq!(err["detail"], NO_ACCESS, "{err}");
    }
    assert!(t.fake.requests().is_empty());
    allow(t, json!(["recipes", "birds"])).await;
    let (status, body) = ask(json!({"query": QUESTION, "domain": f.slug})).await;
    assert_eq!(status, 200, "{body}");
    check_citations(&body["citations"], &f.kb);
    allow(t, json!([])).await;
    let (status, body) = ask(json!({"query": QUESTION, "domain": f.slug})).await;
    assert_eq!(status, 200, "an empty list allows every domain: {body}");
}

/// Sets Acme's `allowed_domains` (`PATCH /v1/orgs/acme/` as its owner).
async fn allow(t: &Chat, domains: Value) {
    let (status, org) = t
        .app
        .authed(
            Method::PATCH,
            "/v1/orgs/acme/",
            &t.jwt,
            Some(json!({"allowed_domains": domains})),
        )
        .await;
    assert_eq!(status, 200, "{org}");
}

/// The heron note's words, in another organisation's document.
const GLOBEX_HERONS: &str = "# Herons of the northern coast\n\nGlobex counts the grey herons that migrate along the northern coast every autumn.\n";

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn passages_come_only_from_the_organisations_own_documents(#[case] kind: DbKind) {
    let f = start(kind).await;
    let t = &f.t;
    let app = &t.app;
    // Acme has a second domain that Globex has no slug of.
    created(
        app,
        &t.jwt,
        "/api/knowledge",
        json!({"name": "Shelf", "slug": "shelf"}),
    )
    .await;

    // Globex: the same words under the same slug, its own provider and librarian.
    let bob_email = app.second_org().await;
    let (bob, _) = app.login(&bob_email, PASSWORD).await;
    let bob_key = app.create_key(&bob, "globex").await;
    let provider = created(
        app,
        &bob,
        "/api/providers",
        json!({"name": "globex-up", "base_url": t.fake.base_url()}),
    )
    .await;
    let theirs = created(
        app,
        &bob,
        "/api/knowledge",
        json!({"name": "Globex notes", "slug": "birds"}),
    )
    .await;
    assert_eq!(theirs["slug"], "birds");
    let theirs = theirs["id"].as_str().expect("id").to_owned();
    let their_doc = upload(app, &bob, &theirs, "globex-herons.md", GLOBEX_HERONS, None).await;
    ready(app, &bob, &theirs).await;
    let their_agent = created(
        app,
        &bob,
        "/api/agents",
        json!({"name": "globex librarian", "model": "fake-model",
               "provider_id": provider["id"], "knowledge_base_ids": [theirs]}),
    )
    .await;
    let their_agent = their_agent["id"].as_str().expect("id").to_owned();

    // Each organisation's agent and query cite its own documents only, and the model reads
    // nothing of the other's.
    for (key, agent, kb, own_file, other_file, other_words) in [
        (
            &t.key,
            &f.librarian,
            &f.kb,
            "heron.md",
            "globex-herons.md",
            "Globex",
        ),
        (
            &bob_key,
            &their_agent,
            &theirs,
            "globex-herons.md",
            "heron.md",
            "salt marshes",
        ),
    ] {
        let (status, chat) = app
            .authed(
                Method::POST,
                "/v1/chat",
                key,
                Some(json!({"agent_id": agent, "message": QUESTION})),
            )
            .await;
        assert_eq!(status, 200, "{chat}");
        let sent = t.fake.last_request().expect("request");
        let (status, answer) = query(app, key, json!({"query": QUESTION, "domain": "birds"})).await;
        assert_eq!(status, 200, "{answer}");
        let sent_query = t.fake.last_request().expect("request");
        for (cites, sent) in [
            (&chat["citations"], sent),
            (&answer["citations"], sent_query),
        ] {
            let list = cites.as_array().expect("citations");
            assert!(!list.is_empty(), "{cites}");
            assert_eq!(list[0]["filename"], own_file, "{cites}");
            for c in list {
                assert_eq!(c["knowledge_base_id"], kb.as_str(), "{cites}");
                assert_ne!(c["filename"], other_file, "{cites}");
            }
            let text = sent.to_string();
            assert!(!text.contains(other_words), "{text}");
        }
        let their_doc_cited = answer["citations"].to_string().contains(&their_doc);
        assert_eq!(their_doc_cited, kb == &theirs, "{answer}");
    }

    // Acme's other domain does not exist for Globex; Acme's ids are no domain either.
    for domain in ["shelf", f.kb.as_str()] {
        let (status, err) =
            query(app, &bob_key, json!({"query": QUESTION, "domain": domain})).await;
        assert_eq!(status, 404, "{domain}: {err}");
        assert_contract_body(&err, "RES-001");
    }
    // Nor is Acme's agent a model of Globex's, nor Acme's provider.
    let (status, err) = query(
        app,
        &bob_key,
        json!({"query": QUESTION, "domain": "birds", "model": f.librarian}),
    )
    .await;
    assert_eq!(status, 404, "{err}");
    let (status, models) = app.authed(Method::GET, "/v1/models", &bob_key, None).await;
    assert_eq!(status, 200, "{models}");
    let data = models["data"].as_array().expect("data");
    let ids: Vec<&str> = data
        .iter()
        .map(|m| m["id"].as_str().unwrap_or(""))
        .collect();
    assert!(ids.contains(&their_agent.as_str()), "{models}");
    assert!(!ids.contains(&f.librarian.as_str()) && !ids.contains(&t.agent_id.as_str()));
    assert!(
        data.iter()
            .filter(|m| m["kind"] == "model")
            .all(|m| m["owned_by"] == "globex-up"),
        "{models}"
    );
}
