use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryOrder, Set,
};
use uuid::Uuid;

use super::ts;
use crate::backend::db::entities::organizations;
use crate::contract::ids::OrgId;

/// How many organisations exist (0 means the instance is not set up).
pub async fn count_global<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    organizations::Entity::find().count(db).await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find_by_id(org.0).one(db).await
}

/// The oldest organisation (the one `aerie dev` and single-organisation installs act in).
pub async fn first_global<C: ConnectionTrait>(
    db: &C,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .order_by_asc(organizations::Column::CreatedAt)
        .one(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<organizations::Model, DbErr> {
    organizations::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        allowed_domains: Set(serde_json::json!([])),
        plan: Set("community".to_owned()),
        signup_mode: Set("invite_only".to_owned()),
        settings: Set(serde_json::json!({})),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
    }
    .insert(db)
    .await
}
