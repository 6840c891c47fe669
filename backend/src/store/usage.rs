use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::ts;
use crate::db::entities::usage_records;
use aerie_contract::ids::{OrgId, UserId};

pub async fn insert_many<C: ConnectionTrait>(
    db: &C,
    rows: Vec<usage_records::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    usage_records::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// A user's most recent records in `org`.
pub async fn recent_for_user<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: UserId,
    limit: u64,
) -> Result<Vec<usage_records::Model>, DbErr> {
    usage_records::Entity::find()
        .filter(usage_records::Column::OrgId.eq(org.0))
        .filter(usage_records::Column::UserId.eq(user.0))
        .order_by_desc(usage_records::Column::CreatedAt)
        .order_by_desc(usage_records::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Tokens (in + out) the organisation used since `since`.
pub async fn tokens_since<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    since: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let total: Option<i64> = usage_records::Entity::find()
        .select_only()
        .column_as(
            sea_orm::sea_query::Expr::cust(
                "CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT)",
            ),
            "total",
        )
        .filter(usage_records::Column::OrgId.eq(org.0))
        .filter(usage_records::Column::CreatedAt.gte(ts(since)))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.unwrap_or(0))
}
