//! The audit trail as `GET /v1/audit` answers it (seed 003: "Retrieve run audit records with
//! optional filters": `principal`, `route`, `since`; docs/AUDIT.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One event of the organisation's audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub id: Uuid,
    /// Its place in the organisation's hash chain (1, 2, …); `null` for events written before
    /// the chain began.
    pub seq: Option<i64>,
    /// What happened, e.g. `user.login`, `api_key.created`, `plan.saved`.
    pub action: String,
    /// Who did it: the person, and the API key when they used one (`null` for the system).
    pub principal: AuditPrincipal,
    /// What it was done to, e.g. `user` and its id.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The client's address as the server saw it.
    pub ip: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// The chain's HMAC-SHA-256 over the previous event's hash and this event.
    pub hash: Option<String>,
}

/// Who an audit event names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditPrincipal {
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub api_key_id: Option<Uuid>,
}
