//! A chat fixture: the app (private provider URLs allowed), the fake upstream, an owner with a
//! JWT and an API key, a provider on the fake and an agent on it.

use aerie_backend::config::DbKind;
use aerie_bench::FakeUpstream;
use axum::Router;
use reqwest::Method;
use serde_json::{Value, json};

use super::{PASSWORD, TestApp};

pub struct Chat {
    pub app: TestApp,
    pub fake: FakeUpstream,
    pub jwt: String,
    pub key: String,
    pub provider_id: String,
    pub agent_id: String,
}

impl Chat {
    pub async fn start(kind: DbKind) -> Self {
        Self::start_with(kind, |_| {}).await
    }

    pub async fn start_with(
        kind: DbKind,
        tweak: impl FnOnce(&mut aerie_backend::config::Config),
    ) -> Self {
        let fake = FakeUpstream::start().await;
        let app = TestApp::spawn_with(
            kind,
            |c| {
                c.allow_private_provider_urls = true;
                tweak(c);
            },
            Router::new(),
        )
        .await;
        let email = app.setup().await;
        let (jwt, _) = app.login(&email, PASSWORD).await;
        let (status, provider) = app
            .authed(
                Method::POST,
                "/api/providers",
                &jwt,
                Some(json!({"name": "fake", "base_url": fake.base_url(), "api_key": "sk-upstream-secret-7781"})),
            )
            .await;
        assert_eq!(status, 201, "{provider}");
        let provider_id = provider["id"].as_str().expect("id").to_owned();
        let (status, agent) = app
            .authed(
                Method::POST,
                "/api/agents",
                &jwt,
                Some(json!({"name": "helper", "model": "fake-model", "provider_id": provider_id,
                            "system_prompt": "You are terse.", "tools": ["calculator", "current_time"],
                            "visibility": "organization"})),
            )
            .await;
        assert_eq!(status, 201, "{agent}");
        let agent_id = agent["id"].as_str().expect("id").to_owned();
        let key = app.create_key(&jwt, "sdk").await;
        Self {
            app,
            fake,
            jwt,
            key,
            provider_id,
            agent_id,
        }
    }

    /// `POST path` with the API key; answers status and JSON.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.app
            .authed(Method::POST, path, &self.key, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.app.authed(Method::GET, path, &self.key, None).await
    }

    /// `POST path` with the API key, reading the whole SSE body: `(status, [(event, data)])`.
    pub async fn post_sse(&self, path: &str, body: Value) -> (u16, Vec<(String, String)>) {
        let res = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, parse_sse(&text))
    }
}

/// Splits an SSE body into `(event name or "message", data)` pairs.
pub fn parse_sse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut event = "message".to_owned();
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_owned();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
            }
        }
        if !data.is_empty() {
            out.push((event, data.join("\n")));
        }
    }
    out
}

/// The JSON of each `data:` line (skipping `[DONE]`).
pub fn data_json(events: &[(String, String)]) -> Vec<Value> {
    events
        .iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(d).expect("json data"))
        .collect()
}
