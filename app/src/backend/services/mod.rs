//! The service layer: the one place the rules live. Each function takes the context, the actor
//! and its input, and returns a contract DTO or an [`Error`](super::Error).

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod groups;
pub mod maintenance;
pub mod orgs;
pub mod system;
pub mod users;
pub mod validate;
