//! Egret's RAG query (seed 000): `POST /v1/query/` "Submit a RAG query (streaming or
//! non-streaming)". The data plane: API keys and people. The answer runs as a chat turn in a
//! session (`services::knowledge::query`).

use aerie_backend::actor::Actor;
use aerie_backend::services::knowledge;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::query::{QueryAnswer, QueryEvent, QueryRequest};
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(query_no_slash))
}

async fn answer(ctx: &AppContext, actor: &Actor, input: QueryRequest) -> Result<Response, Error> {
    let stream = input.stream;
    crate::wire::query::answer(knowledge::query(ctx, actor, input).await?, stream).await
}

/// Submit a RAG query: the domain's best passages are given to the model, which answers
/// citing them as `[n]`; with `"stream": true`, `data:` lines (citations, chunks, done).
#[utoipa::path(post, path = "/v1/query/", tag = "query", request_body = QueryRequest,
    responses((status = 200, description = "The answer; with `\"stream\": true`, SSE `data:` lines (`type`: citations, chunk, done or error)",
            content((QueryAnswer = "application/json"), (QueryEvent = "text/event-stream"))),
        (status = 400, description = "No query (\"query field is required.\") or domain, an unknown category, or top_k outside 1–50", body = ErrorBody),
        (status = 402, body = ErrorBody),
        (status = 403, description = "Your organization does not have access to this domain (`allowed_domains`)", body = ErrorBody),
        (status = 404, description = "No such domain or model", body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn query(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<QueryRequest>,
) -> Result<Response, Error> {
    answer(&ctx, &actor, input).await
}

/// `POST /v1/query/` without the trailing slash.
#[utoipa::path(post, path = "/v1/query", tag = "query", request_body = QueryRequest,
    responses((status = 200, description = "As `POST /v1/query/`",
            content((QueryAnswer = "application/json"), (QueryEvent = "text/event-stream"))),
        (status = 400, body = ErrorBody), (status = 402, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn query_no_slash(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<QueryRequest>,
) -> Result<Response, Error> {
    answer(&ctx, &actor, input).await
}
