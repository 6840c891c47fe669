use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::invitations;
use aerie_contract::ids::{OrgId, UserId};
use aerie_contract::{Role, UnknownValue};

impl invitations::Model {
    /// The role the invitation gives: the one reading of the stored `role` column (an unknown
    /// value is an error and grants nothing).
    pub fn role(&self) -> Result<Role, UnknownValue> {
        self.role.parse()
    }
}

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: Option<UserId>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    new: NewInvitation<'_>,
    now: DateTime<Utc>,
) -> Result<invitations::Model, DbErr> {
    invitations::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        email: Set(new.email.to_owned()),
        role: Set(new.role.as_str().to_owned()),
        token_hash: Set(new.token_hash.to_owned()),
        invited_by: Set(new.invited_by.map(|u| u.0)),
        created_at: Set(ts(now)),
        expires_at: Set(ts(new.expires_at)),
        used_at: Set(None),
    }
    .insert(db)
    .await
}

/// An invitation by its token hash, in any organisation: accepting starts here.
pub async fn find_by_hash_global<C: ConnectionTrait>(
    db: &C,
    hash: &str,
) -> Result<Option<invitations::Model>, DbErr> {
    invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(hash))
        .one(db)
        .await
}

/// Marks an invitation used, once. True when this call won.
pub async fn consume<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = invitations::Entity::update_many()
        .col_expr(invitations::Column::UsedAt, Expr::value(ts(now)))
        .filter(invitations::Column::Id.eq(id))
        .filter(invitations::Column::OrgId.eq(org.0))
        .filter(invitations::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// An unused, unexpired invitation of `org` for `email` (single sign-on accepts it).
pub async fn find_pending_for_email<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<invitations::Model>, DbErr> {
    invitations::Entity::find()
        .filter(invitations::Column::OrgId.eq(org.0))
        .filter(invitations::Column::Email.eq(email))
        .filter(invitations::Column::UsedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(ts(now)))
        .one(db)
        .await
}
