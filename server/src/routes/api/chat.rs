//! `/api/chat` (seed 004): one turn as Server-Sent Events — `start`, `delta`, `reasoning`,
//! `tool_call`, then `done` or `error` (and `dlp_finding` when the guardrails ask) — plus
//! cancel, the decision on a `dlp_finding`, and feedback.

use aerie_backend::actor::Actor;
use aerie_backend::services::chat::{self, TurnRequest};
use aerie_backend::services::guardrails;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::chat::{ChatEvent, ChatTurn, Feedback, Message};
use aerie_contract::guardrails::DlpDecision;
use aerie_contract::ids::MessageId;
use aerie_contract::{CallEndpoint, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_turn))
        .routes(routes!(cancel_turn))
        .routes(routes!(dlp_decision))
        .routes(routes!(message_feedback))
}

/// Send a message and stream the answer (`text/event-stream`; `event:` = the JSON's `type`).
#[utoipa::path(post, path = "/api/chat", tag = "chat", request_body = ChatTurn,
    responses((status = 200, description = "SSE stream of ChatEvent", body = ChatEvent, content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn chat_turn(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<ChatTurn>,
) -> Result<Response, Error> {
    let turn = chat::start_turn(
        &ctx,
        &actor,
        TurnRequest {
            conversation_id: input.conversation_id,
            tracking_key: None,
            agent_id: input.agent_id,
            message: input.message,
            reasoning_enabled: input.reasoning_enabled,
            images: input.images,
            endpoint: CallEndpoint::ApiChat,
        },
    )
    .await?;
    Ok(crate::wire::workspace::stream(turn))
}

/// Cancel a turn in flight; the partial answer is kept and returned.
#[utoipa::path(post, path = "/api/chat/{msgId}/cancel", tag = "chat",
    params(("msgId" = MessageId, Path, description = "The answer's message id (from `start`)")),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn cancel_turn(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<MessageId>,
) -> Result<Json<Message>, Error> {
    Ok(Json(chat::cancel(&ctx, &actor, id).await?))
}

/// Resolve a `dlp_finding`: send the question as written (`allow`), with the findings replaced
/// (`redact`), or not at all (`block`); the waiting turn goes on (docs/GUARDRAILS.md). Reaches
/// the instance that streams the turn, like cancel.
#[utoipa::path(post, path = "/api/chat/{msgId}/dlp-decision", tag = "chat", request_body = DlpDecision,
    params(("msgId" = MessageId, Path, description = "The answer's message id (from `start` and `dlp_finding`)")),
    responses((status = 200, body = DlpDecision),
        (status = 404, description = "No turn of the caller waits for a decision on this message", body = ErrorBody)))]
pub async fn dlp_decision(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<MessageId>,
    AppJson(input): AppJson<DlpDecision>,
) -> Result<Json<DlpDecision>, Error> {
    Ok(Json(
        guardrails::ask::decide(&ctx, &actor, id, input.decision).await?,
    ))
}

/// Thumbs up/down and an optional comment on an answer.
#[utoipa::path(post, path = "/api/chat/{msgId}/feedback", tag = "chat", request_body = Feedback,
    params(("msgId" = MessageId, Path, description = "The answer's message id")),
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn message_feedback(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<MessageId>,
    AppJson(input): AppJson<Feedback>,
) -> Result<Json<Message>, Error> {
    Ok(Json(chat::feedback(&ctx, &actor, id, input).await?))
}
