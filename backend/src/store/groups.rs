use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::ts;
use crate::db::entities::{group_members, groups};
use aerie_contract::ids::{GroupId, OrgId, UserId};

pub async fn list<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<Vec<groups::Model>, DbErr> {
    groups::Entity::find()
        .filter(groups::Column::OrgId.eq(org.0))
        .order_by_asc(groups::Column::Name)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: GroupId,
) -> Result<Option<groups::Model>, DbErr> {
    groups::Entity::find_by_id(id.0)
        .filter(groups::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<groups::Model, DbErr> {
    groups::ActiveModel {
        id: Set(GroupId::new().0),
        org_id: Set(org.0),
        name: Set(name.to_owned()),
        description: Set(description.to_owned()),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
    }
    .insert(db)
    .await
}

/// Renames a group already known to belong to `org` and/or changes its description.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    group: groups::Model,
    name: Option<String>,
    description: Option<String>,
    now: DateTime<Utc>,
) -> Result<groups::Model, DbErr> {
    if group.org_id != org.0 {
        return Err(DbErr::RecordNotFound("group".to_owned()));
    }
    let mut model: groups::ActiveModel = group.into();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    model.updated_at = Set(ts(now));
    super::update_in_org(db, model, groups::Column::OrgId, org).await
}

/// `group_id IN (SELECT id FROM groups WHERE id = group AND org_id = org)`: scopes a statement
/// on `group_members` (which has no organisation column) by organisation.
fn group_of_org(org: OrgId, group: GroupId) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::Query;
    group_members::Column::GroupId.in_subquery(
        Query::select()
            .column(groups::Column::Id)
            .from(groups::Entity)
            .and_where(groups::Column::Id.eq(group.0))
            .and_where(groups::Column::OrgId.eq(org.0))
            .to_owned(),
    )
}

pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: GroupId) -> Result<u64, DbErr> {
    group_members::Entity::delete_many()
        .filter(group_members::Column::GroupId.eq(id.0))
        .filter(group_of_org(org, id))
        .exec(db)
        .await?;
    Ok(groups::Entity::delete_many()
        .filter(groups::Column::Id.eq(id.0))
        .filter(groups::Column::OrgId.eq(org.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Members of the groups of `org` (pairs of group and user).
pub async fn members<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<(GroupId, UserId)>, DbErr> {
    let ids: Vec<uuid::Uuid> = list(db, org).await?.into_iter().map(|g| g.id).collect();
    Ok(group_members::Entity::find()
        .filter(group_members::Column::GroupId.is_in(ids))
        .order_by_asc(group_members::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|m| (GroupId(m.group_id), UserId(m.user_id)))
        .collect())
}

/// Adds `user` to a group of `org` (both checked by the caller); adding twice is harmless.
pub async fn add_member<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    group: GroupId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if find(db, org, group).await?.is_none() {
        return Err(DbErr::RecordNotFound("group".to_owned()));
    }
    let exists = group_members::Entity::find_by_id((group.0, user.0))
        .one(db)
        .await?
        .is_some();
    if !exists {
        group_members::ActiveModel {
            group_id: Set(group.0),
            user_id: Set(user.0),
            created_at: Set(ts(now)),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

pub async fn remove_member<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    group: GroupId,
    user: UserId,
) -> Result<u64, DbErr> {
    Ok(group_members::Entity::delete_many()
        .filter(group_members::Column::GroupId.eq(group.0))
        .filter(group_members::Column::UserId.eq(user.0))
        .filter(group_of_org(org, group))
        .exec(db)
        .await?
        .rows_affected)
}
