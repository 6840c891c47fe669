//! Providers and agents: secrets sealed and never answered, the SSRF guard on base URLs,
//! roles, visibility, marketplace, duplicate, quota, and tenant isolation of every chat resource.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::chat::Chat;
use crate::support::{PASSWORD, TestApp, assert_contract_body};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn provider_secrets_stay_sealed(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let (status, list) = t
        .app
        .authed(Method::GET, "/api/providers", &t.jwt, None)
        .await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains("sk-upstream-secret"), "{text}");
    assert_eq!(list[0]["api_key_hint"], "…7781");
    assert_eq!(list[0]["has_api_key"], true);
    // Discovered from the upstream's model list.
    assert_eq!(list[0]["models"][0]["id"], "fake-model");
    // At rest: sealed, not the plaintext.
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
    let db = t.app.ctx.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT api_key_enc FROM providers".to_owned(),
        ))
        .await
        .expect("query");
    let sealed: String = rows[0].try_get("", "api_key_enc").expect("column");
    assert!(
        sealed.starts_with("v1:") && !sealed.contains("sk-upstream"),
        "{sealed}"
    );
    // Test connection.
    let (status, check) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/providers/{}/test", t.provider_id),
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(
        (status, check["ok"].as_bool()),
        (200, Some(true)),
        "{check}"
    );
    // A provider used by an agent cannot be removed.
    let (status, body) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/api/providers/{}", t.provider_id),
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap_or("").contains("helper"));
    // Bad configuration is refused when saved, saying what to fix.
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &t.jwt,
            Some(json!({"name": "dead", "base_url": "http://127.0.0.1:9/v1"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("enter the models by hand"),
        "{body}"
    );
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &t.jwt,
            Some(
                json!({"name": "ftp", "base_url": "ftp://example.com/v1", "models": [{"id": "m"}]}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("base_url"))
    );
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &t.jwt,
            Some(json!({"name": "fake", "base_url": t.fake.base_url(), "models": [{"id": "m"}]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let audit = t.app.audit_actions().await;
    assert!(
        audit.contains(&"provider.created".to_owned())
            && audit.contains(&"agent.created".to_owned())
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn private_provider_urls_are_refused_by_default(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    for url in [
        "http://127.0.0.1:11434/v1",
        "http://localhost:8000/v1",
        "http://169.254.169.254/latest",
        "http://[::1]/v1",
        "http://[::ffff:10.0.0.1]/v1",
        "http://10.1.2.3/v1",
    ] {
        let (status, body) = app
            .authed(
                Method::POST,
                "/api/providers",
                &jwt,
                Some(json!({"name": "x", "base_url": url, "models": [{"id": "m"}]})),
            )
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        let detail = body["detail"].as_str().unwrap_or("");
        assert!(
            detail.contains("AERIE_ALLOW_PRIVATE_PROVIDER_URLS"),
            "{url}: {detail}"
        );
    }
    // With no provider at all, chat says how to add one — it never makes an answer up.
    let (status, body) = app
        .authed(
            Method::POST,
            "/api/agents",
            &jwt,
            Some(json!({"name": "a", "model": "gpt-4o-mini"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("No model provider is configured"),
        "{body}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn roles_and_visibility(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let member = t.app.join(&t.jwt, "mia@acme.test", "member").await;
    // Members read providers but cannot change them.
    let (status, _) = t
        .app
        .authed(Method::GET, "/api/providers", &member, None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = t
        .app
        .authed(
            Method::POST,
            "/api/providers",
            &member,
            Some(json!({"name": "m", "base_url": t.fake.base_url()})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // An owner's private agent is invisible to the member; the organisation agent is visible.
    let (status, private) = t.app.authed(Method::POST, "/api/agents", &t.jwt,
        Some(json!({"name": "secret-agent", "model": "fake-model", "provider_id": t.provider_id}))).await;
    assert_eq!(status, 201, "{private}");
    let private_id = private["id"].as_str().expect("id");
    let (_, list) = t
        .app
        .authed(Method::GET, "/api/agents", &member, None)
        .await;
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["helper"]);
    let (status, _) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/agents/{private_id}"),
            &member,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            "/v1/chat",
            &member,
            Some(json!({"agent_id": private_id, "message": "hi"})),
        )
        .await;
    assert_eq!(status, 404);
    // The member may use but not change the owner's organisation agent.
    let (status, body) = t
        .app
        .authed(
            Method::PATCH,
            &format!("/api/agents/{}", t.agent_id),
            &member,
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Duplicate: a private copy owned by the member.
    let (status, copy) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/agents/{}/duplicate", t.agent_id),
            &member,
            None,
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["name"], "helper (copy)");
    assert_eq!(copy["visibility"], "private");
    assert_eq!(copy["system_prompt"], "You are terse.");
    // Tools resolved for the agent.
    let (status, tools) = t
        .app
        .authed(
            Method::GET,
            &format!("/api/agents/{}/tools", t.agent_id),
            &member,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let enabled: Vec<&str> = tools
        .as_array()
        .expect("tools")
        .iter()
        .filter(|t| t["enabled"] == true)
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(enabled, ["calculator", "current_time"]);
    // Validation names the field.
    for (body, param) in [
        (
            json!({"name": "x", "model": "fake-model", "provider_id": t.provider_id, "tools": ["rm_rf"]}),
            "tools",
        ),
        (
            json!({"name": "x", "model": "gpt-9", "provider_id": t.provider_id}),
            "model",
        ),
        (
            json!({"name": "x", "model": "fake-model", "provider_id": t.provider_id, "parameters": {"temperature": 7}}),
            "parameters.temperature",
        ),
        (
            json!({"name": "", "model": "fake-model", "provider_id": t.provider_id}),
            "name",
        ),
    ] {
        let (status, res) = t
            .app
            .authed(Method::POST, "/api/agents", &t.jwt, Some(body))
            .await;
        assert_eq!(
            (status, res["error"]["param"].as_str()),
            (400, Some(param)),
            "{res}"
        );
    }
    // Publish: listed in the public marketplace without its prompt.
    let (status, _) = t
        .app
        .authed(
            Method::POST,
            &format!("/api/agents/{}/publish", t.agent_id),
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, market) = t.app.get_json("/api/marketplace/agents").await;
    assert_eq!(status, 200);
    assert_eq!(market[0]["name"], "helper");
    assert_eq!(market[0]["organization"], "Acme");
    assert!(market[0].get("system_prompt").is_none(), "{market}");
    // GET /v1/agents (seed 002) with an API key.
    let (status, agents) = t.get("/v1/agents").await;
    assert_eq!(status, 200);
    assert!(
        agents
            .as_array()
            .expect("agents")
            .iter()
            .any(|a| a["name"] == "helper" && a["id"] == t.agent_id.as_str())
    );
    // Delete by its owner.
    let (status, _) = t
        .app
        .authed(
            Method::DELETE,
            &format!("/api/agents/{private_id}"),
            &t.jwt,
            None,
        )
        .await;
    assert_eq!(status, 204);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_monthly_quota_is_enforced(#[case] kind: DbKind) {
    // A call is reserved its worst case (every prompt byte and its output cap) before it runs:
    // with 12 tokens left, none fits, and none reaches the model.
    let t = Chat::start_with(kind, |c| c.monthly_token_quota = 12).await;
    let ask = json!({"model": "helper", "messages": [{"role": "user", "content": "one two three four five six"}]});
    let (status, body) = t.post("/v1/chat/completions", ask).await;
    assert_eq!(status, 402, "{body}");
    assert_contract_body(&body, "BILL-001");
    assert_eq!(body["error"]["type"], "insufficient_quota");
    let (_, profile) = t.get("/v1/auth/profile").await;
    assert_eq!(profile["monthly_token_quota"], 12);
    assert_eq!(profile["remaining_monthly_tokens"], 12);
    assert_eq!(t.fake.requests().len(), 0);
}

/// Every chat resource of one organisation answers 404 to another's credentials, and no list
/// shows another organisation's data.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn chat_resources_are_isolated_between_organizations(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let (status, turn) = t
        .post(
            "/v1/chat",
            json!({"agent_id": t.agent_id, "message": "private thoughts"}),
        )
        .await;
    assert_eq!(status, 200, "{turn}");
    let session = turn["session_id"].as_str().expect("session").to_owned();
    let message = turn["message_id"].as_str().expect("message").to_owned();
    let other_email = t.app.second_org().await;
    let (other, _) = t.app.login(&other_email, PASSWORD).await;
    let (status, key) = t
        .app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &other,
            Some(json!({"name": "k"})),
        )
        .await;
    assert_eq!(status, 201);
    let other_key = key["key"].as_str().expect("key").to_owned();
    let (a, p, c, m) = (&t.agent_id, &t.provider_id, &session, &message);
    let walk: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/agents/{a}"), None),
        (
            Method::PATCH,
            format!("/api/agents/{a}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("/api/agents/{a}"), None),
        (Method::POST, format!("/api/agents/{a}/publish"), None),
        (Method::POST, format!("/api/agents/{a}/duplicate"), None),
        (Method::GET, format!("/api/agents/{a}/tools"), None),
        (Method::GET, format!("/api/providers/{p}"), None),
        (
            Method::PATCH,
            format!("/api/providers/{p}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("/api/providers/{p}"), None),
        (Method::POST, format!("/api/providers/{p}/test"), None),
        (Method::GET, format!("/api/conversations/{c}"), None),
        (
            Method::PATCH,
            format!("/api/conversations/{c}"),
            Some(json!({"title": "pwned"})),
        ),
        (Method::DELETE, format!("/api/conversations/{c}"), None),
        (
            Method::GET,
            format!("/api/conversations/{c}/messages"),
            None,
        ),
        (Method::POST, format!("/api/conversations/{c}/title"), None),
        (
            Method::POST,
            format!("/api/conversations/{c}/branch"),
            Some(json!({"message_id": m})),
        ),
        (Method::POST, format!("/api/chat/{m}/cancel"), None),
        (
            Method::POST,
            format!("/api/chat/{m}/feedback"),
            Some(json!({"rating": "down"})),
        ),
        (Method::GET, format!("/v1/sessions/{c}/messages/"), None),
        (
            Method::POST,
            format!("/v1/sessions/{c}/rename/"),
            Some(json!({"title": "pwned"})),
        ),
        (Method::DELETE, format!("/v1/sessions/{c}/delete/"), None),
        (
            Method::POST,
            "/v1/chat".to_owned(),
            Some(json!({"agent_id": a, "message": "hi"})),
        ),
        (
            Method::POST,
            "/v1/chat".to_owned(),
            Some(json!({"agent_id": a, "message": "hi", "session_id": c})),
        ),
        (
            Method::POST,
            "/api/chat".to_owned(),
            Some(json!({"conversation_id": c, "message": "hi"})),
        ),
        (
            Method::POST,
            "/v1/chat/completions".to_owned(),
            Some(json!({"model": a, "messages": [{"role": "user", "content": "hi"}]})),
        ),
        (
            Method::POST,
            "/v1/chat/completions".to_owned(),
            Some(json!({"model": "helper", "messages": [{"role": "user", "content": "hi"}]})),
        ),
    ];
    // API keys reach neither agent changes nor providers (server/tests/api/credentials.rs): the
    // other organisation's key is refused before any lookup.
    let people_only = |method: &Method, path: &str| {
        path.starts_with("/api/providers")
            || (path.starts_with("/api/agents/") && *method != Method::GET)
    };
    for token in [&other, &other_key] {
        for (method, path, body) in &walk {
            let (status, res) = t
                .app
                .authed(method.clone(), path, token, body.clone())
                .await;
            let expected = if token == &other_key && people_only(method, path) {
                403
            } else {
                404
            };
            assert_eq!(status, expected, "{method} {path}: {res}");
            let text = res.to_string();
            assert!(
                !text.contains("private thoughts") && !text.contains("You are terse"),
                "{path}: {text}"
            );
        }
        for path in [
            "/api/agents",
            "/api/providers",
            "/api/conversations",
            "/v1/agents",
            "/v1/sessions/recent/",
            "/v1/logs",
            "/v1/models",
        ] {
            let (status, res) = t.app.authed(Method::GET, path, token, None).await;
            let expected = if token == &other_key && people_only(&Method::GET, path) {
                403
            } else {
                200
            };
            assert_eq!(status, expected, "{path}");
            let text = res.to_string();
            assert!(
                !text.contains(a.as_str())
                    && !text.contains(c.as_str())
                    && !text.contains(p.as_str()),
                "{path}: {text}"
            );
        }
    }
    // Nothing changed for the owner.
    let (_, agent) = t
        .app
        .authed(Method::GET, &format!("/api/agents/{a}"), &t.jwt, None)
        .await;
    assert_eq!(agent["name"], "helper");
    let (_, conv) = t.get(&format!("/api/conversations/{c}")).await;
    assert_eq!(conv["title"], "private thoughts");
    assert_eq!(
        t.fake.requests().len(),
        1,
        "no other organisation's call reached the provider"
    );
}
