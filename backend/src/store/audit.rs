use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::audit_events;
use aerie_contract::ids::OrgId;

pub struct NewEvent<'a> {
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
}

/// Appends an event; `org` is `None` only for events before any organisation exists.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: Option<OrgId>,
    event: NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.map(|o| o.0)),
        actor_user_id: Set(event.actor_user_id),
        actor_api_key_id: Set(event.actor_api_key_id),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.map(str::to_owned)),
        target_id: Set(event.target_id),
        ip: Set(event.ip),
        details: Set(event.details),
        created_at: Set(ts(now)),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Events of `org`, newest first (tests read what a request recorded).
#[cfg(feature = "test-support")]
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<audit_events::Model>, DbErr> {
    use sea_orm::QueryOrder;
    audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org.0))
        .order_by_desc(audit_events::Column::CreatedAt)
        .order_by_desc(audit_events::Column::Id)
        .all(db)
        .await
}

/// Rows deleted per statement when purging, so that no single write holds the database long.
const PURGE_BATCH: u64 = 5_000;

/// Deletes the events of every organisation (and of none) recorded before `cutoff`, in
/// batches; returns how many.
pub async fn purge_before<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let mut purged = 0;
    loop {
        let ids: Vec<Uuid> = audit_events::Entity::find()
            .select_only()
            .column(audit_events::Column::Id)
            .filter(audit_events::Column::CreatedAt.lt(ts(cutoff)))
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(purged);
        }
        let batch = ids.len() as u64;
        purged += audit_events::Entity::delete_many()
            .filter(audit_events::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
        if batch < PURGE_BATCH {
            return Ok(purged);
        }
    }
}
