//! Closed sets of values that travel as strings (roles, statuses, modes, kinds). Each serialises
//! exactly as the string stored in the database; `as_str` and `FromStr` convert at the store
//! boundary, where an unknown stored value is an error (see `backend/src/error.rs`).

use serde::{Deserialize, Serialize};

/// A string that is not one of a kind's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownValue {
    /// The kind, e.g. `role`.
    pub kind: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// `as_str`, `ALL`, `FromStr`, `TryFrom<&str>` and `Display` for a string kind.
macro_rules! string_kind {
    ($ty:ident, $kind:literal, { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// Every value's spelling, comma-separated (for "must be one of" messages).
            pub fn listed() -> String {
                [$($s),+].join(", ")
            }

            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $s),+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<$ty, UnknownValue> {
                match s {
                    $($s => Ok($ty::$variant),)+
                    _ => Err(UnknownValue { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = UnknownValue;

            fn try_from(s: &str) -> Result<$ty, UnknownValue> {
                s.parse()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A member's role in an organisation, from least to most powerful (the order is the rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

string_kind!(Role, "role", { Member => "member", Admin => "admin", Owner => "owner" });

impl Role {
    /// 0 for members, 1 for admins, 2 for owners.
    pub fn rank(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
            Role::Owner => 2,
        }
    }

    /// This role is `min` or above.
    pub fn at_least(self, min: Role) -> bool {
        self.rank() >= min.rank()
    }

    /// Admins and owners.
    pub fn is_admin(self) -> bool {
        self.at_least(Role::Admin)
    }
}

/// A user's account status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Signed up to a waitlisted organisation; an admin decides.
    Waitlisted,
    Disabled,
    Deleted,
}

string_kind!(UserStatus, "user status", {
    Active => "active",
    Waitlisted => "waitlisted",
    Disabled => "disabled",
    Deleted => "deleted",
});

/// An API key's status, as of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    Expired,
    Revoked,
}

string_kind!(ApiKeyStatus, "API key status", {
    Active => "active",
    Expired => "expired",
    Revoked => "revoked",
});

/// Who wrote a stored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    User,
    Assistant,
}

string_kind!(MessageRole, "message role", { User => "user", Assistant => "assistant" });

/// Where a stored message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Complete,
    /// The answer is still being written.
    Streaming,
    Cancelled,
    Error,
}

string_kind!(MessageStatus, "message status", {
    Complete => "complete",
    Streaming => "streaming",
    Cancelled => "cancelled",
    Error => "error",
});

/// How a model call ended (a usage record's `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Ok,
    /// The provider or the engine failed.
    Error,
    /// The caller stopped it (cancel, or a client that went away).
    Cancelled,
}

string_kind!(CallStatus, "call status", {
    Ok => "ok",
    Error => "error",
    Cancelled => "cancelled",
});

/// Which surface made a model call (a usage record's `endpoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallEndpoint {
    /// `POST /v1/chat` (seed 002).
    V1Chat,
    /// `POST /api/chat`, the workspace's chat (seed 004).
    ApiChat,
    /// `POST /v1/chat/completions` (OpenAI).
    ChatCompletions,
    /// A conversation title written by the model.
    Title,
    /// `POST /v1/query/`, Egret's RAG query (seed 000).
    Query,
    /// Embeddings through a provider (a knowledge base's ingestion or search).
    Embeddings,
    /// A governed run (`POST /v1/runs`).
    Run,
}

string_kind!(CallEndpoint, "call endpoint", {
    V1Chat => "v1_chat",
    ApiChat => "api_chat",
    ChatCompletions => "chat_completions",
    Title => "title",
    Query => "query",
    Embeddings => "embeddings",
    Run => "run",
});

/// Where a background job stands. `queued` and `running` may repeat (a failed attempt goes
/// back to `queued` with a later `run_at`); `succeeded`, `failed` and `cancelled` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its `run_at` and a free runner.
    Queued,
    /// Leased by a runner, which renews the lease while it works.
    Running,
    /// Asked to stop while running; its runner stops it at the next heartbeat.
    Cancelling,
    Succeeded,
    /// Out of attempts, or failed in a way a retry cannot fix.
    Failed,
    Cancelled,
}

