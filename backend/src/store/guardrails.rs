//! Guardrail policies and events (docs/GUARDRAILS.md).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::ts;
use crate::db::entities::{guardrail_events, guardrail_policies};
use aerie_contract::ids::OrgId;

/// `org`'s policy row, if it set one.
pub async fn policy<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Option<guardrail_policies::Model>, DbErr> {
    guardrail_policies::Entity::find_by_id(org.0).one(db).await
}

/// Writes `org`'s policy.
pub async fn save_policy<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    rules: serde_json::Value,
    scan_output: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use guardrail_policies::Column as P;
    let row = guardrail_policies::ActiveModel {
        org_id: Set(org.0),
        rules: Set(rules),
        scan_output: Set(scan_output),
        updated_at: Set(ts(now)),
    };
    guardrail_policies::Entity::insert(row)
        .on_conflict(
            OnConflict::column(P::OrgId)
                .update_columns([P::Rules, P::ScanOutput, P::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}

/// One finding to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub org: OrgId,
    pub at: DateTime<Utc>,
    pub user: Option<Uuid>,
    pub api_key: Option<Uuid>,
    pub route: String,
    pub direction: String,
    pub conversation: Option<Uuid>,
    pub message: Option<Uuid>,
    pub detector: String,
    pub pattern: Option<String>,
    pub action: String,
    pub preview: String,
}

/// Records findings (one statement).
pub async fn insert_events<C: ConnectionTrait>(db: &C, events: Vec<NewEvent>) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events.into_iter().map(|e| guardrail_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(e.org.0),
        created_at: Set(ts(e.at)),
        user_id: Set(e.user),
        api_key_id: Set(e.api_key),
        route: Set(e.route),
        direction: Set(e.direction),
        conversation_id: Set(e.conversation),
        message_id: Set(e.message),
        detector: Set(e.detector),
        pattern: Set(e.pattern),
        action: Set(e.action),
        preview: Set(e.preview),
    });
    guardrail_events::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map(drop)
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub user: Option<Uuid>,
    pub route: Option<String>,
    pub detector: Option<String>,
    pub action: Option<String>,
}

/// A page of `org`'s events matching `filter`, newest first, strictly before `before` (the
/// time and id of the last event of the previous page).
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    filter: &EventFilter,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<guardrail_events::Model>, DbErr> {
    use guardrail_events::Column as E;
    let mut q = guardrail_events::Entity::find().filter(E::OrgId.eq(org.0));
    if let Some(from) = filter.from {
        q = q.filter(E::CreatedAt.gte(ts(from)));
    }
    if let Some(to) = filter.to {
        q = q.filter(E::CreatedAt.lt(ts(to)));
    }
    if let Some(user) = filter.user {
        q = q.filter(E::UserId.eq(user));
    }
    if let Some(route) = &filter.route {
        q = q.filter(E::Route.eq(route.as_str()));
    }
    if let Some(detector) = &filter.detector {
        q = q.filter(E::Detector.eq(detector.as_str()));
    }
    if let Some(action) = &filter.action {
        q = q.filter(E::Action.eq(action.as_str()));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            Condition::any().add(E::CreatedAt.lt(ts(at))).add(
                Condition::all()
                    .add(E::CreatedAt.eq(ts(at)))
                    .add(E::Id.lt(id)),
            ),
        );
    }
    q.order_by_desc(E::CreatedAt)
        .order_by_desc(E::Id)
        .limit(limit)
        .all(db)
        .await
}
