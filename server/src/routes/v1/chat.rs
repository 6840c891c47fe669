//! Egzora's gateway (seed 002): `POST /v1/chat`, `GET /v1/agents`, `GET /v1/auth/profile`,
//! `GET /v1/logs`.

use aerie_backend::actor::Actor;
use aerie_backend::services::chat::{self, TurnRequest};
use aerie_backend::services::{agents, usage};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::agents::Agent;
use aerie_contract::gateway::{V1ChatRequest, V1ChatResponse};
use aerie_contract::usage::{Profile, UsageLog};
use aerie_contract::{CallEndpoint, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
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
    let turn = chat::start_turn(
        &ctx,
        &actor,
        TurnRequest {
            conversation_id: None,
            tracking_key: input.session_id,
            agent_id: Some(input.agent_id),
            message: input.message,
            reasoning_enabled: input.reasoning_enabled,
            images: input.images,
            endpoint: CallEndpoint::V1Chat,
        },
    )
    .await?;
    crate::wire::gateway::answer(turn, input.agent_id, input.stream).await
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
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
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
