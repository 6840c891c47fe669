//! Knowledge bases (Egret's domains). Every reading but `find_any` skips deleted ones
//! (`deleted_at` set): from the moment of `DELETE` they are gone from every view, while the
//! `knowledge.delete` job removes what they held.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use super::ts;
use crate::db::entities::knowledge_bases;
use aerie_contract::agents::Visibility;
use aerie_contract::ids::{KbId, OrgId, ProviderId, UserId};

impl knowledge_bases::Model {
    /// Who can see it: the one reading of the stored `visibility` column. A value this build
    /// does not know reads as `private` (owner and admins only), as agents do.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or_default()
    }
}

/// A knowledge base to store, as the service validated it.
pub struct NewKnowledgeBase {
    pub org: OrgId,
    pub owner: UserId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub group_ids: Value,
    pub chunk_size: i32,
    pub chunk_overlap: i32,
    pub embedding_provider: Option<ProviderId>,
    pub embedding_model: String,
    pub embedding_dimensions: Option<i32>,
    pub now: DateTime<Utc>,
}

/// The fields an update sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct KnowledgeBaseChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub group_ids: Option<Value>,
    pub chunk_size: Option<i32>,
    pub chunk_overlap: Option<i32>,
    pub embedding_provider: Option<Option<ProviderId>>,
    pub embedding_model: Option<String>,
    pub embedding_dimensions: Option<Option<i32>>,
    /// The model of the live index generation (`Some(None)`: the settings' model).
    pub index_embedding: Option<Option<Value>>,
}

/// The slug a public knowledge base is found by across organisations, or none.
fn public_slug(visibility: Visibility, slug: &str) -> Option<String> {
    (visibility == Visibility::Public).then(|| slug.to_owned())
}

/// The live knowledge bases of `org`, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find()
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .order_by_asc(knowledge_bases::Column::Name)
        .order_by_asc(knowledge_bases::Column::Id)
        .all(db)
        .await
}

/// The ids of every knowledge base of `org`, deleted ones included (deleting the organisation
/// removes their vectors and files).
pub async fn ids_any<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<uuid::Uuid>, DbErr> {
    knowledge_bases::Entity::find()
        .select_only()
        .column(knowledge_bases::Column::Id)
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .into_tuple::<uuid::Uuid>()
        .all(db)
        .await
}

