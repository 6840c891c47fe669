use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::refresh_tokens;
use aerie_contract::ids::{OrgId, UserId};

/// A refresh token by its hash, in any organisation: refreshing starts here.
pub async fn find_by_hash_global<C: ConnectionTrait>(
    db: &C,
    hash: &str,
) -> Result<Option<refresh_tokens::Model>, DbErr> {
    refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(hash))
        .one(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    family: Uuid,
    hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<refresh_tokens::Model, DbErr> {
    refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.0),
        user_id: Set(user.0),
        family_id: Set(family),
        token_hash: Set(hash.to_owned()),
        issued_at: Set(ts(now)),
        expires_at: Set(ts(expires_at)),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

/// Marks a token used, only if nobody used or revoked it first. True when this call won.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(ts(now)))
        .filter(refresh_tokens::Column::Id.eq(id))
        .filter(refresh_tokens::Column::OrgId.eq(org.0))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every token of a family (reuse detected, or logout).
pub async fn revoke_family<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(ts(now)))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::OrgId.eq(org.0))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deletes refresh tokens past their expiry, in every organisation (housekeeping).
pub async fn delete_expired_global<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(ts(now)))
        .exec(db)
        .await?
        .rows_affected)
}
