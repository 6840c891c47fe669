use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::ts;
use crate::db::entities::{conversations, messages};
use aerie_contract::ids::{ConversationId, MessageId, OrgId, UserId};

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

/// Inserts a conversation with a tracking key, or nothing when its owner already has one with
/// that key (a concurrent first turn); then answers the one that holds the key.
pub async fn insert_keyed<C: ConnectionTrait>(
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

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: conversations::ActiveModel,
) -> Result<conversations::Model, DbErr> {
    row.insert(db).await
}

pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: conversations::Model,
    change: impl FnOnce(&mut conversations::ActiveModel),
) -> Result<conversations::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("conversation".to_owned()));
    }
    let mut model: conversations::ActiveModel = row.into();
    change(&mut model);
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

pub async fn insert_message<C: ConnectionTrait>(
    db: &C,
    row: messages::ActiveModel,
) -> Result<messages::Model, DbErr> {
    row.insert(db).await
}

pub async fn update_message<C: ConnectionTrait>(
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

/// Soft-deletes a conversation; its tracking key is freed for a new session.
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
