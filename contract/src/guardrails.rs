//! Guardrails (docs/GUARDRAILS.md): an organisation's policy — what each detector does with what
//! it finds in a prompt (and, when asked, in an answer) — and the findings it recorded (seed
//! 004: `GET /api/guardrails/events`, `.csv`, `POST /api/chat/:msgId/dlp-decision`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ApiKeyId, ConversationId, MessageId, UserId};
use crate::kinds::{CallEndpoint, GuardrailAction, GuardrailDetector};

/// What one built-in detector does with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardrailRule {
    /// Not `custom`: an organisation's own patterns are in `patterns`.
    pub detector: GuardrailDetector,
    pub action: GuardrailAction,
}

/// An organisation's own pattern (a regular expression, Rust `regex` syntax: no look-around or
/// back-references, so matching is linear in the text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardrailPattern {
    /// Names the pattern in events and in `[REDACTED:<name>]`.
    pub name: String,
    pub pattern: String,
    pub action: GuardrailAction,
}

/// An organisation's guardrail policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardrailPolicy {
    /// The built-in detectors that are on, each with its action (a detector not listed is off).
    pub rules: Vec<GuardrailRule>,
    #[serde(default)]
    pub patterns: Vec<GuardrailPattern>,
    /// Also scan the model's answers: findings are recorded, and `redact` or `block` remove
    /// them from the stored answer and from answers that are not streamed.
    #[serde(default)]
    pub scan_output: bool,
}

/// Where a finding was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuardrailDirection {
    /// In what a caller sent to a model.
    Input,
    /// In what a model answered.
    Output,
}

impl GuardrailDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailDirection::Input => "input",
            GuardrailDirection::Output => "output",
        }
    }
}

/// One finding, as the guardrail log keeps it (never the value itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct GuardrailEvent {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub user_id: Option<UserId>,
    pub api_key_id: Option<ApiKeyId>,
    /// The surface the text went through.
    pub route: CallEndpoint,
    pub direction: GuardrailDirection,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub detector: GuardrailDetector,
    /// The organisation's pattern that matched (`custom` findings).
    pub pattern: Option<String>,
    /// What was done: `allow` (recorded only), `redact`, `block`, or `ask` (the caller decided;
    /// a second event records the decision).
    pub action: GuardrailAction,
    /// A masked preview, e.g. `**** **** **** 4242`.
    pub preview: String,
}

/// A page of the guardrail log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct GuardrailEventPage {
    pub events: Vec<GuardrailEvent>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's answer to a `dlp_finding` event (`POST /api/chat/{msgId}/dlp-decision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DlpChoice {
    /// Send the message as written.
    Allow,
    /// Send it with the findings replaced by `[REDACTED:<detector>]`.
    Redact,
    /// Do not send it: the turn ends with an error.
    Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DlpDecision {
    pub decision: DlpChoice,
}

/// A finding as the `dlp_finding` chat event shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DlpFinding {
    pub detector: GuardrailDetector,
    pub pattern: Option<String>,
    pub preview: String,
}
