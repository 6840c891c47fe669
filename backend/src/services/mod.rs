//! The service layer: the one place the rules live. Each function takes the context, the actor
//! and its input, and returns a contract DTO or an [`Error`](super::Error).

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod chat;
pub mod csv_export;
pub mod embeddings;
pub mod groups;
pub mod guardrails;
pub mod idempotency;
pub mod jobs;
pub mod knowledge;
pub mod leases;
pub mod license;
pub mod maintenance;
pub mod operator;
pub mod orgs;
pub mod providers;
pub mod rate_limits;
pub mod runs;
pub mod sso;
pub mod system;
pub mod usage;
pub mod users;
pub mod validate;
pub mod visibility;
