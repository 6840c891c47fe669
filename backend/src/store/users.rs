use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::ts;
use crate::actor::Role;
use crate::db::entities::{memberships, users};
use aerie_contract::ids::{OrgId, UserId};
use aerie_contract::{UnknownValue, UserStatus};

impl users::Model {
    /// The account's status: the one reading of the stored `status` column (an unknown value
    /// is an error, never a guess).
    pub fn status(&self) -> Result<UserStatus, UnknownValue> {
        self.status.parse()
    }
}

impl memberships::Model {
    /// The member's role: the one reading of the stored `role` column (an unknown value is an
    /// error and grants nothing).
    pub fn role(&self) -> Result<Role, UnknownValue> {
        self.role.parse()
    }
}

/// Finds a user by (lower-cased) email, in any organisation: login starts here.
pub async fn find_by_email_global<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await
}

/// A user and their membership, only if they belong to `org`.
pub async fn find_member<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
) -> Result<Option<(users::Model, memberships::Model)>, DbErr> {
    let membership = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::UserId.eq(user.0))
        .one(db)
        .await?;
    let Some(membership) = membership else {
        return Ok(None);
    };
    Ok(users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .map(|u| (u, membership)))
}

/// Whether `user` is the instance operator.
pub async fn is_operator_global<C: ConnectionTrait>(db: &C, user: UserId) -> Result<bool, DbErr> {
    Ok(users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .is_some_and(|u| u.is_operator))
}

/// Makes `user` an instance operator or not; says whether the user exists.
pub async fn set_operator_global<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    operator: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let result = users::Entity::update_many()
        .col_expr(users::Column::IsOperator, Expr::value(operator))
        .col_expr(users::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(users::Column::Id.eq(user.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A user and their membership of `org`, and whether `org` is suspended (authentication reads
/// the three in two statements).
pub async fn find_member_standing<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
) -> Result<Option<(users::Model, memberships::Model, bool)>, DbErr> {
    use crate::db::entities::organizations;
    let found = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::UserId.eq(user.0))
        .find_also_related(organizations::Entity)
        .one(db)
        .await?;
    let Some((membership, org)) = found else {
        return Ok(None);
    };
    let suspended = org.is_none_or(|o| o.suspended_at.is_some());
    Ok(users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .map(|u| (u, membership, suspended)))
}

/// The organisation a user signs in to by default: their oldest membership.
pub async fn first_membership_global<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> Result<Option<memberships::Model>, DbErr> {
    memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.0))
        .order_by_asc(memberships::Column::CreatedAt)
        .one(db)
        .await
}

/// The oldest owner of `org`.
pub async fn first_owner<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Option<memberships::Model>, DbErr> {
    memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .order_by_asc(memberships::Column::CreatedAt)
        .one(db)
        .await
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<String>,
    pub role: Role,
}

/// Creates a user and their membership of `org`.
pub async fn insert_member<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<(users::Model, memberships::Model), DbErr> {
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.to_owned()),
        name: Set(new.name.to_owned()),
        avatar_url: Set(None),
        language: Set("en".to_owned()),
        password_hash: Set(new.password_hash),
        status: Set(UserStatus::Active.as_str().to_owned()),
        created_at: Set(ts(now)),
        updated_at: Set(ts(now)),
        deleted_at: Set(None),
        is_operator: Set(false),
    }
    .insert(db)
    .await?;
    let membership = memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        user_id: Set(user.id),
        role: Set(new.role.as_str().to_owned()),
        created_at: Set(ts(now)),
    }
    .insert(db)
    .await?;
    Ok((user, membership))
}

/// The fields an update sets (`None`: unchanged); `updated_at` is always set.
#[derive(Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub language: Option<String>,
    pub status: Option<UserStatus>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Saves `changes` to a user known to be a member of `org`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: users::Model,
    changes: UserChanges,
    now: DateTime<Utc>,
) -> Result<users::Model, DbErr> {
    let id = user.id;
    let mut model: users::ActiveModel = user.into();
    if let Some(name) = changes.name {
        model.name = Set(name);
    }
    if let Some(avatar) = changes.avatar_url {
        model.avatar_url = Set(avatar);
    }
    if let Some(language) = changes.language {
        model.language = Set(language);
    }
    if let Some(status) = changes.status {
        model.status = Set(status.as_str().to_owned());
    }
    if let Some(at) = changes.deleted_at {
        model.deleted_at = Set(Some(ts(at)));
    }
    model.updated_at = Set(ts(now));
    if find_member(db, org, UserId(id)).await?.is_none() {
        return Err(DbErr::RecordNotFound("user".to_owned()));
    }
    // Users have no organisation column: the statement itself requires the membership.
    users::Entity::update(model)
        .validate()?
        .filter(
            users::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(memberships::Column::UserId)
                    .from(memberships::Entity)
                    .and_where(memberships::Column::OrgId.eq(org.0))
                    .and_where(memberships::Column::UserId.eq(id))
                    .to_owned(),
            ),
        )
        .exec(db)
        .await
}

/// Sets the status of a user just created by signup (waitlisted), by id, without touching
/// `updated_at`.
pub async fn set_signup_status<C: ConnectionTrait>(
    db: &C,
    user: users::Model,
    status: UserStatus,
) -> Result<users::Model, DbErr> {
    let mut model: users::ActiveModel = user.into();
    model.status = Set(status.as_str().to_owned());
    model.update(db).await
}

/// Every member of `org` (deleted ones excluded), oldest first; only those with `status` when
/// it is given.
pub async fn list_members<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    status: Option<UserStatus>,
) -> Result<Vec<(users::Model, memberships::Model)>, DbErr> {
    let members = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org.0))
        .order_by_asc(memberships::Column::CreatedAt)
        .find_also_related(users::Entity)
        .all(db)
        .await?;
    Ok(members
        .into_iter()
        .filter_map(|(m, u)| u.map(|u| (u, m)))
        .filter(|(u, _)| u.status() != Ok(UserStatus::Deleted))
        .filter(|(u, _)| status.is_none_or(|s| u.status() == Ok(s)))
        .collect())
}

/// How many accounts the instance holds (deleted ones excluded): a licence's seats.
pub async fn count_global<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    users::Entity::find()
        .filter(users::Column::Status.ne(UserStatus::Deleted.as_str()))
        .count(db)
        .await
}

/// How many active owners `org` has.
pub async fn count_active_owners<C: ConnectionTrait>(db: &C, org: OrgId) -> Result<usize, DbErr> {
    Ok(list_members(db, org, Some(UserStatus::Active))
        .await?
        .iter()
        .filter(|(_, m)| m.role() == Ok(Role::Owner))
        .count())
}

/// Changes a member's role.
pub async fn set_role<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    role: Role,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    memberships::Entity::update_many()
        .col_expr(memberships::Column::Role, Expr::value(role.as_str()))
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::UserId.eq(user.0))
        .exec(db)
        .await
        .map(|_| ())
}
