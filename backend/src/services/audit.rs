//! The audit trail: append-only events with actor (user and key), IP, time and details.

use chrono::Utc;
use sea_orm::ConnectionTrait;

use crate::Result;
use crate::actor::{Actor, Identity};
use crate::store;
use crate::store::audit::NewEvent;
use aerie_contract::ids::OrgId;

/// What happened to what.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            target_type: None,
            target_id: None,
            details: serde_json::json!({}),
        }
    }

    pub fn target(mut self, kind: &'a str, id: impl ToString) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Records `event` by `actor` in `org` (inside the caller's transaction when given one).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    org: Option<OrgId>,
    actor: &Actor,
    event: Event<'_>,
) -> Result<()> {
    let (user, key) = match &actor.identity {
        Identity::User(p) => (Some(p.user_id.0), p.api_key_id().map(|k| k.0)),
        _ => (None, None),
    };
    store::audit::insert(
        db,
        org,
        NewEvent {
            actor_user_id: user,
            actor_api_key_id: key,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            ip: actor.ip_string(),
            details: event.details,
        },
        Utc::now(),
    )
    .await?;
    Ok(())
}