/// A live knowledge base of `org`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: KbId,
) -> Result<Option<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find_by_id(id.0)
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// A knowledge base of `org`, deleted or not (the deletion job's reading).
pub async fn find_any<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: KbId,
) -> Result<Option<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find_by_id(id.0)
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// A live knowledge base of `org` by its slug (stored lower-case).
pub async fn find_by_slug<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    slug: &str,
) -> Result<Option<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find()
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::Slug.eq(slug))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// Names of the live knowledge bases of `org` that embed with `provider`.
pub async fn using_provider<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    provider: ProviderId,
) -> Result<Vec<String>, DbErr> {
    knowledge_bases::Entity::find()
        .select_only()
        .column(knowledge_bases::Column::Name)
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::EmbeddingProviderId.eq(provider.0))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Public knowledge bases of every organisation, most recently changed first (the marketplace
/// and anonymous Egret clients read them; public by design).
pub async fn public_global<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find()
        .filter(knowledge_bases::Column::PublicSlug.is_not_null())
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .order_by_desc(knowledge_bases::Column::UpdatedAt)
        .order_by_asc(knowledge_bases::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The public knowledge base of any organisation whose slug is `slug`.
pub async fn find_public_by_slug_global<C: ConnectionTrait>(
    db: &C,
    slug: &str,
) -> Result<Option<knowledge_bases::Model>, DbErr> {
    knowledge_bases::Entity::find()
        .filter(knowledge_bases::Column::PublicSlug.eq(slug))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// Stores a new knowledge base with a fresh id.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: NewKnowledgeBase,
) -> Result<knowledge_bases::Model, DbErr> {
    let now = ts(new.now);
    knowledge_bases::ActiveModel {
        id: Set(KbId::new().0),
        org_id: Set(new.org.0),
        owner_id: Set(new.owner.0),
        public_slug: Set(public_slug(new.visibility, &new.slug)),
        slug: Set(new.slug),
        name: Set(new.name),
        description: Set(new.description),
        visibility: Set(new.visibility.as_str().to_owned()),
        group_ids: Set(new.group_ids),
        chunk_size: Set(new.chunk_size),
        chunk_overlap: Set(new.chunk_overlap),
        embedding_provider_id: Set(new.embedding_provider.map(|p| p.0)),
        embedding_model: Set(new.embedding_model),
        embedding_dimensions: Set(new.embedding_dimensions),
        index_generation: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        index_embedding: Set(None),
    }
    .insert(db)
    .await
}

/// Saves `changes` to a live knowledge base of `org`; `public_slug` follows the resulting slug
/// and visibility.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: knowledge_bases::Model,
    changes: KnowledgeBaseChanges,
    now: DateTime<Utc>,
) -> Result<knowledge_bases::Model, DbErr> {
    if row.org_id != org.0 || row.deleted_at.is_some() {
        return Err(DbErr::RecordNotFound("knowledge base".to_owned()));
    }
    let visibility = changes.visibility.unwrap_or_else(|| row.visibility());
    let slug = changes.slug.clone().unwrap_or_else(|| row.slug.clone());
    let mut m: knowledge_bases::ActiveModel = row.into();
    let KnowledgeBaseChanges {
        slug: new_slug,
        name,
        description,
        visibility: new_visibility,
        group_ids,
        chunk_size,
        chunk_overlap,
        embedding_provider,
        embedding_model,
        embedding_dimensions,
        index_embedding,
    } = changes;
    m.public_slug = Set(public_slug(visibility, &slug));
    if let Some(v) = new_slug {
        m.slug = Set(v);
    }
    if let Some(v) = name {
        m.name = Set(v);
    }
    if let Some(v) = description {
        m.description = Set(v);
    }
    if let Some(v) = new_visibility {
        m.visibility = Set(v.as_str().to_owned());
    }
    if let Some(v) = group_ids {
        m.group_ids = Set(v);
    }
    if let Some(v) = chunk_size {
        m.chunk_size = Set(v);
    }
    if let Some(v) = chunk_overlap {
        m.chunk_overlap = Set(v);
    }
    if let Some(v) = embedding_provider {
        m.embedding_provider_id = Set(v.map(|p| p.0));
    }
    if let Some(v) = embedding_model {
        m.embedding_model = Set(v);
    }
    if let Some(v) = embedding_dimensions {
        m.embedding_dimensions = Set(v);
    }
    if let Some(v) = index_embedding {
        m.index_embedding = Set(v);
    }
    m.updated_at = Set(ts(now));
    super::update_in_org(db, m, knowledge_bases::Column::OrgId, org).await
}

/// Marks it changed (a category changed): the marketplace orders by `updated_at`.
pub async fn touch<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: KbId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    knowledge_bases::Entity::update_many()
        .col_expr(knowledge_bases::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(knowledge_bases::Column::Id.eq(id.0))
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes `to` the live index generation of a live knowledge base whose live one is still
/// `from` (a reindex completing), built with the model `index_embedding`; returns whether it
/// switched.
pub async fn switch_generation<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: KbId,
    from: i32,
    to: i32,
    index_embedding: Value,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = knowledge_bases::Entity::update_many()
        .col_expr(knowledge_bases::Column::IndexGeneration, Expr::value(to))
        .col_expr(
            knowledge_bases::Column::IndexEmbedding,
            Expr::value(index_embedding),
        )
        .col_expr(knowledge_bases::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(knowledge_bases::Column::Id.eq(id.0))
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::IndexGeneration.eq(from))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Hides a live knowledge base from every view at once and frees its slug (`~<id>` cannot be a
/// slug: `~` is outside the pattern); the deletion job removes the row later. Returns whether a
/// live one was marked.
pub async fn mark_deleted<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: KbId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = knowledge_bases::Entity::update_many()
        .col_expr(knowledge_bases::Column::DeletedAt, Expr::value(ts(now)))
        .col_expr(
            knowledge_bases::Column::Slug,
            Expr::value(format!("~{}", id.0)),
        )
        .col_expr(
            knowledge_bases::Column::PublicSlug,
            Expr::value(Option::<String>::None),
        )
        .col_expr(knowledge_bases::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(knowledge_bases::Column::Id.eq(id.0))
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Removes the row for good (the deletion job's last step; categories and documents cascade).
pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: KbId) -> Result<u64, DbErr> {
    Ok(knowledge_bases::Entity::delete_many()
        .filter(knowledge_bases::Column::Id.eq(id.0))
        .filter(knowledge_bases::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deleted knowledge bases (of every organisation) marked before `cutoff`: the maintenance
/// net re-queues their deletion job.
pub async fn deleted_before_global<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(KbId, OrgId)>, DbErr> {
    Ok(knowledge_bases::Entity::find()
        .select_only()
        .column(knowledge_bases::Column::Id)
        .column(knowledge_bases::Column::OrgId)
        .filter(knowledge_bases::Column::DeletedAt.lt(ts(cutoff)))
        .limit(limit)
        .into_tuple::<(uuid::Uuid, uuid::Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, org)| (KbId(id), OrgId(org)))
        .collect())
}
