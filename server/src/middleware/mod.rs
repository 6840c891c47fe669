//! Cross-cutting layers: request ids and tracing, metrics, security headers and the Host check,
//! the actor and the credentials each route accepts, `Idempotency-Key`, and the error safety net.

pub mod actor;
pub mod credentials;
pub mod csrf;
pub mod errors;
pub mod host_check;
pub mod idempotency;
pub mod metrics;
pub mod security_headers;
pub mod trace;
