//! The HTTP API tests: one binary (faster to link on 2 cores). Every test that touches the
//! database runs against SQLite and PostgreSQL, each in its own fresh database.

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

mod support;

mod agents;
mod anonymous_writes;
mod chat;
mod cli;
mod conform;
mod conversations;
mod credentials;
mod csrf;
mod errors;
mod health;
mod identity;
mod maintenance;
mod metrics;
mod migrations;
mod openai_compat;
mod openapi;
mod orgs;
mod races;
mod rate_limits;
mod scoping;
mod sdk;
mod security_headers;
mod sessions;
mod shutdown;
mod sso;
mod sso_linking;
mod sso_ssrf;
mod ui;
