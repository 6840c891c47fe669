//! Settings of the whole instance (`instance_settings`), above every organisation: the applied
//! licence. Instance-wide by nature, so every function is `*_global`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

use super::ts;
use crate::db::entities::instance_settings;
use aerie_contract::ids::UserId;

/// The setting `name`, when set.
pub async fn get_global<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<instance_settings::Model>, DbErr> {
    instance_settings::Entity::find_by_id(name.to_owned())
        .one(db)
        .await
}

/// Sets `name` to `value` (replacing what it held).
pub async fn put_global<C: ConnectionTrait>(
    db: &C,
    name: &str,
    value: &str,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = instance_settings::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value.to_owned()),
        updated_at: Set(ts(now)),
        updated_by: Set(by.map(|u| u.0)),
    };
    instance_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(instance_settings::Column::Name)
                .update_columns([
                    instance_settings::Column::Value,
                    instance_settings::Column::UpdatedAt,
                    instance_settings::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Removes `name`; true when it was set.
pub async fn delete_global<C: ConnectionTrait>(db: &C, name: &str) -> Result<bool, DbErr> {
    let r = instance_settings::Entity::delete_by_id(name.to_owned())
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}
