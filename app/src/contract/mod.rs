//! Wire types shared by the UI, server functions and REST handlers. wasm-safe: serde, uuid and
//! chrono only.

pub mod api_keys;
pub mod auth;
pub mod error;
pub mod health;
pub mod ids;
pub mod orgs;

pub use error::{ErrorBody, ErrorCode, ErrorInfo};
