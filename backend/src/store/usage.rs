use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use super::ts;
use crate::db::entities::usage_records;
use aerie_contract::ids::{AgentId, ApiKeyId, OrgId, ProviderId, UsageId, UserId};
use aerie_contract::{CallEndpoint, CallStatus, UnknownValue, UsageGroup};

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
    pub credits: i64,
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
        credits: Set(r.credits),
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

/// The records of `org` (of one `user` when given) made in `[from, to)`.
fn in_range(
    org: OrgId,
    user: Option<UserId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Select<usage_records::Entity> {
    let mut q = usage_records::Entity::find()
        .filter(usage_records::Column::OrgId.eq(org.0))
        .filter(usage_records::Column::CreatedAt.gte(ts(from)))
        .filter(usage_records::Column::CreatedAt.lt(ts(to)));
    if let Some(user) = user {
        q = q.filter(usage_records::Column::UserId.eq(user.0));
    }
    q
}

/// The sums of one group of records: `(calls, input tokens, output tokens, credits)`.
pub type Sums = (i64, i64, i64, i64);

/// The records of `org` (of one `user`) in `[from, to)`, summed per group. The group's key is a
/// UTC day (`YYYY-MM-DD`) or a model id (text), or the id of a user, agent or key (`None`: calls
/// without one).
pub async fn sums<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: Option<UserId>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    by: UsageGroup,
) -> Result<Vec<(GroupKey, Sums)>, DbErr> {
    // SUM over BIGINT is NUMERIC in PostgreSQL: cast back, so both engines answer integers.
    let sum = |c: &str| Expr::cust(format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)"));
    let select = |key: Expr| {
        in_range(org, user, from, to)
            .select_only()
            .column_as(key, "k")
            .column_as(Expr::cust("COUNT(*)"), "n")
            .column_as(sum("input_tokens"), "i")
            .column_as(sum("output_tokens"), "o")
            .column_as(sum("credits"), "c")
            .group_by(Expr::cust("k"))
    };
    let by_id = |column: usage_records::Column| select(Expr::col(column));
    Ok(match by {
        UsageGroup::Day => {
            // Stored in UTC: SQLite keeps the time as text starting with the date.
            let day = match db.get_database_backend() {
                DatabaseBackend::Postgres => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
                _ => "substr(created_at, 1, 10)",
            };
            select(Expr::cust(day))
                .into_tuple::<(Option<String>, i64, i64, i64, i64)>()
                .all(db)
                .await?
                .into_iter()
                .map(|(k, n, i, o, c)| (GroupKey::Text(k.unwrap_or_default()), (n, i, o, c)))
                .collect()
        }
        UsageGroup::Model => select(Expr::col(usage_records::Column::Model))
            .into_tuple::<(String, i64, i64, i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(k, n, i, o, c)| (GroupKey::Text(k), (n, i, o, c)))
            .collect(),
        UsageGroup::User | UsageGroup::Agent | UsageGroup::Key => by_id(match by {
            UsageGroup::User => usage_records::Column::UserId,
            UsageGroup::Agent => usage_records::Column::AgentId,
            _ => usage_records::Column::ApiKeyId,
        })
        .into_tuple::<(Option<uuid::Uuid>, i64, i64, i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(k, n, i, o, c)| (GroupKey::Id(k), (n, i, o, c)))
        .collect(),
    })
}

/// A group of [`sums`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupKey {
    Text(String),
    Id(Option<uuid::Uuid>),
}

/// A page of the records of `org` (of one `user`) in `[from, to)`, oldest first, after the
/// record `after` (its time and id) when given: at most `limit`. The CSV export reads these
/// one after another, so no connection is held while a slow client reads.
pub async fn page_range<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    user: Option<UserId>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: u64,
) -> Result<Vec<usage_records::Model>, DbErr> {
    use sea_orm::Condition;
    use usage_records::Column as U;
    let mut q = in_range(org, user, from, to);
    if let Some((at, id)) = after {
        q = q.filter(
            Condition::any().add(U::CreatedAt.gt(ts(at))).add(
                Condition::all()
                    .add(U::CreatedAt.eq(ts(at)))
                    .add(U::Id.gt(id)),
            ),
        );
    }
    q.order_by_asc(U::CreatedAt)
        .order_by_asc(U::Id)
        .limit(limit)
        .all(db)
        .await
}