string_kind!(JobStatus, "job status", {
    Queued => "queued",
    Running => "running",
    Cancelling => "cancelling",
    Succeeded => "succeeded",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl JobStatus {
    /// No runner will touch the job again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// Who may join an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// Anyone.
    Open,
    /// Only people invited.
    InviteOnly,
    /// Anyone may ask; admins approve.
    Waitlist,
    /// Nobody.
    Closed,
}

string_kind!(SignupMode, "signup mode", {
    Open => "open",
    InviteOnly => "invite_only",
    Waitlist => "waitlist",
    Closed => "closed",
});

/// Whether an organisation may be used (`suspended`: the instance operator stopped it; its keys,
/// sessions and chats are refused until it is resumed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Suspended,
}

string_kind!(OrgStatus, "organisation status", {
    Active => "active",
    Suspended => "suspended",
});

/// The operator's decision on an organisation's claim to an email domain for single sign-on:
/// only an approved claim routes, provisions or links people of that domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DomainClaimStatus {
    Pending,
    Approved,
    Rejected,
}

string_kind!(DomainClaimStatus, "domain claim status", {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
});

/// The kinds of identity provider: `oidc` is any OpenID Connect issuer (Keycloak, Okta,
/// Authentik…).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SsoKind {
    Google,
    Microsoft,
    Github,
    Nextcloud,
    Oidc,
    Saml,
}

string_kind!(SsoKind, "SSO provider kind", {
    Google => "google",
    Microsoft => "microsoft",
    Github => "github",
    Nextcloud => "nextcloud",
    Oidc => "oidc",
    Saml => "saml",
});

/// Where a document's ingestion stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Stored; its ingestion job waits for a runner.
    #[default]
    Queued,
    /// Being read, chunked and embedded (`progress` counts up).
    Processing,
    /// Searchable.
    Ready,
    /// Ingestion gave up; `error` says why.
    Failed,
}

string_kind!(DocumentStatus, "document status", {
    Queued => "queued",
    Processing => "processing",
    Ready => "ready",
    Failed => "failed",
});

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + std::fmt::Debug + PartialEq + Serialize + for<'de> Deserialize<'de>,
        T: std::str::FromStr<Err = UnknownValue> + std::fmt::Display,
    {
        for &v in all {
            let s = v.to_string();
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::String(s.clone())
            );
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(s)).unwrap(),
                v
            );
            assert_eq!(s.parse::<T>().unwrap(), v);
        }
        assert!("nonsense".parse::<T>().is_err());
    }

    #[test]
    fn serde_spelling_is_as_str() {
        round_trips(Role::ALL);
        round_trips(UserStatus::ALL);
        round_trips(CallStatus::ALL);
        round_trips(CallEndpoint::ALL);
        round_trips(JobStatus::ALL);
        round_trips(ApiKeyStatus::ALL);
        round_trips(MessageRole::ALL);
        round_trips(MessageStatus::ALL);
        round_trips(SignupMode::ALL);
        round_trips(SsoKind::ALL);
        round_trips(DocumentStatus::ALL);
        round_trips(OrgStatus::ALL);
        round_trips(DomainClaimStatus::ALL);
    }

    #[test]
    fn roles_rank() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::Admin));
        assert!(!Role::Member.at_least(Role::Admin));
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
    }
}

/// The licence tier of the instance, from least to most (the order is the rank): `community`
/// without a licence, else the tier the applied licence names (docs/LICENSING.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LicenseTier {
    Community,
    Pro,
    Enterprise,
}

string_kind!(LicenseTier, "licence tier", {
    Community => "community",
    Pro => "pro",
    Enterprise => "enterprise",
});

impl LicenseTier {
    /// The tier's name as people read it.
    pub fn title(self) -> &'static str {
        match self {
            LicenseTier::Community => "Community",
            LicenseTier::Pro => "Pro",
            LicenseTier::Enterprise => "Enterprise",
        }
    }
}

/// A feature a licence tier unlocks. Community holds the platform itself (chat, agents,
/// knowledge, keys, single sign-on, plans and usage charts); the values here are the ones above
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LicenseFeature {
    /// Every usage record of a period as CSV (`GET /api/usage.csv`): Pro and above.
    UsageExport,
    /// The guardrail log and its CSV (`GET /api/guardrails/events`, `.csv`): Enterprise (seed
    /// 004's "Audit & compliance (Enterprise+)").
    GuardrailLog,
}

string_kind!(LicenseFeature, "licence feature", {
    UsageExport => "usage_export",
    GuardrailLog => "guardrail_log",
});

impl LicenseFeature {
    /// The lowest tier that includes the feature.
    pub fn tier(self) -> LicenseTier {
        match self {
            LicenseFeature::UsageExport => LicenseTier::Pro,
            LicenseFeature::GuardrailLog => LicenseTier::Enterprise,
        }
    }

