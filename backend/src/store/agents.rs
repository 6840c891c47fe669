use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::entities::agents;
use aerie_contract::ids::{AgentId, OrgId, ProviderId};

pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::OrgId.eq(org.0))
        .order_by_asc(agents::Column::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: AgentId,
) -> Result<Option<agents::Model>, DbErr> {
    agents::Entity::find_by_id(id.0)
        .filter(agents::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    name: &str,
) -> Result<Option<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::OrgId.eq(org.0))
        .filter(agents::Column::Name.eq(name))
        .one(db)
        .await
}

pub async fn using_provider<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    provider: ProviderId,
) -> Result<Vec<String>, DbErr> {
    agents::Entity::find()
        .select_only()
        .column(agents::Column::Name)
        .filter(agents::Column::OrgId.eq(org.0))
        .filter(agents::Column::ProviderId.eq(provider.0))
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Published public agents of every organisation (the marketplace is public by design).
pub async fn marketplace_global<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<agents::Model>, DbErr> {
    agents::Entity::find()
        .filter(agents::Column::Published.eq(true))
        .filter(agents::Column::Visibility.eq("public"))
        .order_by_desc(agents::Column::UpdatedAt)
        .limit(limit)
        .all(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: agents::ActiveModel,
) -> Result<agents::Model, DbErr> {
    row.insert(db).await
}

/// Saves an agent already known to belong to `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: agents::Model,
    change: impl FnOnce(&mut agents::ActiveModel),
) -> Result<agents::Model, DbErr> {
    if row.org_id != org.0 {
        return Err(DbErr::RecordNotFound("agent".to_owned()));
    }
    let mut model: agents::ActiveModel = row.into();
    change(&mut model);
    super::update_in_org(db, model, agents::Column::OrgId, org).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: AgentId) -> Result<u64, DbErr> {
    Ok(agents::Entity::delete_many()
        .filter(agents::Column::Id.eq(id.0))
        .filter(agents::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}
