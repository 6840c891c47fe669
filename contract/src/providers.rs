//! Providers: upstream OpenAI-compatible LLM endpoints an organisation connects. The secret goes
//! in, never out: answers carry only whether one is set and its last characters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::ProviderId;

/// A model a provider serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ProviderModel {
    /// The upstream's model id, e.g. `gpt-4o-mini` or `llama3.1:8b`.
    pub id: String,
    /// Accepts images (vision content parts).
    #[serde(default)]
    pub vision: bool,
}

/// A provider as answered (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Provider {
    pub id: ProviderId,
    pub name: String,
    /// `openai_compatible`.
    pub kind: String,
    /// The API base, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// True when a secret is stored.
    pub has_api_key: bool,
    /// The last four characters of the secret (`…abcd`), to recognise it.
    pub api_key_hint: Option<String>,
    pub models: Vec<ProviderModel>,
    /// Seconds to wait for the upstream's first byte and between stream chunks.
    pub timeout_secs: u32,
    /// `organization` (set by an admin) or `configuration` (AERIE_OPENAI_*; read-only).
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/providers`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewProvider {
    pub name: String,
    pub base_url: String,
    /// The upstream's API key (stored encrypted; never answered).
    #[serde(default)]
    pub api_key: Option<String>,
    /// The models to offer; absent or empty: discovered from the upstream's `GET /models`.
    #[serde(default)]
    pub models: Option<Vec<ProviderModel>>,
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub timeout_secs: Option<u32>,
}

impl std::fmt::Debug for NewProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewProvider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("models", &self.models)
            .finish()
    }
}

/// `PATCH /api/providers/{id}`: absent fields stay; `"api_key": null` removes the secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateProvider {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub api_key: Option<Option<String>>,
    #[serde(default)]
    pub models: Option<Vec<ProviderModel>>,
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub timeout_secs: Option<u32>,
}

impl std::fmt::Debug for UpdateProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateProvider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("models", &self.models)
            .finish()
    }
}

/// `POST /api/providers/{id}/test`: what the upstream answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ProviderCheck {
    pub ok: bool,
    /// The model ids the upstream lists.
    pub models: Vec<String>,
    pub detail: String,
    pub latency_ms: u64,
}
