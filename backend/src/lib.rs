//! The service layer and everything it stands on: persistence, configuration, secrets and the
//! outbound clients (LLM providers, identity providers, tools). Server only; the wasm build
//! never sees it.
//!
//! Surfaces (REST handlers in `aerie-server`, server functions in `aerie-app`, the CLI) reach
//! [`services`], the [`actor`] and [`state`] they act with, and the configuration the process
//! starts from. The store, the generated entities and the outbound clients are private to this
//! crate: a surface cannot write a row or call a provider except through a service.
//! `docs/ARCHITECTURE.md` draws the layers.

pub mod actor;
pub(crate) mod audit_chain;
pub mod client_addr;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub(crate) mod llm;
pub(crate) mod net_guard;
pub mod secrets;
pub mod services;
pub mod sessions;
pub(crate) mod sso;
pub mod state;
// The store is public only to test builds (`test-support`, re-exported by [`testing`]).
#[cfg(not(feature = "test-support"))]
pub(crate) mod store;
#[cfg(feature = "test-support")]
pub mod store;
pub(crate) mod tools;

/// Per-test databases, seeding helpers and the SAML message crafter: test builds only.
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::{Error, Result};
pub use llm::ensure_tls;
pub use state::{AppContext, AppState};
