//! Categories of knowledge bases: named subsets of their documents, unique by slug in their
//! knowledge base.

use super::ts;
use crate::db::entities::knowledge_categories;
use aerie_contract::ids::{CategoryId, KbId, OrgId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

/// A category to store, as the service validated it.
pub struct NewCategory {
    pub org: OrgId,
    pub kb: KbId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub now: DateTime<Utc>,
}

/// The fields an update sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct CategoryChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub position: Option<i32>,
}

/// The categories of the knowledge bases `kbs` of `org`, in display order (position, then
/// name).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kbs: &[KbId],
) -> Result<Vec<knowledge_categories::Model>, DbErr> {
    if kbs.is_empty() {
        return Ok(Vec::new());
    }
    knowledge_categories::Entity::find()
        .filter(knowledge_categories::Column::OrgId.eq(org.0))
        .filter(knowledge_categories::Column::KbId.is_in(kbs.iter().map(|k| k.0)))
        .order_by_asc(knowledge_categories::Column::Position)
        .order_by_asc(knowledge_categories::Column::Name)
        .order_by_asc(knowledge_categories::Column::Id)
        .all(db)
        .await
}

/// The categories of public knowledge bases of any organisation (the marketplace); the caller
/// passes only ids it read as public.
pub async fn list_global<C: ConnectionTrait>(
    db: &C,
    kbs: &[KbId],
) -> Result<Vec<knowledge_categories::Model>, DbErr> {
    if kbs.is_empty() {
        return Ok(Vec::new());
    }
    knowledge_categories::Entity::find()
        .filter(knowledge_categories::Column::KbId.is_in(kbs.iter().map(|k| k.0)))
        .order_by_asc(knowledge_categories::Column::Position)
        .order_by_asc(knowledge_categories::Column::Name)
        .order_by_asc(knowledge_categories::Column::Id)
        .all(db)
        .await
}

/// A category of the knowledge base `kb` of `org`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    id: CategoryId,
) -> Result<Option<knowledge_categories::Model>, DbErr> {
    knowledge_categories::Entity::find_by_id(id.0)
        .filter(knowledge_categories::Column::OrgId.eq(org.0))
        .filter(knowledge_categories::Column::KbId.eq(kb.0))
        .one(db)
        .await
}

/// How many categories `kb` has, and the position after the last one.
pub async fn count_and_next_position<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
) -> Result<(u64, i32), DbErr> {
    let query = knowledge_categories::Entity::find()
        .filter(knowledge_categories::Column::OrgId.eq(org.0))
        .filter(knowledge_categories::Column::KbId.eq(kb.0));
    let count = query.clone().count(db).await?;
    let last: Option<i32> = query
        .select_only()
        .column(knowledge_categories::Column::Position)
        .order_by_desc(knowledge_categories::Column::Position)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok((count, last.map_or(0, |p| p.saturating_add(1))))
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: NewCategory,
) -> Result<knowledge_categories::Model, DbErr> {
    let now = ts(new.now);
    knowledge_categories::ActiveModel {
        id: Set(CategoryId::new().0),
        org_id: Set(new.org.0),
        kb_id: Set(new.kb.0),
        slug: Set(new.slug),
        name: Set(new.name),
        description: Set(new.description),
        position: Set(new.position),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: knowledge_categories::Model,
    changes: CategoryChanges,
    now: DateTime<Utc>,
) -> Result<knowledge_categories::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("category".to_owned()));
    }
    let mut m: knowledge_categories::ActiveModel = row.into();
    if let Some(v) = changes.slug {
        m.slug = Set(v);
    }
    if let Some(v) = changes.name {
        m.name = Set(v);
    }
    if let Some(v) = changes.description {
        m.description = Set(v);
    }
    if let Some(v) = changes.position {
        m.position = Set(v);
    }
    m.updated_at = Set(ts(now));
    super::update_in_org(db, m, knowledge_categories::Column::OrgId, org).await
}

/// Removes a category; its documents stay, uncategorised (the foreign key sets NULL).
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    id: CategoryId,
) -> Result<u64, DbErr> {
    Ok(knowledge_categories::Entity::delete_many()
        .filter(knowledge_categories::Column::Id.eq(id.0))
        .filter(knowledge_categories::Column::OrgId.eq(org.0))
        .filter(knowledge_categories::Column::KbId.eq(kb.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Removes every category of `kb` (the deletion job).
pub async fn delete_all<C: ConnectionTrait>(db: &C, org: OrgId, kb: KbId) -> Result<u64, DbErr> {
    Ok(knowledge_categories::Entity::delete_many()
        .filter(knowledge_categories::Column::OrgId.eq(org.0))
        .filter(knowledge_categories::Column::KbId.eq(kb.0))
        .exec(db)
        .await?
        .rows_affected)
}
