//! Routes: an organisation's named policies for runs (docs/RUNS.md).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use crate::db::entities::routes::{self, Column as R, Entity as Routes};
use aerie_contract::ids::{OrgId, RouteId};

pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<routes::Model>, DbErr> {
    Routes::find()
        .filter(R::OrgId.eq(org.0))
        .order_by_asc(R::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: RouteId,
) -> Result<Option<routes::Model>, DbErr> {
    Routes::find_by_id(id.0)
        .filter(R::OrgId.eq(org.0))
        .one(db)
        .await
}

pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    name: &str,
) -> Result<Option<routes::Model>, DbErr> {
    Routes::find()
        .filter(R::OrgId.eq(org.0))
        .filter(R::Name.eq(name))
        .one(db)
        .await
}

/// Inserts `row` (a unique violation when the organisation has a route of that name).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: routes::Model,
) -> Result<routes::Model, DbErr> {
    row.into_active_model().reset_all().insert(db).await
}

/// Inserts `row` unless the organisation already has a route of its name (several requests may
/// create the `default` route at once): `true` when this call inserted it.
pub async fn insert_if_absent<C: ConnectionTrait>(
    db: &C,
    row: routes::Model,
) -> Result<bool, DbErr> {
    let inserted = Routes::insert(row.into_active_model().reset_all())
        .on_conflict_do_nothing_on([R::OrgId, R::Name])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(1)))
}

/// Saves every field of `row`, a route of `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: routes::Model,
) -> Result<routes::Model, DbErr> {
    super::update_in_org(db, row.into_active_model().reset_all(), R::OrgId, org).await
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: RouteId) -> Result<u64, DbErr> {
    Ok(Routes::delete_many()
        .filter(R::Id.eq(id.0))
        .filter(R::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}
