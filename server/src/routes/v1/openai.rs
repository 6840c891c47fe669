//! The OpenAI-compatible API: `POST /v1/chat/completions` (and without `/v1`'s trailing-slash
//! variants) and `GET /v1/models` (and `/v1/models/`). `model` is an agent id or name, or a
//! provider's model; the body passes through to its provider; answers and chunks are OpenAI's
//! shapes (with the citations of an agent's knowledge bases added).

use aerie_backend::actor::Actor;
use aerie_backend::services::chat::{models as targets, openai};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::openai::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ModelList,
};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;
use crate::wire::openai::{Reply, models};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_completions))
        .routes(routes!(list_models))
        .routes(routes!(list_models_slash))
}

/// Chat completion, OpenAI-compatible (streaming with `"stream": true`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body(content = ChatCompletionRequest, description = "An OpenAI chat completion request; `model` = an id from GET /v1/models (a route's name such as `default`, an agent id or name, or a provider model)"),
    responses((status = 200, description = "A chat.completion; with `\"stream\": true`, SSE `data:` lines of chat.completion.chunk then `data: [DONE]`",
            content((ChatCompletion = "application/json"), (ChatCompletionChunk = "text/event-stream"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn chat_completions(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(body): AppJson<Map<String, Value>>,
) -> Result<Response, Error> {
    let mut prep = openai::prepare(&ctx, &actor, body).await?;
    let reply = Reply::new(&prep);
    if !prep.stream {
        let out = openai::complete(&ctx, &mut prep).await?;
        return Ok(Json(reply.completion(out, prep.citations)).into_response());
    }
    reply.stream(openai::stream(&ctx, prep)).await
}

async fn models_list(ctx: &AppContext, actor: &Actor) -> Result<Json<ModelList>, Error> {
    let (routes, agents, provider_models) = targets::list(ctx, actor).await?;
    Ok(Json(models(routes, agents, provider_models)))
}

/// Models (OpenAI list shape): your agents (by id or name), the organisation's provider models,
/// then its routes (by name, `default` among them).
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "Agents, provider models and routes, in OpenAI's list shape", body = ModelList), (status = 401, body = ErrorBody)))]
pub async fn list_models(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<ModelList>, Error> {
    models_list(&ctx, &actor).await
}

/// The same list at Egret's path.
#[utoipa::path(get, path = "/v1/models/", tag = "openai",
    responses((status = 200, description = "The same list as /v1/models", body = ModelList), (status = 401, body = ErrorBody)))]
pub async fn list_models_slash(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<ModelList>, Error> {
    models_list(&ctx, &actor).await
}
