//! `/api/conversations…` (seed 004): the signed-in user's conversations.

use aerie_backend::actor::Actor;
use aerie_backend::services::chat;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::chat::{
    BranchConversation, Conversation, MessagePage, NewConversation, RenameConversation,
};
use aerie_contract::ids::{ConversationId, MessageId};
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
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(
            get_conversation,
            rename_conversation,
            delete_conversation
        ))
        .routes(routes!(list_messages))
        .routes(routes!(regenerate_title))
        .routes(routes!(branch_conversation))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip, default 0.
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub offset: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Return the messages before this one (older page).
    pub before: Option<MessageId>,
}

/// List my conversations, most recent first.
#[utoipa::path(get, path = "/api/conversations", tag = "conversations", params(Page),
    responses((status = 200, body = [Conversation]), (status = 401, body = ErrorBody)))]
pub async fn list_conversations(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<Page>,
) -> Result<Json<Vec<Conversation>>, Error> {
    Ok(Json(chat::list(&ctx, &actor, q.limit, q.offset).await?))
}

/// Start a conversation with an agent.
#[utoipa::path(post, path = "/api/conversations", tag = "conversations", request_body = NewConversation,
    responses((status = 201, body = Conversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewConversation>,
) -> Result<(StatusCode, Json<Conversation>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(chat::create(&ctx, &actor, input).await?),
    ))
}

/// Read a conversation.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "conversations",
    params(("id" = ConversationId, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn get_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
) -> Result<Json<Conversation>, Error> {
    Ok(Json(chat::get(&ctx, &actor, id).await?))
}

/// Rename a conversation.
#[utoipa::path(patch, path = "/api/conversations/{id}", tag = "conversations", request_body = RenameConversation,
    params(("id" = ConversationId, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<RenameConversation>,
) -> Result<Json<Conversation>, Error> {
    Ok(Json(chat::rename(&ctx, &actor, id, &input.title).await?))
}

/// Delete a conversation (soft: it disappears from every list).
#[utoipa::path(delete, path = "/api/conversations/{id}", tag = "conversations",
    params(("id" = ConversationId, Path, description = "Conversation id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
) -> Result<StatusCode, Error> {
    chat::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Messages, oldest first, a page at a time (`before` = `next_before` of the previous page).
#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "conversations", params(("id" = ConversationId, Path, description = "Conversation id"), MessagesQuery),
    responses((status = 200, body = MessagePage), (status = 404, body = ErrorBody)))]
pub async fn list_messages(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
    AppQuery(q): AppQuery<MessagesQuery>,
) -> Result<Json<MessagePage>, Error> {
    Ok(Json(
        chat::messages(&ctx, &actor, id, q.limit, q.before).await?,
    ))
}

/// Ask the agent's model for a new title.
#[utoipa::path(post, path = "/api/conversations/{id}/title", tag = "conversations",
    params(("id" = ConversationId, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn regenerate_title(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
) -> Result<Json<Conversation>, Error> {
    Ok(Json(chat::regenerate_title(&ctx, &actor, id).await?))
}

/// Branch into a new conversation at a message (that message included).
#[utoipa::path(post, path = "/api/conversations/{id}/branch", tag = "conversations", request_body = BranchConversation,
    params(("id" = ConversationId, Path, description = "Conversation id")),
    responses((status = 201, body = Conversation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn branch_conversation(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<BranchConversation>,
) -> Result<(StatusCode, Json<Conversation>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(chat::branch(&ctx, &actor, id, input.message_id).await?),
    ))
}
