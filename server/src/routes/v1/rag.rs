//! Seed 003's native RAG endpoints (Aegis): `POST /v1/rag/index` ("Index documents into the
//! vector store") and `POST /v1/rag/query` ("Query the vector store (returns governed
//! context)"). The data plane: API keys and people. The documents are a knowledge base's, as
//! uploads are (`services::knowledge`).

use aerie_backend::actor::Actor;
use aerie_backend::services::knowledge;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::knowledge::{RagContext, RagIndexRequest, RagIndexed, RagQueryRequest};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rag_index))
        .routes(routes!(rag_query))
}

/// Index documents into the vector store: texts become documents of a knowledge base (by id or
/// slug; its owner or an admin, or their API key), ingested in the background.
#[utoipa::path(post, path = "/v1/rag/index", tag = "rag", request_body = RagIndexRequest,
    responses((status = 202, description = "Stored and queued for ingestion (or already held: `duplicate`)", body = RagIndexed),
        (status = 400, description = "No knowledge base or documents, a text that cannot be indexed (the detail names it), or an unknown category", body = ErrorBody),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn rag_index(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<RagIndexRequest>,
) -> Result<(StatusCode, Json<RagIndexed>), Error> {
    Ok((
        StatusCode::ACCEPTED,
        Json(knowledge::rag_index(&ctx, &actor, input).await?),
    ))
}

/// Query the vector store: the best passages of one knowledge base (or of every one you can
/// see), with their sources and the numbered context a prompt would carry.
#[utoipa::path(post, path = "/v1/rag/query", tag = "rag", request_body = RagQueryRequest,
    responses((status = 200, body = RagContext),
        (status = 400, description = "No query (\"query field is required.\") or top_k outside 1–50", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, description = "A knowledge base's embedding model is not available", body = ErrorBody)))]
pub async fn rag_query(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<RagQueryRequest>,
) -> Result<Json<RagContext>, Error> {
    Ok(Json(knowledge::rag_query(&ctx, &actor, input).await?))
}
