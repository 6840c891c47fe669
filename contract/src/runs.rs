//! Routes and governed runs (seed 003, docs/RUNS.md): a route is an organisation's named policy
//! — what answers (an agent or a model), when an approver must agree first, who approves, the
//! guardrails and limits — and a run is one governed execution of it: `POST /v1/runs`,
//! `GET /v1/runs/{id}`, `POST /v1/runs/{id}/resume`. `/v1/chat/completions` takes a route's
//! name as `model` (`default` exists in every organisation).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::Usage;
use crate::guardrails::{DlpFinding, GuardrailPolicy};
use crate::ids::{AgentId, ApiKeyId, GroupId, RouteId, RunId, UserId};
use crate::kinds::{ApprovalMode, RunDecision, RunStatus};

/// The route every organisation has from the start (it answers with the organisation's default
/// model until an admin points it elsewhere).
pub const DEFAULT_ROUTE: &str = "default";

/// An organisation's named policy for runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Route {
    pub id: RouteId,
    /// What `route` (runs) and `model` (`/v1/chat/completions`) name it by; unique in the
    /// organisation.
    pub name: String,
    pub description: String,
    /// The agent that answers (else `model`).
    pub agent_id: Option<AgentId>,
    /// A provider model (as `GET /v1/models` lists it) that answers when no agent is set; with
    /// neither, the organisation's first provider model.
    pub model: Option<String>,
    pub approval: ApprovalMode,
    /// With `approval: above_cost`: runs whose worst-case cost exceeds this many credits wait.
    pub approval_cost_above: Option<i64>,
    /// Who approves the route's runs when a run names no approvers (with none here either: the
    /// organisation's admins and owners).
    pub approver_user_ids: Vec<UserId>,
    pub approver_group_ids: Vec<GroupId>,
    /// A paused run no approver decided on within this many minutes is blocked.
    pub approval_timeout_minutes: u32,
    /// The route's own guardrail policy (`null`: the organisation's).
    pub guardrails: Option<GuardrailPolicy>,
    /// The most tokens an answer may have (`null`: the instance's limit).
    pub max_output_tokens: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/routes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRoute {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub approval: ApprovalMode,
    #[serde(default)]
    pub approval_cost_above: Option<i64>,
    #[serde(default)]
    pub approver_user_ids: Vec<UserId>,
    #[serde(default)]
    pub approver_group_ids: Vec<GroupId>,
    /// Default 60.
    #[serde(default)]
    pub approval_timeout_minutes: Option<u32>,
    #[serde(default, deserialize_with = "crate::object::optional")]
    pub guardrails: Option<GuardrailPolicy>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
}

/// `PATCH /api/routes/{id}`: absent fields stay; `null` clears a nullable one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateRoute {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<AgentId>))]
    pub agent_id: Option<Option<AgentId>>,
    #[serde(
        default,
        deserialize_with = "crate::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub model: Option<Option<String>>,
    #[serde(default)]
    pub approval: Option<ApprovalMode>,
    #[serde(
        default,
        deserialize_with = "crate::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<i64>))]
    pub approval_cost_above: Option<Option<i64>>,
    #[serde(default)]
    pub approver_user_ids: Option<Vec<UserId>>,
    #[serde(default)]
    pub approver_group_ids: Option<Vec<GroupId>>,
    #[serde(default)]
    pub approval_timeout_minutes: Option<u32>,
    #[serde(
        default,
        deserialize_with = "present_object",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<GuardrailPolicy>))]
    pub guardrails: Option<Option<GuardrailPolicy>>,
    #[serde(
        default,
        deserialize_with = "crate::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<u32>))]
    pub max_output_tokens: Option<Option<u32>>,
}

/// A present field holding `null` or a JSON object.
fn present_object<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    crate::object::optional(d).map(Some)
}

/// Who wrote a message of a run's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunRole {
    System,
    Developer,
    User,
    Assistant,
}

impl RunRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RunRole::System => "system",
            RunRole::Developer => "developer",
            RunRole::User => "user",
            RunRole::Assistant => "assistant",
        }
    }

    /// The role an OpenAI message's `role` names, if a run can hold it.
    pub fn parse(s: &str) -> Option<RunRole> {
        [
            RunRole::System,
            RunRole::Developer,
            RunRole::User,
            RunRole::Assistant,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// One message of a run's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunMessage {
    pub role: RunRole,
    pub content: String,
}

/// `POST /v1/runs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CreateRun {
    pub messages: Vec<RunMessage>,
    /// The route's name; default `default`.
    #[serde(default)]
    pub route: Option<String>,
    /// `true`: answer `pending` at once and run as a job (poll `GET /v1/runs/{id}`); `false`:
    /// answer when the run has ended or paused.
    #[serde(default)]
    pub background: bool,
    /// Who may approve this run if it must wait: people (id or email) and groups (id or name)
    /// of the organisation. Empty: the route's approvers.
    #[serde(default)]
    pub approvers: Vec<String>,
}

/// Someone who may approve a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunApprover {
    /// `user` or `group`.
    pub kind: String,
    pub id: uuid::Uuid,
    /// The person's email or the group's name.
    pub name: String,
}

/// One change of a run's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunTransition {
    pub status: RunStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
    /// Who caused it, when a person did (an approver's decision).
    pub by: Option<UserId>,
}

/// What an approver decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunApproval {
    pub decision: RunDecision,
    pub by: UserId,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// Why a run ended in `error` or `blocked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunError {
    /// An error code of the API's table (e.g. `GUARD-001`).
    pub code: String,
    pub message: String,
}

/// A governed run (seed 003's fields first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Run {
    pub run_id: RunId,
    pub status: RunStatus,
    /// The answer, once `completed`.
    pub response: Option<String>,
    pub usage: Option<Usage>,
    /// The route's name.
    pub route: String,
    pub background: bool,
    pub messages: Vec<RunMessage>,
    /// Who asked for the run.
    pub user_id: UserId,
    /// Their email (`null` once they left the organisation).
    pub requested_by: Option<String>,
    pub api_key_id: Option<ApiKeyId>,
    pub approvers: Vec<RunApprover>,
    pub approval: Option<RunApproval>,
    /// What the guardrails found in the input (masked).
    pub findings: Vec<DlpFinding>,
    /// The worst-case cost in credits, as estimated before the run.
    pub estimated_cost: i64,
    pub error: Option<RunError>,
    /// When a paused run stops waiting.
    pub expires_at: Option<DateTime<Utc>>,
    pub transitions: Vec<RunTransition>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/runs/{id}/resume`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ResumeRun {
    pub decision: RunDecision,
    #[serde(default)]
    pub comment: String,
}

/// A page of runs, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RunPage {
    pub runs: Vec<Run>,
    pub next_cursor: Option<String>,
}
