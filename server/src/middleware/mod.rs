//! Cross-cutting layers: request ids and tracing, metrics, the actor, and the error safety net.

pub mod actor;
pub mod csrf;
pub mod errors;
pub mod metrics;
pub mod trace;
