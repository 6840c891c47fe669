//! Usage records (`GET /v1/logs`) and the token balance (`GET /v1/auth/profile`), seed 002.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AgentId, ApiKeyId, UsageId, UserId};
use super::kinds::{CallEndpoint, CallStatus};

/// One model call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UsageLog {
    pub id: UsageId,
    pub created_at: DateTime<Utc>,
    /// The upstream model id.
    pub model_id: String,
    pub agent_id: Option<AgentId>,
    pub user_id: Option<UserId>,
    pub api_key_id: Option<ApiKeyId>,
    /// Which surface made the call.
    pub endpoint: CallEndpoint,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i64,
    /// How the call ended.
    pub status: CallStatus,
}

/// `GET /v1/auth/profile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Profile {
    pub email: String,
    pub name: String,
    pub organization: String,
    /// The organisation's plan (`community`, ...).
    pub subscription_tier: String,
    /// Tokens the organisation may use this billing period: the operator's token cap, else what
    /// the plan's credits buy at the default price; `null`: unlimited.
    pub monthly_token_quota: Option<i64>,
    pub used_monthly_tokens: i64,
    /// `null` when unlimited.
    pub remaining_monthly_tokens: Option<i64>,
    /// When the period's quota resets (`current_period_end` of `/v1/billings/subscription/`).
    pub quota_resets_at: DateTime<Utc>,
}
