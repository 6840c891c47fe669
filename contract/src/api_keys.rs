//! API keys: shown once at creation or rotation, listed without their secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::ApiKeyId;
use super::kinds::ApiKeyStatus;

/// A key as listed: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    /// The public part of the key (`aerie_…`), enough to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// As of the answer.
    pub status: ApiKeyStatus,
    /// The key's own limit of requests per minute, in place of the plan's for the calls made
    /// with it (absent: the plan's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<i32>,
    /// The key's own limit of tokens per minute (absent: the plan's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<i64>,
}

/// A key with its secret, answered exactly once (create, rotate).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ApiKeyWithSecret {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The full key. Store it now: it cannot be shown again.
    pub key: String,
}

impl std::fmt::Debug for ApiKeyWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyWithSecret")
            .field("api_key", &self.api_key)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// `POST /v1/billings/api-keys/` and `POST /api/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    pub name: String,
    /// RFC 3339 time or date (`2027-01-31`), or a duration from now (`30d`, `12h`); absent: never.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The key's own requests per minute (absent: the plan's). Above the plan's takes an admin.
    #[serde(default)]
    pub requests_per_minute: Option<i32>,
    /// The key's own tokens per minute (absent: the plan's). Above the plan's takes an admin.
    #[serde(default)]
    pub tokens_per_minute: Option<i64>,
}

/// `PATCH /v1/billings/api-keys/{id}/update/`: each field present changes (`"expires_at":
/// "..."` sets, `null` clears; a limit's `null` goes back to the plan's), absent ones stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateApiKey {
    #[serde(default, deserialize_with = "super::present")]
    pub expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub requests_per_minute: Option<Option<i32>>,
    #[serde(default, deserialize_with = "super::present")]
    pub tokens_per_minute: Option<Option<i64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_and_absent_is_missing() {
        let clear: UpdateApiKey = serde_json::from_str(r#"{"expires_at": null}"#).unwrap();
        assert_eq!(clear.expires_at, Some(None));
        let set: UpdateApiKey = serde_json::from_str(r#"{"expires_at": "30d"}"#).unwrap();
        assert_eq!(set.expires_at, Some(Some("30d".to_owned())));
        let absent: UpdateApiKey = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.expires_at, None);
    }
}
