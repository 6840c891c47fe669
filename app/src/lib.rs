//! Aerie's web application: the Leptos UI (both targets) and its server functions. On the
//! server (`ssr`) the server functions call the service layer of `aerie-backend`; the wasm
//! build sees only the wire contract of `aerie-contract`.

#![recursion_limit = "256"]

pub mod fns;
pub mod ui;

/// The wire contract, under the name the UI and server functions use.
pub use aerie_contract as contract;

/// The service layer (server only): its public surface is all this crate can reach.
#[cfg(feature = "ssr")]
pub(crate) use aerie_backend as backend;

/// The product version, as shown by `/api/health`, `/api` and `aerie --version`.
pub use aerie_contract::VERSION;
