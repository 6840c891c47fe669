use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::ts;
use crate::db::entities::{conversations, messages};
use aerie_contract::ids::{AgentId, ConversationId, MessageId, OrgId, UserId};
use aerie_contract::{MessageRole, MessageStatus, UnknownValue};

impl messages::Model {
    /// Who wrote it: the one reading of the stored `role` column.
    pub fn role(&self) -> Result<MessageRole, UnknownValue> {
        self.role.parse()
    }

    /// Where it stands: the one reading of the stored `status` column.
    pub fn status(&self) -> Result<MessageStatus, UnknownValue> {
        self.status.parse()
    }
}

/// A conversation to store: a new one (no parent), or a branch of `parent` at `branched_from`.
pub struct NewConversation {
    pub org: OrgId,
    pub user: UserId,
    pub agent: Option<AgentId>,
    pub title: String,
    pub parent: Option<ConversationId>,
    pub branched_from: Option<MessageId>,
    /// Where it started: `web` or `api`.
    pub source: String,
    /// The client's tracking key (`/v1/chat`'s `session_id`), if it chose one.
    pub tracking_key: Option<String>,
    pub now: DateTime<Utc>,
}

/// A message to append to a conversation at `seq`.
pub struct NewMessage<'a> {
    pub org: OrgId,
    pub conversation: ConversationId,
    pub seq: i32,
    pub role: MessageRole,
    pub content: &'a str,
    pub images: i32,
    pub status: MessageStatus,
}

/// What a finished (or failed, or cancelled) turn stores on its answer.
pub struct FinishedAnswer {
    pub content: String,
    pub reasoning: Option<String>,
    pub tool_calls: Option<serde_json::Value>,
    /// The knowledge passages the answer was given (a JSON array), if any.
    pub citations: Option<serde_json::Value>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub latency_ms: Option<i32>,
}

/// The owner's live (not deleted) conversations, most recent first.
pub async fn list_for_user<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    limit: u64,
    offset: u64,
) -> Result<Vec<conversations::Model>, DbErr> {
    conversations::Entity::find()
        .filter(conversations::Column::OrgId.eq(org.0))
        .filter(conversations::Column::UserId.eq(user.0))
        .filter(conversations::Column::DeletedAt.is_null())
        .order_by_desc(conversations::Column::UpdatedAt)
        .order_by_desc(conversations::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await
}

/// A live conversation of this owner.
pub async fn find_for_user<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    id: ConversationId,
) -> Result<Option<conversations::Model>, DbErr> {
    conversations::Entity::find_by_id(id.0)
        .filter(conversations::Column::OrgId.eq(org.0))
        .filter(conversations::Column::UserId.eq(user.0))
        .filter(conversations::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// A live conversation of this owner by the client's tracking key (`/v1/chat`'s `session_id`).
pub async fn find_by_key<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    key: &str,
) -> Result<Option<conversations::Model>, DbErr> {
    conversations::Entity::find()
        .filter(conversations::Column::OrgId.eq(org.0))
        .filter(conversations::Column::UserId.eq(user.0))
        .filter(conversations::Column::SessionKey.eq(key))
        .filter(conversations::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// Stores a new conversation with a fresh id. With a tracking key, a conversation its owner
/// started with the same key meanwhile (a concurrent first turn) is answered instead.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: NewConversation,
) -> Result<conversations::Model, DbErr> {
    let now = ts(new.now);
    let keyed = new.tracking_key.is_some();
    let row = conversations::ActiveModel {
        id: Set(ConversationId::new().0),
        org_id: Set(new.org.0),
        user_id: Set(new.user.0),
        agent_id: Set(new.agent.map(|a| a.0)),
        title: Set(new.title),
        parent_id: Set(new.parent.map(|c| c.0)),
        branched_from_message_id: Set(new.branched_from.map(|m| m.0)),
        source: Set(new.source),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        session_key: Set(new.tracking_key),
    };
    if keyed {
        insert_keyed(db, row).await
    } else {
        row.insert(db).await
    }
}

/// Inserts a conversation with a tracking key, or nothing when its owner already has one with
/// that key (a concurrent first turn); then answers the one that holds the key.
async fn insert_keyed<C: ConnectionTrait>(
    db: &C,
    row: conversations::ActiveModel,
) -> Result<conversations::Model, DbErr> {
    let (Some(org), Some(user), Some(Some(key))) = (
        row.org_id.try_as_ref().copied(),
        row.user_id.try_as_ref().copied(),
        row.session_key.try_as_ref().cloned(),
    ) else {
        return Err(DbErr::Custom(
            "a keyed conversation needs its organisation, user and key".to_owned(),
        ));
    };
    conversations::Entity::insert(row)
        .on_conflict_do_nothing_on([
            conversations::Column::OrgId,
            conversations::Column::UserId,
            conversations::Column::SessionKey,
        ])
        .exec_without_returning(db)
        .await?;
    find_by_key(db, OrgId(org), UserId(user), &key)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("conversation".to_owned()))
}

/// Sets a conversation's title (and its `updated_at` to `now`).
pub async fn set_title<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: conversations::Model,
    title: String,
    now: DateTime<Utc>,
) -> Result<conversations::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("conversation".to_owned()));
    }
    let mut model: conversations::ActiveModel = row.into();
    model.title = Set(title);
    model.updated_at = Set(ts(now));
    super::update_in_org(db, model, conversations::Column::OrgId, org).await
}

