//! The HTTP API tests: one binary (faster to link on 2 cores). Every test of what the service
//! layer stores runs against SQLite and PostgreSQL, each in its own database cloned from a
//! migrated template (`aerie_backend::testing::TestDb::migrated`); tests of the HTTP layer alone
//! (error bodies, headers, credentials per route, metrics, the OpenAPI document, shutdown) run
//! once, on SQLite.

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

mod support;

mod agents;
mod anonymous_writes;
mod answers;
mod audit;
mod billing;
mod chat;
mod cli;
mod conform;
mod conversations;
mod credentials;
mod csrf;
mod documents;
mod embeddings;
mod errors;
mod guardrails;
mod health;
mod idempotency;
mod identity;
mod jobs;
mod knowledge;
mod license;
mod maintenance;
mod metrics;
mod migrations;
mod openai_compat;
mod openapi;
mod operator;
mod orgs;
mod races;
mod rate_limits;
mod runs;
mod scoping;
mod sdk;
mod security_headers;
mod sessions;
mod shutdown;
mod sso;
mod sso_linking;
mod sso_ssrf;
mod tenancy_walk;
mod ui;
mod usage;
