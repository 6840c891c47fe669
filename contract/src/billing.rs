//! Plans and the organisation's subscription with its credit quota (seed 000/001
//! `GET /v1/billings/plans/`, `GET /v1/billings/subscription/`; docs/BILLING.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A plan the operator offers. `null` credits or limits mean unlimited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Stable identifier (`community`, `pro`, `enterprise`, or the operator's own).
    pub slug: String,
    pub name: String,
    /// What the plan costs, as the operator words it (`Free`, `$20 per user per month`).
    pub price_label: String,
    /// Credits per billing period (a month); `null`: unlimited.
    pub monthly_credits: Option<i64>,
    /// Tokens each user may use per period; `null`: no per-user limit.
    pub monthly_tokens_per_user: Option<i64>,
    /// Requests per minute per API key and per user; `null`: unlimited.
    pub requests_per_minute: Option<i32>,
    /// Tokens per minute per API key and per user; `null`: unlimited.
    pub tokens_per_minute: Option<i64>,
    /// Features the plan includes.
    pub features: Vec<String>,
}

/// The balance of the current billing period. `credits_used + credits_reserved +
/// credits_remaining = credits_total` when the plan has a limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Quota {
    /// Credits of this period; `null`: unlimited.
    pub credits_total: Option<i64>,
    /// Credits charged for finished model calls.
    pub credits_used: i64,
    /// Credits held by model calls still running (their worst case).
    pub credits_reserved: i64,
    /// `null` when unlimited.
    pub credits_remaining: Option<i64>,
    /// Tokens of this period when the operator caps them (`AERIE_MONTHLY_TOKEN_QUOTA`); `null`:
    /// no token cap.
    pub tokens_total: Option<i64>,
    /// Tokens of finished model calls this period (input and output).
    pub tokens_used: i64,
    /// `null` when there is no token cap.
    pub tokens_remaining: Option<i64>,
}

/// `GET /v1/billings/subscription/`: the organisation's plan and where its period stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub plan: Plan,
    /// `active`.
    pub status: String,
    pub current_period_start: DateTime<Utc>,
    /// When the quota resets (the next period starts).
    pub current_period_end: DateTime<Utc>,
    pub current_quota: Quota,
    /// The caller's own tokens this period, when the plan limits tokens per person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub your_tokens: Option<PersonTokens>,
}

/// One person's tokens of the period (`Subscription::your_tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PersonTokens {
    /// The plan's tokens per person per period.
    pub tokens_total: i64,
    /// Tokens of the person's finished calls this period.
    pub tokens_used: i64,
    /// What is left (calls in progress hold part of it).
    pub tokens_remaining: i64,
}
