//! A conversation's messages: pages of them, a branch copied up to one of them, and feedback on
//! an answer.

use chrono::Utc;

use super::conversations::{conversation_dto, owned};
use crate::actor::Actor;
use crate::db::entities::messages;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::MessageRole;
use aerie_contract::chat::{Conversation, Feedback, Message, MessagePage};
use aerie_contract::ids::{AgentId, ConversationId, MessageId};

/// The message as answered; a role or status the code does not know is an internal error.
pub fn message_dto(m: &messages::Model) -> Result<Message> {
    Ok(Message {
        id: MessageId(m.id),
        conversation_id: ConversationId(m.conversation_id),
        role: m.role()?,
        content: m.content.clone(),
        reasoning: m.reasoning.clone(),
        tool_calls: m
            .tool_calls
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        citations: m
            .citations
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        images: u32::try_from(m.images).unwrap_or(0),
        status: m.status()?,
        error: m.error.clone(),
        model: m.model.clone(),
        input_tokens: m.input_tokens.map(i64::from),
        output_tokens: m.output_tokens.map(i64::from),
        latency_ms: m.latency_ms.map(i64::from),
        feedback: m.feedback,
        feedback_comment: m.feedback_comment.clone(),
        created_at: utc(m.created_at),
    })
}

/// A page of messages, oldest first; `before` pages backwards.
pub async fn messages(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    limit: Option<u64>,
    before: Option<MessageId>,
) -> Result<MessagePage> {
    let p = actor.principal()?;
    owned(ctx, p, id).await?;
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 500."));
    }
    let before_seq = match before {
        Some(m) => Some(
            store::conversations::find_message(ctx.db(), p.org_id, m)
                .await?
                .filter(|m| m.conversation_id == id.0)
                .ok_or_else(|| {
                    Error::invalid("before", "before is not a message of this conversation.")
                })?
                .seq,
        ),
        None => None,
    };
    let mut rows =
        store::conversations::messages_page(ctx.db(), p.org_id, id, before_seq, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    rows.reverse();
    Ok(MessagePage {
        next_before: if has_more {
            rows.first().map(|m| MessageId(m.id))
        } else {
            None
        },
        data: rows.iter().map(message_dto).collect::<Result<_>>()?,
        has_more,
    })
}

/// Copies the conversation up to `message_id` (included) into a new conversation.
pub async fn branch(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    message_id: MessageId,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let source = owned(ctx, p, id).await?;
    let mut all = store::conversations::messages(ctx.db(), p.org_id, id).await?;
    let Some(at) = all.iter().position(|m| m.id == message_id.0) else {
        return Err(Error::invalid(
            "message_id",
            "message_id is not a message of this conversation.",
        ));
    };
    all.truncate(at + 1);
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let copy = store::conversations::create(
        &txn,
        store::conversations::NewConversation {
            org: p.org_id,
            user: p.user_id,
            agent: source.agent_id.map(AgentId),
            title: format!(
                "{} (branch)",
                source.title.chars().take(180).collect::<String>()
            ),
            parent: Some(ConversationId(source.id)),
            branched_from: Some(message_id),
            source: source.source.clone(),
            tracking_key: None,
            now,
        },
    )
    .await?;
    store::conversations::copy_messages(&txn, ConversationId(copy.id), all).await?;
    txn.commit().await?;
    Ok(conversation_dto(&copy))
}

/// Thumbs up/down and a comment on an answer of the caller's conversation.
pub async fn feedback(
    ctx: &AppContext,
    actor: &Actor,
    id: MessageId,
    input: Feedback,
) -> Result<Message> {
    let p = actor.principal()?;
    let m = store::conversations::find_message(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    owned(ctx, p, ConversationId(m.conversation_id)).await?;
    if m.role()? != MessageRole::Assistant {
        return Err(Error::invalid(
            "message_id",
            "Feedback applies to answers (assistant messages).",
        ));
    }
    let rating = match input.rating.as_deref() {
        Some("up") => Some(1),
        Some("down") => Some(-1),
        None => None,
        Some(_) => {
            return Err(Error::invalid(
                "rating",
                "rating must be \"up\", \"down\" or null.",
            ));
        }
    };
    let comment = input
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(Error::invalid(
            "comment",
            "comment must be at most 2000 characters.",
        ));
    }
    let m = store::conversations::set_feedback(ctx.db(), p.org_id, m, rating, comment).await?;
    message_dto(&m)
}
