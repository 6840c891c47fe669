//! Conformance to the reference documents (`docs/REFERENCE-APIS.md`): seed 001's 402 sentence on
//! every family, `/v1/chat`'s client-chosen `session_id` (seed 002), seed 004's operational
//! health checks, and request input that once made the server panic.

mod health_checks;
mod input;
mod quota;
mod sessions;
