//! Agents: a system prompt on a provider's model, with parameters, tools and visibility.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AgentId, GroupId, KbId, ProviderId, UserId};

/// Who can see and use an agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its owner (and the organisation's admins).
    #[default]
    Private,
    /// Members of the listed groups.
    Groups,
    /// Everyone in the organisation.
    Organization,
    /// Everyone in the organisation, and listed in the public marketplace.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Groups => "groups",
            Visibility::Organization => "organization",
            Visibility::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "private" => Some(Visibility::Private),
            "groups" => Some(Visibility::Groups),
            "organization" | "organisation" | "org" => Some(Visibility::Organization),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// Sampling parameters sent to the model (absent: the upstream's default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AgentParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::option_u32"
    )]
    pub max_tokens: Option<u32>,
}

/// An agent as answered by `/api/agents…` and `GET /v1/agents`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub description: String,
    pub system_prompt: String,
    /// The provider whose model it uses (absent: the instance's configured provider).
    pub provider_id: Option<ProviderId>,
    /// The provider's model id.
    pub model: String,
    pub parameters: AgentParameters,
    /// Default of `reasoning_enabled` (the "💭 Thinking Process" block).
    pub reasoning_enabled: bool,
    /// Names of the built-in tools it may call (`calculator`, `current_time`, `http_get`).
    pub tools: Vec<String>,
    /// Knowledge bases it may search.
    pub knowledge_base_ids: Vec<KbId>,
    pub visibility: Visibility,
    /// The groups that see it when `visibility` is `groups`.
    pub group_ids: Vec<GroupId>,
    /// Listed in the marketplace.
    pub published: bool,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/agents`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewAgent {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub system_prompt: String,
    #[serde(default)]
    pub provider_id: Option<ProviderId>,
    pub model: String,
    #[serde(default, deserialize_with = "crate::object::required")]
    pub parameters: AgentParameters,
    #[serde(default)]
    pub reasoning_enabled: bool,
    #[serde(default)]
    pub tools: Vec<String>,
    #[serde(default)]
    pub knowledge_base_ids: Vec<KbId>,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
}

/// `PATCH /api/agents/{id}`: absent fields stay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateAgent {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[cfg_attr(feature = "server", schema(value_type = Option<ProviderId>))]
    pub provider_id: Option<Option<ProviderId>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "crate::object::optional")]
    pub parameters: Option<AgentParameters>,
    #[serde(default)]
    pub reasoning_enabled: Option<bool>,
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    #[serde(default)]
    pub knowledge_base_ids: Option<Vec<KbId>>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub group_ids: Option<Vec<GroupId>>,
}

/// `POST /api/agents/{id}/duplicate`: the copy's name (absent: "<name> (copy)").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DuplicateAgent {
    #[serde(default)]
    pub name: Option<String>,
}

/// A tool an agent can call, as resolved for the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AgentTool {
    pub name: String,
    pub title: String,
    pub description: String,
    /// JSON schema of its arguments.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub parameters: serde_json::Value,
    /// Enabled on this agent.
    pub enabled: bool,
}

/// A public agent in the marketplace (no prompt, no provider details).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MarketplaceAgent {
    pub id: AgentId,
    pub name: String,
    pub description: String,
    pub model: String,
    pub tools: Vec<String>,
    pub organization: String,
    pub updated_at: DateTime<Utc>,
}
