use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::db::entities::providers;
use aerie_contract::ids::{OrgId, ProviderId};

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

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: providers::ActiveModel,
) -> Result<providers::Model, DbErr> {
    row.insert(db).await
}

/// Saves a provider already known to belong to `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: providers::Model,
    change: impl FnOnce(&mut providers::ActiveModel),
) -> Result<providers::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("provider".to_owned()));
    }
    let mut model: providers::ActiveModel = row.into();
    change(&mut model);
    super::update_in_org(db, model, providers::Column::OrgId, org).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: ProviderId) -> Result<u64, DbErr> {
    Ok(providers::Entity::delete_many()
        .filter(providers::Column::Id.eq(id.0))
        .filter(providers::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}
