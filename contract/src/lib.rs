//! The wire contract: types shared by the UI, server functions and REST handlers. wasm-safe:
//! serde, uuid and chrono only (utoipa schemas and id generation behind the `server` feature).

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod chat;
pub mod error;
pub mod gateway;
pub mod guardrails;
pub mod health;
pub mod ids;
pub mod kinds;
pub mod knowledge;
pub mod license;
pub mod object;
pub mod openai;
pub mod operator;
pub mod orgs;
pub mod providers;
pub mod query;
pub mod runs;
pub mod sso;
pub mod usage;
pub mod whole;

pub use error::{ErrorBody, ErrorCode, ErrorInfo};
pub use kinds::{
    ApiKeyStatus, ApprovalMode, CallEndpoint, CallStatus, DocumentStatus, DomainClaimStatus,
    GuardrailAction, GuardrailDetector, JobStatus, LicenseFeature, LicenseTier, MessageRole,
    MessageStatus, OrgStatus, Role, RunDecision, RunStatus, SignupMode, SsoKind, UnknownValue,
    UsageGroup, UserStatus,
};

/// Distinguishes an absent field (`None`, with `#[serde(default)]`) from an explicit `null`
/// (`Some(None)`).
pub fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// The product version, as shown by `/api/health`, `/api` and `aerie --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
