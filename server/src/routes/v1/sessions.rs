//! Egret's session views (seed 000) over the same conversations: recent, messages, rename,
//! delete — trailing slashes as documented. The reference calls a conversation a session; its
//! paths and operation ids keep that word, the code says conversation.

use aerie_backend::actor::Actor;
use aerie_backend::services::chat;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::chat::{Conversation, Message, RenameConversation};
use aerie_contract::ids::ConversationId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath, AppQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(recent_conversations))
        .routes(routes!(conversation_messages))
        .routes(routes!(rename_conversation))
        .routes(routes!(delete_conversation))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentQuery {
    /// 1–200, default 20.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Your recent sessions, most recent first.
#[utoipa::path(get, path = "/v1/sessions/recent/", tag = "sessions", params(RecentQuery),
    operation_id = "recent_sessions",
    responses((status = 200, body = [Conversation]), (status = 401, body = ErrorBody)))]
pub async fn recent_conversations(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<RecentQuery>,
) -> Result<Json<Vec<Conversation>>, Error> {
    Ok(Json(
        chat::list(&ctx, &actor, Some(q.limit.unwrap_or(20)), None).await?,
    ))
}

/// A session's full message history, oldest first.
#[utoipa::path(get, path = "/v1/sessions/{id}/messages/", tag = "sessions",
    operation_id = "session_messages",
    params(("id" = ConversationId, Path, description = "Session id")),
    responses((status = 200, body = [Message]), (status = 404, body = ErrorBody)))]
pub async fn conversation_messages(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
) -> Result<Json<Vec<Message>>, Error> {
    Ok(Json(
        chat::messages(&ctx, &actor, id, Some(500), None)
            .await?
            .data,
    ))
}

/// Rename a session.
#[utoipa::path(post, path = "/v1/sessions/{id}/rename/", tag = "sessions", request_body = RenameConversation,
    operation_id = "rename_session",
    params(("id" = ConversationId, Path, description = "Session id")),
    responses((status = 200, body = Conversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<RenameConversation>,
) -> Result<Json<Conversation>, Error> {
    Ok(Json(chat::rename(&ctx, &actor, id, &input.title).await?))
}

/// Delete a session.
#[utoipa::path(delete, path = "/v1/sessions/{id}/delete/", tag = "sessions",
    operation_id = "delete_session",
    params(("id" = ConversationId, Path, description = "Session id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
) -> Result<StatusCode, Error> {
    chat::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
