//! Egzora's gateway (seed 002): `POST /v1/chat`, `GET /v1/agents`, `GET /v1/auth/profile`,
//! `GET /v1/logs`.

use std::convert::Infallible;

use aerie_backend::actor::Actor;
use aerie_backend::services::chat::{self, TurnRequest};
use aerie_backend::services::{agents, usage};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::agents::Agent;
use aerie_contract::chat::{ChatEvent, ToolCallRecord, Usage};
use aerie_contract::ids::{AgentId, ConversationId, MessageId};
use aerie_contract::usage::{Profile, UsageLog};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(v1_chat))
        .routes(routes!(v1_agents))
        .routes(routes!(v1_profile))
        .routes(routes!(v1_logs))
}

/// `POST /v1/chat` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct V1ChatRequest {
    pub agent_id: AgentId,
    pub message: String,
    /// A tracking key of your choosing (any string up to 200 characters): a new key starts a
    /// session under it, a known one continues it (its history is sent to the model). Keys are
    /// per user and organisation. The UUID of one of your conversations also works.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub stream: bool,
    /// Overrides the agent's thinking setting for this request.
    #[serde(default)]
    pub reasoning_enabled: Option<bool>,
    /// `data:image/...;base64,...` URLs for vision models.
    #[serde(default)]
    pub images: Vec<String>,
}

/// `POST /v1/chat` answer (non-streaming).
#[derive(Debug, Serialize, ToSchema)]
pub struct V1ChatResponse {
    /// The answer; with reasoning on, preceded by the "💭 Thinking Process" block.
    pub response: String,
    /// The answer alone.
    pub answer: String,
    /// The model's thinking (reasoning on), else null.
    pub reasoning: Option<String>,
    /// Continues this session: your `session_id`, or the new conversation's id if you sent none.
    pub session_id: String,
    /// The conversation behind the session (`/v1/sessions/{id}/…`, `/api/conversations/{id}`).
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub agent_id: AgentId,
    pub tool_calls: Vec<ToolCallRecord>,
    pub usage: Usage,
}

/// The contract code an `error` event names (an unknown one reads as an upstream failure).
fn code_of(code: &str) -> ErrorCode {
    ErrorCode::from_code(code).unwrap_or(ErrorCode::Upstream)
}

const THINKING: &str = "💭 Thinking Process";

fn with_thinking(reasoning: Option<&str>, answer: &str) -> String {
    match reasoning.filter(|r| !r.trim().is_empty()) {
        Some(r) => format!("{THINKING}\n\n{}\n\n---\n\n{answer}", r.trim()),
        None => answer.to_owned(),
    }
}

