//! The OpenAI-compatible API: `POST /v1/chat/completions` (and without `/v1`'s trailing-slash
//! variants) and `GET /v1/models` (and `/v1/models/`). `model` is an agent id or name; the
//! body passes through to the agent's provider; answers and chunks are OpenAI's shapes.

use std::convert::Infallible;

use aerie_backend::actor::Actor;
use aerie_backend::services::chat::engine::{EngineEvent, Outcome};
use aerie_backend::services::chat::openai;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_completions))
        .routes(routes!(list_models))
        .routes(routes!(list_models_slash))
}

fn usage_json(out: &Outcome) -> Value {
    json!({
        "prompt_tokens": out.usage.prompt_tokens,
        "completion_tokens": out.usage.completion_tokens,
        "total_tokens": out.usage.total_tokens,
    })
}

/// Chat completion, OpenAI-compatible (streaming with `"stream": true`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body(content = Object, description = "An OpenAI chat completion request; `model` = agent id or name"),
    responses((status = 200, description = "chat.completion, or SSE chat.completion.chunk lines then [DONE]"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn chat_completions(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(body): AppJson<Map<String, Value>>,
) -> Result<Response, Error> {
    let prep = openai::prepare(&ctx, &actor, body).await?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().timestamp();
    let model = prep.model.clone();
    if !prep.stream {
        let out = openai::complete(&ctx, &prep).await?;
        let mut message = json!({
            "role": "assistant",
            "content": if out.content.is_empty() && !out.client_tool_calls.is_empty() { Value::Null } else { Value::String(out.content.clone()) },
            "refusal": null,
        });
        if !out.reasoning.is_empty() {
            message["reasoning_content"] = Value::String(out.reasoning.clone());
        }
        if !out.client_tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(out.client_tool_calls.clone());
        }
        return Ok(Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": out.finish_reason}],
            "usage": usage_json(&out),
            "system_fingerprint": null,
        }))
        .into_response());
    }

    let include_usage = prep.include_usage;
    let (mut rx, done) = openai::stream(&ctx, prep);
    // An upstream failure before the first token answers with its status.
    let first = rx.recv().await;
    let mut done = Some(done);
    if first.is_none()
        && let Some(done) = done.take()
    {
        let out = done.await.unwrap_or_default();
        if let Some((code, detail)) = out.error {
            return Err(Error::detailed(code, detail));
        }
        let tail = finish_chunks(&id, created, &model, &out, include_usage);
        let head = chunk(
            &id,
            created,
            &model,
            json!({"role": "assistant", "content": ""}),
            None,
            include_usage,
        );
        let all = std::iter::once(head)
            .chain(tail)
            .map(|v| Ok::<_, Infallible>(Event::default().data(v.to_string())));
        let done_line = std::iter::once(Ok(Event::default().data("[DONE]")));
        return Ok(Sse::new(futures::stream::iter(all.chain(done_line))).into_response());
    }
    let head = chunk(
        &id,
        created,
        &model,
        json!({"role": "assistant", "content": ""}),
        None,
        include_usage,
    );
    let (id2, model2) = (id.clone(), model.clone());
    let body_events = futures::stream::iter(first)
        .chain(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
        .filter_map(move |e| {
            let delta = match e {
                EngineEvent::Delta(t) => Some(json!({"content": t})),
                EngineEvent::Reasoning(t) => Some(json!({"reasoning_content": t})),
                EngineEvent::ClientToolCallDelta(calls) => Some(json!({"tool_calls": calls})),
                EngineEvent::ToolCall(_) => None,
            };
            let line = delta.map(|d| chunk(&id2, created, &model2, d, None, include_usage));
            async move { line }
        });
    let (id3, model3) = (id.clone(), model.clone());
    let tail = futures::stream::once(async move {
        let out = match done {
            Some(d) => d.await.unwrap_or_default(),
            None => Outcome::default(),
        };
        match &out.error {
            Some((code, detail)) => vec![error_line(*code, detail)],
            // Only shutdown cancels a stream whose client is still reading.
            None if out.cancelled => vec![error_line(
                ErrorCode::Unavailable,
                "The server is shutting down; the answer was cut short. Retry the request.",
            )],
            None => finish_chunks(&id3, created, &model3, &out, include_usage),
        }
    })
    .flat_map(futures::stream::iter);
    let lines = futures::stream::once(async move { head })
        .chain(body_events)
        .chain(tail)
        .map(|v| Ok::<_, Infallible>(Event::default().data(v.to_string())))
        .chain(futures::stream::once(async {
            Ok(Event::default().data("[DONE]"))
        }));
    Ok(Sse::new(lines)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn chunk(
    id: &str,
    created: i64,
    model: &str,
    delta: Value,
    finish: Option<&str>,
    include_usage: bool,
) -> Value {
    let mut c = json!({
        "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
        "system_fingerprint": null,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    if include_usage {
        c["usage"] = Value::Null;
    }
    c
}

fn finish_chunks(
    id: &str,
    created: i64,
    model: &str,
    out: &Outcome,
    include_usage: bool,
) -> Vec<Value> {
    let finish = if out.finish_reason.is_empty() {
        "stop"
    } else {
        out.finish_reason.as_str()
    };
    let mut v = vec![chunk(
        id,
        created,
        model,
        json!({}),
        Some(finish),
        include_usage,
    )];
    if include_usage {
        v.push(json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": null, "choices": [], "usage": usage_json(out),
        }));
    }
    v
}

fn error_line(code: ErrorCode, detail: &str) -> Value {
    serde_json::to_value(ErrorBody::with_detail(code, detail.to_owned())).unwrap_or_default()
}

async fn models_list(ctx: &AppContext, actor: &Actor) -> Result<Json<Value>, Error> {
    let agents = openai::models(ctx, actor).await?;
    let data: Vec<Value> = agents
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "object": "model", "created": a.created_at.timestamp(),
                "owned_by": "aerie", "name": a.name, "kind": "agent", "model": a.model,
                "description": a.description,
            })
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

/// Models (OpenAI list shape): your agents, usable as `model` by id or name.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "{\"object\":\"list\",\"data\":[{id, object, created, owned_by, name, kind}]}"), (status = 401, body = ErrorBody)))]
pub async fn list_models(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Value>, Error> {
    models_list(&ctx, &actor).await
}

/// The same list at Egret's path.
#[utoipa::path(get, path = "/v1/models/", tag = "openai",
    responses((status = 200, description = "The same list as /v1/models"), (status = 401, body = ErrorBody)))]
pub async fn list_models_slash(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Value>, Error> {
    models_list(&ctx, &actor).await
}
