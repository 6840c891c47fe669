use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::Value;

use super::ts;
use crate::db::entities::providers;
use aerie_contract::ids::{OrgId, ProviderId};

/// An OpenAI-compatible provider to store; its API key already sealed.
pub struct NewProvider {
    pub org: OrgId,
    pub name: String,
    pub base_url: String,
    pub api_key_enc: Option<String>,
    pub api_key_hint: Option<String>,
    pub models: Value,
    pub timeout_secs: i32,
    pub now: DateTime<Utc>,
}

/// The fields an update sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct ProviderChanges {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub models: Option<Value>,
    pub timeout_secs: Option<i32>,
    /// `Some(None)` removes the key; `Some(Some((sealed, hint)))` replaces it.
    pub api_key: Option<Option<(String, String)>>,
}

pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<providers::Model>, DbErr> {
    providers::Entity::find()
        .filter(providers::Column::OrgId.eq(org.0))
        .order_by_asc(providers::Column::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: ProviderId,
) -> Result<Option<providers::Model>, DbErr> {
    providers::Entity::find_by_id(id.0)
        .filter(providers::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// Stores a new provider with a fresh id.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: NewProvider,
) -> Result<providers::Model, DbErr> {
    let now = ts(new.now);
    providers::ActiveModel {
        id: Set(ProviderId::new().0),
        org_id: Set(new.org.0),
        name: Set(new.name),
        kind: Set("openai_compatible".to_owned()),
        base_url: Set(new.base_url),
        api_key_enc: Set(new.api_key_enc),
        api_key_hint: Set(new.api_key_hint),
        models: Set(new.models),
        timeout_secs: Set(new.timeout_secs),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Saves `changes` to a provider already known to belong to `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: providers::Model,
    changes: ProviderChanges,
    now: DateTime<Utc>,
) -> Result<providers::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("provider".to_owned()));
    }
    let mut m: providers::ActiveModel = row.into();
    if let Some(n) = changes.name {
        m.name = Set(n);
    }
    if let Some(u) = changes.base_url {
        m.base_url = Set(u);
    }
    if let Some(models) = changes.models {
        m.models = Set(models);
    }
    if let Some(t) = changes.timeout_secs {
        m.timeout_secs = Set(t);
    }
    match changes.api_key {
        None => {}
        Some(None) => {
            m.api_key_enc = Set(None);
            m.api_key_hint = Set(None);
        }
        Some(Some((sealed, hint))) => {
            m.api_key_enc = Set(Some(sealed));
            m.api_key_hint = Set(Some(hint));
        }
    }
    m.updated_at = Set(ts(now));
    super::update_in_org(db, m, providers::Column::OrgId, org).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: ProviderId) -> Result<u64, DbErr> {
    Ok(providers::Entity::delete_many()
        .filter(providers::Column::Id.eq(id.0))
        .filter(providers::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}
