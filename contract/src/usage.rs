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

/// Whose usage a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageScope {
    /// Everyone's in the organisation (an admin or owner asked).
    Organization,
    /// The caller's own (a member asked, or an admin named one person).
    User,
}

/// One group of a usage report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// The group: a day (`2026-12-05`), a model id, or a user's, agent's or key's id (empty
    /// for calls without an agent or without a key).
    pub key: String,
    /// What people read: the day, model, email, agent name or key name (`(no key)`, `(deleted)`).
    pub label: String,
    /// Model calls.
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Credits charged, at the price of each call's time.
    pub credits: i64,
}

/// `GET /api/usage`: the organisation's (or one person's) model calls over a range of UTC days,
/// grouped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// First day of the range (UTC).
    pub from: chrono::NaiveDate,
    /// Last day of the range, included.
    pub to: chrono::NaiveDate,
    pub group_by: crate::UsageGroup,
    pub scope: UsageScope,
    /// By day: every day of the range in order; otherwise the largest credits first.
    pub rows: Vec<UsageRow>,
    /// The sums of all rows (`key` and `label` are `total`).
    pub total: UsageRow,
}

/// The ranges the billing page offers (its server function turns one into days).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsagePeriod {
    /// The current billing period, to today.
    #[default]
    Current,
    Last7Days,
    Last30Days,
    Last90Days,
}

impl UsagePeriod {
    pub const ALL: [UsagePeriod; 4] = [
        UsagePeriod::Current,
        UsagePeriod::Last7Days,
        UsagePeriod::Last30Days,
        UsagePeriod::Last90Days,
    ];

    /// Days back from today, today included (`None`: the billing period).
    pub fn days(self) -> Option<u64> {
        match self {
            UsagePeriod::Current => None,
            UsagePeriod::Last7Days => Some(7),
            UsagePeriod::Last30Days => Some(30),
            UsagePeriod::Last90Days => Some(90),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsagePeriod::Current => "This period",
            UsagePeriod::Last7Days => "Last 7 days",
            UsagePeriod::Last30Days => "Last 30 days",
            UsagePeriod::Last90Days => "Last 90 days",
        }
    }

    /// The value of the page's `<select>`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsagePeriod::Current => "current",
            UsagePeriod::Last7Days => "last_7_days",
            UsagePeriod::Last30Days => "last_30_days",
            UsagePeriod::Last90Days => "last_90_days",
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or_default()
    }
}
