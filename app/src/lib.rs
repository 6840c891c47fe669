//! Aerie's application crate: the wire contract, the Leptos UI and server functions (both
//! targets), and — behind the `ssr` feature — the backend service layer.

#![recursion_limit = "256"]

pub mod contract;
pub mod fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod backend;

/// The product version, as shown by `/api/health`, `/api` and `aerie --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
