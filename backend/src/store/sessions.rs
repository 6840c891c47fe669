//! Browser sessions (tower-sessions records, see `backend/src/sessions.rs`). The table has no
//! organisation: a session is found by its random id before anyone is known.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::ts;
use crate::db::entities::sessions;

fn row(id: String, data: String, expires_at: DateTime<Utc>) -> sessions::ActiveModel {
    sessions::ActiveModel {
        id: Set(id),
        data: Set(data),
        expires_at: Set(ts(expires_at)),
    }
}

/// Inserts a session unless its id is taken; answers how many rows were inserted (0 or 1).
pub async fn insert_new<C: ConnectionTrait>(
    db: &C,
    id: String,
    data: String,
    expires_at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    sessions::Entity::insert(row(id, data, expires_at))
        .on_conflict(
            OnConflict::column(sessions::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}

/// Inserts or replaces a session's data and expiry.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    id: String,
    data: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    sessions::Entity::insert(row(id, data, expires_at))
        .on_conflict(
            OnConflict::column(sessions::Column::Id)
                .update_columns([sessions::Column::Data, sessions::Column::ExpiresAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The data of a session that has not expired at `now`.
pub async fn find_live<C: ConnectionTrait>(
    db: &C,
    id: String,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    Ok(sessions::Entity::find_by_id(id)
        .filter(sessions::Column::ExpiresAt.gt(ts(now)))
        .one(db)
        .await?
        .map(|r| r.data))
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: String) -> Result<(), DbErr> {
    sessions::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Deletes the sessions expired at `now`; answers how many.
pub async fn purge_expired<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lt(ts(now)))
        .exec(db)
        .await?
        .rows_affected)
}
