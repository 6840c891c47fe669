//! The chat page's conversations and messages. The turn itself streams from `POST /api/chat`
//! (Server-Sent Events), which the page reads with `fetch`.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::chat::{Conversation, Message, MessagePage};
use crate::contract::ids::{ConversationId, MessageId};

/// My conversations, most recent first.
#[server(prefix = "/_server", endpoint = "chat_conversations")]
pub async fn list_conversations() -> Result<Vec<Conversation>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::list(&ctx, &actor, Some(100), None)
        .await
        .map_err(super::ssr::err)
}

/// A page of messages, oldest first; `before` pages backwards.
#[server(prefix = "/_server", endpoint = "chat_messages")]
pub async fn list_messages(
    id: ConversationId,
    before: Option<MessageId>,
) -> Result<MessagePage, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::messages(&ctx, &actor, id, Some(30), before)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "chat_rename")]
pub async fn rename_conversation(
    id: ConversationId,
    title: String,
) -> Result<Conversation, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::rename(&ctx, &actor, id, &title)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "chat_delete")]
pub async fn delete_conversation(id: ConversationId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// A new conversation with the messages up to `message_id` (included).
#[server(prefix = "/_server", endpoint = "chat_branch")]
pub async fn branch_conversation(
    id: ConversationId,
    message_id: MessageId,
) -> Result<Conversation, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::branch(&ctx, &actor, id, message_id)
        .await
        .map_err(super::ssr::err)
}

/// Asks the agent's model for a short title.
#[server(prefix = "/_server", endpoint = "chat_title")]
pub async fn regenerate_title(id: ConversationId) -> Result<Conversation, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::regenerate_title(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// Stops a turn in flight; the partial answer is kept.
#[server(prefix = "/_server", endpoint = "chat_cancel")]
pub async fn cancel_turn(message_id: MessageId) -> Result<Message, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::chat::cancel(&ctx, &actor, message_id)
        .await
        .map_err(super::ssr::err)
}

/// The caller's decision on what the guardrails asked about (a `dlp_finding` event).
#[server(prefix = "/_server", endpoint = "chat_dlp_decision")]
pub async fn decide_dlp(
    message_id: MessageId,
    decision: crate::contract::guardrails::DlpChoice,
) -> Result<crate::contract::guardrails::DlpDecision, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::guardrails::ask::decide(&ctx, &actor, message_id, decision)
        .await
        .map_err(super::ssr::err)
}

/// `rating`: `up`, `down`, or empty to clear.
#[server(prefix = "/_server", endpoint = "chat_feedback")]
pub async fn rate_answer(message_id: MessageId, rating: String) -> Result<Message, ErrorBody> {
    use crate::contract::chat::Feedback;
    let (ctx, actor) = super::ssr::context().await?;
    let input = Feedback {
        rating: Some(rating).filter(|r| !r.is_empty()),
        comment: None,
    };
    crate::backend::services::chat::feedback(&ctx, &actor, message_id, input)
        .await
        .map_err(super::ssr::err)
}
