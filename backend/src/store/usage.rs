use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::ts;
use crate::db::entities::usage_records;
use aerie_contract::ids::{AgentId, ApiKeyId, OrgId, ProviderId, UsageId, UserId};
use aerie_contract::{CallEndpoint, CallStatus, UnknownValue};

impl usage_records::Model {
    /// The call's status: the one reading of the stored `status` column.
    pub fn status(&self) -> Result<CallStatus, UnknownValue> {
        self.status.parse()
    }

    /// The surface that made the call: the one reading of the stored `endpoint` column.
    pub fn endpoint(&self) -> Result<CallEndpoint, UnknownValue> {
        self.endpoint.parse()
    }
}

/// One usage record, its id and time taken when the call was recorded.
pub struct NewUsageRecord {
    pub id: UsageId,
    pub org: OrgId,
    pub user: Option<UserId>,
    pub api_key: Option<ApiKeyId>,
    pub agent: Option<AgentId>,
    pub provider: Option<ProviderId>,
    pub model: String,
    pub endpoint: CallEndpoint,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i32,
    pub status: CallStatus,
    pub created_at: DateTime<Utc>,
}

fn usage_row(r: NewUsageRecord) -> usage_records::ActiveModel {
    usage_records::ActiveModel {
        id: Set(r.id.0),
        org_id: Set(r.org.0),
        user_id: Set(r.user.map(|u| u.0)),
        api_key_id: Set(r.api_key.map(|k| k.0)),
        agent_id: Set(r.agent.map(|a| a.0)),
        provider_id: Set(r.provider.map(|p| p.0)),
        model: Set(r.model),
        endpoint: Set(r.endpoint.as_str().to_owned()),
        input_tokens: Set(r.input_tokens),
        output_tokens: Set(r.output_tokens),
        latency_ms: Set(r.latency_ms),
        status: Set(r.status.as_str().to_owned()),
        created_at: Set(ts(r.created_at)),
    }
}

/// Writes a batch of records in one statement.
pub async fn insert_many<C: ConnectionTrait>(
    db: &C,
    rows: Vec<NewUsageRecord>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    usage_records::Entity::insert_many(rows.into_iter().map(usage_row))
        .exec(db)
        .await?;
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