/// Chat with an agent: one answer, or `data: {"chunk": "..."}` SSE lines then a final
/// `data: {"done": true, "session_id": ..., "conversation_id": ..., "usage": ...}`.
#[utoipa::path(post, path = "/v1/chat", tag = "chat", request_body = V1ChatRequest,
    responses((status = 200, body = V1ChatResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn v1_chat(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<V1ChatRequest>,
) -> Result<Response, Error> {
    let agent_id = input.agent_id;
    let stream = input.stream;
    let mut handle = chat::start_turn(
        &ctx,
        &actor,
        TurnRequest {
            conversation_id: None,
            tracking_key: input.session_id,
            agent_id: Some(input.agent_id),
            message: input.message,
            reasoning_enabled: input.reasoning_enabled,
            images: input.images,
            endpoint: "v1_chat",
        },
    )
    .await?;
    let conversation_key = handle.conversation_key.clone();
    let conversation_id = handle.conversation_id;
    let message_id = handle.message_id;
    let show_reasoning = handle.reasoning;
    // An upstream failure before the first word answers with its status, not a 200 stream.
    let first = handle.events.recv().await;
    if let Some(ChatEvent::Error { code, message, .. }) = &first {
        let code = code_of(code);
        return Err(Error::detailed(code, message.clone()));
    }
    if !stream {
        let mut events = futures::stream::iter(first).chain(futures::stream::poll_fn(move |cx| {
            handle.events.poll_recv(cx)
        }));
        while let Some(e) = events.next().await {
            match e {
                ChatEvent::Done { message, usage } => {
                    let reasoning = message.reasoning.clone().filter(|_| show_reasoning);
                    return Ok(Json(V1ChatResponse {
                        response: with_thinking(reasoning.as_deref(), &message.content),
                        answer: message.content,
                        reasoning,
                        session_id: conversation_key,
                        conversation_id,
                        message_id,
                        agent_id,
                        tool_calls: message.tool_calls,
                        usage,
                    })
                    .into_response());
                }
                ChatEvent::Error { code, message, .. } => {
                    let code = code_of(&code);
                    return Err(Error::detailed(code, message));
                }
                _ => {}
            }
        }
        return Err(Error::detailed(
            ErrorCode::Upstream,
            "The answer ended unexpectedly.",
        ));
    }
    let mut thinking = false;
    let mut rx = handle.events;
    let events =
        futures::stream::iter(first).chain(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let lines = events.flat_map(move |e| {
        let mut out = Vec::new();
        match e {
            ChatEvent::Reasoning { content } if show_reasoning => {
                if !thinking {
                    thinking = true;
                    out.push(json!({"chunk": format!("{THINKING}\n\n"), "type": "reasoning"}));
                }
                out.push(json!({"chunk": content, "reasoning": true, "type": "reasoning"}));
            }
            ChatEvent::Delta { content } => {
                if thinking {
                    thinking = false;
                    out.push(json!({"chunk": "\n\n---\n\n", "type": "reasoning"}));
                }
                out.push(json!({"chunk": content}));
            }
            ChatEvent::ToolCall { call } => out.push(json!({"tool_call": call})),
            ChatEvent::Done { message, usage } => out.push(json!({
                "done": true, "session_id": conversation_key, "conversation_id": conversation_id,
                "message_id": message.id,
                "agent_id": agent_id, "usage": usage,
                "reasoning": message.reasoning.filter(|_| show_reasoning),
            })),
            ChatEvent::Error { code, message, .. } => {
                let code = code_of(&code);
                let mut body =
                    serde_json::to_value(ErrorBody::with_detail(code, message)).unwrap_or_default();
                if let Some(o) = body.as_object_mut() {
                    o.insert("done".into(), json!(true));
                    o.insert("session_id".into(), json!(conversation_key));
                    o.insert("conversation_id".into(), json!(conversation_id));
                    o.insert("message_id".into(), json!(message_id));
                }
                out.push(body);
            }
            _ => {}
        }
        futures::stream::iter(
            out.into_iter()
                .map(|v| Ok::<_, Infallible>(Event::default().data(v.to_string()))),
        )
    });
    Ok(Sse::new(lines)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Your agents: id, name, prompt, tools and model.
#[utoipa::path(get, path = "/v1/agents", tag = "agents",
    responses((status = 200, body = [Agent]), (status = 401, body = ErrorBody)))]
pub async fn v1_agents(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Agent>>, Error> {
    Ok(Json(agents::list(&ctx, &actor).await?))
}

/// Email, subscription tier and this month's token quota (total, used, remaining).
#[utoipa::path(get, path = "/v1/auth/profile", tag = "usage",
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)))]
pub async fn v1_profile(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Profile>, Error> {
    Ok(Json(usage::profile(&ctx, &actor).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LogsQuery {
    /// 1–1000, default 100.
    pub limit: Option<u64>,
}

/// Your usage records, newest first: model, tokens, latency, status.
#[utoipa::path(get, path = "/v1/logs", tag = "usage", params(LogsQuery),
    responses((status = 200, body = [UsageLog]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn v1_logs(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<LogsQuery>,
) -> Result<Json<Vec<UsageLog>>, Error> {
    Ok(Json(usage::logs(&ctx, &actor, q.limit).await?))
}
