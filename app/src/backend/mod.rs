//! The service layer and everything it stands on (persistence, configuration, secrets).
//! Compiled for the server only (`ssr`); the wasm build never sees it.

pub mod actor;
pub mod client_addr;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod llm;
pub mod net_guard;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod sso;
pub mod state;
pub mod store;
pub mod testing;
pub mod tools;

pub use error::{Error, Result};
pub use state::{AppContext, AppState};
