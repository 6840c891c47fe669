//! Cross-cutting layers: request ids and tracing, metrics, the actor and the credentials each
//! route accepts, and the error safety net.

pub mod actor;
pub mod credentials;
pub mod csrf;
pub mod errors;
pub mod metrics;
pub mod trace;