pub async fn touch<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: ConversationId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    conversations::Entity::update_many()
        .col_expr(
            conversations::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(ts(now)),
        )
        .filter(conversations::Column::Id.eq(id.0))
        .filter(conversations::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages of a conversation, oldest first (all of them).
pub async fn messages<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    conversation: ConversationId,
) -> Result<Vec<messages::Model>, DbErr> {
    messages::Entity::find()
        .filter(messages::Column::OrgId.eq(org.0))
        .filter(messages::Column::ConversationId.eq(conversation.0))
        .order_by_asc(messages::Column::Seq)
        .all(db)
        .await
}

/// At most `limit` messages before `before_seq` (exclusive), newest first.
pub async fn messages_page<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    conversation: ConversationId,
    before_seq: Option<i32>,
    limit: u64,
) -> Result<Vec<messages::Model>, DbErr> {
    let mut q = messages::Entity::find()
        .filter(messages::Column::OrgId.eq(org.0))
        .filter(messages::Column::ConversationId.eq(conversation.0));
    if let Some(seq) = before_seq {
        q = q.filter(messages::Column::Seq.lt(seq));
    }
    q.order_by_desc(messages::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

pub async fn find_message<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: MessageId,
) -> Result<Option<messages::Model>, DbErr> {
    messages::Entity::find_by_id(id.0)
        .filter(messages::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// Appends a message with a fresh id (no reasoning, tool calls, model or feedback yet).
pub async fn insert_message<C: ConnectionTrait>(
    db: &C,
    new: NewMessage<'_>,
) -> Result<messages::Model, DbErr> {
    messages::ActiveModel {
        id: Set(MessageId::new().0),
        org_id: Set(new.org.0),
        conversation_id: Set(new.conversation.0),
        seq: Set(new.seq),
        role: Set(new.role.as_str().to_owned()),
        content: Set(new.content.to_owned()),
        reasoning: Set(None),
        tool_calls: Set(None),
        citations: Set(None),
        images: Set(new.images),
        status: Set(new.status.as_str().to_owned()),
        error: Set(None),
        model: Set(None),
        input_tokens: Set(None),
        output_tokens: Set(None),
        latency_ms: Set(None),
        feedback: Set(None),
        feedback_comment: Set(None),
        created_at: Set(ts(Utc::now())),
    }
    .insert(db)
    .await
}

/// Copies `messages` into the conversation `into`, renumbered from 0, with fresh ids and
/// without their feedback (a branch).
pub async fn copy_messages<C: ConnectionTrait>(
    db: &C,
    into: ConversationId,
    messages: Vec<messages::Model>,
) -> Result<(), DbErr> {
    for (seq, m) in messages.into_iter().enumerate() {
        let mut row: messages::ActiveModel = m.into();
        row.id = Set(MessageId::new().0);
        row.conversation_id = Set(into.0);
        row.seq = Set(i32::try_from(seq).unwrap_or(i32::MAX));
        row.feedback = Set(None);
        row.feedback_comment = Set(None);
        row.insert(db).await?;
    }
    Ok(())
}

/// Saves a message already known to belong to `org` after `change`.
async fn update_message<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: messages::Model,
    change: impl FnOnce(&mut messages::ActiveModel),
) -> Result<messages::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("message".to_owned()));
    }
    let mut model: messages::ActiveModel = row.into();
    change(&mut model);
    super::update_in_org(db, model, messages::Column::OrgId, org).await
}

/// Replaces a question's text (a guardrail decision let the caller's own words through).
pub async fn set_content<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: messages::Model,
    content: String,
) -> Result<messages::Model, DbErr> {
    update_message(db, org, row, |m| m.content = Set(content)).await
}

/// Sets (or clears) the rating (1 up, -1 down) and comment on an answer.
pub async fn set_feedback<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: messages::Model,
    rating: Option<i16>,
    comment: Option<String>,
) -> Result<messages::Model, DbErr> {
    update_message(db, org, row, |m| {
        m.feedback = Set(rating);
        m.feedback_comment = Set(comment);
    })
    .await
}

/// Stores what a turn produced on its answer message.
pub async fn finish_answer<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: messages::Model,
    answer: FinishedAnswer,
) -> Result<messages::Model, DbErr> {
    update_message(db, org, row, |m| {
        m.content = Set(answer.content);
        m.reasoning = Set(answer.reasoning);
        m.tool_calls = Set(answer.tool_calls);
        m.citations = Set(answer.citations);
        m.status = Set(answer.status.as_str().to_owned());
        m.error = Set(answer.error);
        m.model = Set(answer.model);
        m.input_tokens = Set(answer.input_tokens);
        m.output_tokens = Set(answer.output_tokens);
        m.latency_ms = Set(answer.latency_ms);
    })
    .await
}

/// Soft-deletes a conversation; its tracking key is freed for a new conversation.
pub async fn soft_delete<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: ConversationId,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut model = <conversations::ActiveModel as sea_orm::ActiveModelTrait>::default();
    model.deleted_at = Set(Some(ts(now)));
    model.session_key = Set(None);
    Ok(conversations::Entity::update_many()
        .set(model)
        .filter(conversations::Column::Id.eq(id.0))
        .filter(conversations::Column::OrgId.eq(org.0))
        .filter(conversations::Column::DeletedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}
