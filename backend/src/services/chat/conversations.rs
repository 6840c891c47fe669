//! Conversations (chat threads): create, list, get, rename, delete; the owner check every chat
//! operation starts from; and the client's tracking key (`/v1/chat`'s `session_id`) that names a
//! conversation.

use chrono::Utc;

use crate::actor::{Actor, Principal};
use crate::db::entities::conversations;
use crate::services::{agents, validate};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::chat::{Conversation, NewConversation};
use aerie_contract::ids::{AgentId, ConversationId, MessageId};

pub fn conversation_dto(c: &conversations::Model) -> Conversation {
    Conversation {
        id: ConversationId(c.id),
        title: c.title.clone(),
        agent_id: c.agent_id.map(AgentId),
        parent_id: c.parent_id.map(ConversationId),
        branched_from_message_id: c.branched_from_message_id.map(MessageId),
        created_at: utc(c.created_at),
        updated_at: utc(c.updated_at),
    }
}

/// The caller's live conversation `id` (`NotFound` otherwise).
pub(super) async fn owned(
    ctx: &AppContext,
    p: &Principal,
    id: ConversationId,
) -> Result<conversations::Model> {
    store::conversations::find_for_user(ctx.db(), p.org_id, p.user_id, id)
        .await?
        .ok_or(Error::NotFound)
}

pub async fn list(
    ctx: &AppContext,
    actor: &Actor,
    limit: Option<u64>,
    offset: Option<u64>,
) -> Result<Vec<Conversation>> {
    let p = actor.principal()?;
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 200."));
    }
    // The databases count rows with signed 64-bit integers.
    let offset = offset.unwrap_or(0);
    if i64::try_from(offset).is_err() {
        return Err(Error::invalid(
            "offset",
            "offset must be at most 9223372036854775807.",
        ));
    }
    Ok(
        store::conversations::list_for_user(ctx.db(), p.org_id, p.user_id, limit, offset)
            .await?
            .iter()
            .map(conversation_dto)
            .collect(),
    )
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: ConversationId) -> Result<Conversation> {
    Ok(conversation_dto(&owned(ctx, actor.principal()?, id).await?))
}

/// Stores a new conversation. With a tracking key, a conversation its owner started with the
/// same key meanwhile (a concurrent first turn) is answered instead.
pub(super) async fn insert<C: sea_orm::ConnectionTrait>(
    db: &C,
    p: &Principal,
    agent: Option<AgentId>,
    title: String,
    source: &str,
    tracking_key: Option<String>,
) -> Result<conversations::Model> {
    Ok(store::conversations::create(
        db,
        store::conversations::NewConversation {
            org: p.org_id,
            user: p.user_id,
            agent,
            title,
            parent: None,
            branched_from: None,
            source: source.to_owned(),
            tracking_key,
            now: Utc::now(),
        },
    )
    .await?)
}

/// The longest `session_id` a client may choose, in characters (seed 002 sets none; the column
/// holds 200).
pub const MAX_TRACKING_KEY_CHARS: usize = 200;

/// Checks a client's tracking key (`/v1/chat`'s `session_id`): at most
/// [`MAX_TRACKING_KEY_CHARS`] characters, no NUL (no database stores it in text); an empty key
/// is no key.
pub fn tracking_key(raw: Option<String>) -> Result<Option<String>> {
    let Some(key) = raw.filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if key.chars().count() > MAX_TRACKING_KEY_CHARS {
        return Err(Error::invalid(
            "session_id",
            format!("session_id must be at most {MAX_TRACKING_KEY_CHARS} characters."),
        ));
    }
    if key.contains('\0') {
        return Err(Error::invalid(
            "session_id",
            "session_id must not contain NUL characters.",
        ));
    }
    Ok(Some(key))
}

/// The caller's conversation a `session_id` names: the UUID of one of their conversations, else
/// the conversation they started with that tracking key (`None`: a new conversation).
pub(super) async fn find_by_tracking_key(
    ctx: &AppContext,
    p: &Principal,
    key: &str,
) -> Result<Option<conversations::Model>> {
    if let Ok(id) = uuid::Uuid::parse_str(key)
        && let Some(c) =
            store::conversations::find_for_user(ctx.db(), p.org_id, p.user_id, ConversationId(id))
                .await?
    {
        return Ok(Some(c));
    }
    Ok(store::conversations::find_by_key(ctx.db(), p.org_id, p.user_id, key).await?)
}

pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: NewConversation,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let agent = agents::find_visible(ctx, p, input.agent_id).await?;
    let title = match input.title {
        Some(t) => validate::name("title", &t, validate::TITLE_MAX)?,
        None => "New chat".to_owned(),
    };
    Ok(conversation_dto(
        &insert(ctx.db(), p, Some(agent.id), title, "web", None).await?,
    ))
}

pub async fn rename(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    title: &str,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let title = validate::name("title", title, validate::TITLE_MAX)?;
    let c = owned(ctx, p, id).await?;
    let c = store::conversations::set_title(ctx.db(), p.org_id, c, title, Utc::now()).await?;
    Ok(conversation_dto(&c))
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: ConversationId) -> Result<()> {
    let p = actor.principal()?;
    owned(ctx, p, id).await?;
    store::conversations::soft_delete(ctx.db(), p.org_id, id, Utc::now()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any string is a tracking key up to 200 characters (not bytes); longer ones and NUL
        /// are refused naming `session_id`; nothing panics.
        #[test]
        fn tracking_keys(raw in proptest::prelude::any::<String>(), n in 190usize..210) {
            for key in [raw, "é".repeat(n)] {
                let expected = key.chars().count() <= MAX_TRACKING_KEY_CHARS && !key.contains('\0');
                match tracking_key(Some(key.clone())) {
                    Ok(k) => {
                        proptest::prop_assert!(expected);
                        proptest::prop_assert_eq!(k, Some(key).filter(|k| !k.is_empty()));
                    }
                    Err(e) => {
                        proptest::prop_assert!(!expected);
                        proptest::prop_assert_eq!(e.body().error.param, Some("session_id".to_owned()));
                    }
                }
            }
        }
    }
}
