//! Org-scoped queries over any connection or transaction. The only place with `QueryFilter`,
//! apart from the browser-session store (`backend/src/sessions.rs`).
//! Every function takes `(db, org, ...)`, except the few identity lookups that must find a user
//! or credential before an organisation is known; those say so in their name (`*_global`).

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod conversations;
pub mod documents;
pub mod groups;
pub mod guardrails;
pub mod idempotency;
pub mod invitations;
pub mod jobs;
pub mod knowledge_bases;
pub mod knowledge_categories;
pub mod orgs;
pub mod providers;
pub mod refresh_tokens;
pub mod routes;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod sso_domains;
pub mod usage;
pub mod users;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use aerie_contract::UnknownValue;
use aerie_contract::ids::OrgId;

/// The ids in a JSON array column (`agents.group_ids`, `knowledge_bases.group_ids`, …); a value
/// that is not an array of UUIDs reads as none.
pub fn id_list<T: From<uuid::Uuid>>(json: &serde_json::Value) -> Vec<T> {
    serde_json::from_value::<Vec<uuid::Uuid>>(json.clone())
        .unwrap_or_default()
        .into_iter()
        .map(T::from)
        .collect()
}

/// `ids` as a JSON array column.
pub fn id_json<T: Into<uuid::Uuid> + Copy>(ids: &[T]) -> serde_json::Value {
    serde_json::to_value(ids.iter().map(|i| (*i).into()).collect::<Vec<uuid::Uuid>>())
        .unwrap_or_default()
}

/// Timestamps are stored with their offset (always UTC here).
pub fn ts(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

pub fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

/// A stored value outside its kind's closed set, met inside a query: the database holds
/// something this build does not know (an internal error, as `backend/src/error.rs` makes of
/// [`UnknownValue`] elsewhere).
fn unknown(e: &UnknownValue) -> DbErr {
    DbErr::Type(format!("stored value: {e}"))
}

/// Saves `model` in one `UPDATE … WHERE <primary key> AND <org_column> = org`: a row of another
/// organisation is never written, whatever the caller checked before
/// (`DbErr::RecordNotUpdated`).
pub(crate) async fn update_in_org<A, C>(
    db: &C,
    model: A,
    org_column: <A::Entity as EntityTrait>::Column,
    org: OrgId,
) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
where
    A: ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    C: ConnectionTrait,
{
    <A::Entity as EntityTrait>::update(model)
        .validate()?
        .filter(org_column.eq(org.0))
        .exec(db)
        .await
}