    /// What the feature is, for refusals and the licence card.
    pub fn describe(self) -> &'static str {
        match self {
            LicenseFeature::UsageExport => "Exporting usage as CSV",
            LicenseFeature::GuardrailLog => "The guardrail log",
        }
    }
}

/// How usage is grouped (`GET /api/usage?group_by=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageGroup {
    /// One row per UTC day of the range, days without calls included.
    #[default]
    Day,
    Model,
    User,
    Agent,
    /// One row per API key (calls made without a key: a row of their own).
    Key,
}

string_kind!(UsageGroup, "usage grouping", {
    Day => "day",
    Model => "model",
    User => "user",
    Agent => "agent",
    Key => "key",
});

/// What a guardrail looks for in a message. Each detector's exact rule is documented in
/// `backend/src/services/guardrails/detect.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuardrailDetector {
    /// An email address (`local@domain.tld`).
    Email,
    /// A phone number: international (`+49 30 1234567`) or a national form with separators
    /// (`030 1234 5678`, `(555) 123-4567`), 8 to 15 digits.
    Phone,
    /// A payment card number: 13 to 19 digits with a known issuer prefix that pass the Luhn
    /// check.
    PaymentCard,
    /// An IBAN whose length is its country's and whose ISO 7064 mod-97 check holds.
    Iban,
    /// A credential in a known format: provider API keys (OpenAI, Anthropic, AWS, GitHub, Slack,
    /// Stripe, Google), private keys (PEM), JWTs and Aerie's own API keys.
    Secret,
    /// A long random-looking token (high Shannon entropy) that is not a known credential.
    HighEntropy,
    /// A pattern an administrator defined (a regular expression with a name).
    Custom,
}

string_kind!(GuardrailDetector, "guardrail detector", {
    Email => "email",
    Phone => "phone",
    PaymentCard => "payment_card",
    Iban => "iban",
    Secret => "secret",
    HighEntropy => "high_entropy",
    Custom => "custom",
});

/// What a guardrail does with a message in which its detector found something, from least to
/// most severe (the declaration order is the rank): allow < redact < ask < block. When several
/// guardrails fire on one message, the most severe action wins (`Ord`, [`GuardrailAction::rank`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuardrailAction {
    /// Let the message through unchanged; the finding is only recorded.
    Allow,
    /// Replace each finding with `[REDACTED:<detector>]` and let the rest through.
    Redact,
    /// Hold the message until the user confirms sending it as it is.
    Ask,
    /// Refuse the message.
    Block,
}

string_kind!(GuardrailAction, "guardrail action", {
    Allow => "allow",
    Redact => "redact",
    Ask => "ask",
    Block => "block",
});

impl GuardrailAction {
    /// 0 for allow, 1 for redact, 2 for ask, 3 for block.
    pub fn rank(self) -> u8 {
        match self {
            GuardrailAction::Allow => 0,
            GuardrailAction::Redact => 1,
            GuardrailAction::Ask => 2,
            GuardrailAction::Block => 3,
        }
    }
}

/// Where a governed run stands (seed 003). `pending` → `running` → `completed` or `error`;
/// `paused` waits for an approver (→ `running`, or `blocked` when rejected or timed out);
/// `blocked`: a guardrail or an approver refused it. `completed`, `blocked` and `error` are
/// final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Pending,
    Running,
    Completed,
    Paused,
    Blocked,
    Error,
}

string_kind!(RunStatus, "run status", {
    Pending => "pending",
    Running => "running",
    Completed => "completed",
    Paused => "paused",
    Blocked => "blocked",
    Error => "error",
});

impl RunStatus {
    /// Nothing will change the run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Blocked | RunStatus::Error
        )
    }
}

/// When a route's runs wait for an approver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// Never: runs go straight to the model (a guardrail's `ask` blocks, as nobody is asked).
    #[default]
    Never,
    /// Every run.
    Always,
    /// Runs whose estimated cost (credits, worst case) is above the route's threshold.
    AboveCost,
    /// Runs in which a guardrail found something whose action is `ask`.
    OnAsk,
}

string_kind!(ApprovalMode, "approval mode", {
    Never => "never",
    Always => "always",
    AboveCost => "above_cost",
    OnAsk => "on_ask",
});

/// An approver's decision on a paused run (`POST /v1/runs/{id}/resume`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunDecision {
    Approved,
    Rejected,
}

string_kind!(RunDecision, "run decision", {
    Approved => "approved",
    Rejected => "rejected",
});
