//! Aerie's schema history. One module per change, named `mYYYYMMDD_HHMMSS_<what>`, never edited
//! after it lands. Migrations never import application entities: they are frozen history.

pub use sea_orm_migration::prelude::*;

mod m20260101_000001_identity_core;
mod m20260102_000001_sessions;
mod m20260103_000001_invitations;
mod m20260104_000001_agents_chat;
mod m20260105_000001_sso;
mod m20260106_000001_audit_created_idx;
mod m20260106_000016_conversation_session_keys;
mod m20260110_000001_identity_proof;
mod m20261204_000001_knowledge;
mod m20261205_000001_message_citations;
mod m20261205_000002_live_index_embedding;
mod m20261206_000001_billing;
mod m20261207_000001_tenants;
mod m20261207_000002_api_key_limits;
mod m20261208_000001_license_usage;
mod m20261209_000001_audit_chain;
mod m20261210_000001_idempotency;
mod m20261210_000002_guardrails;
mod m20261211_000001_runs;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_identity_core::Migration),
            Box::new(m20260102_000001_sessions::Migration),
            Box::new(m20260103_000001_invitations::Migration),
            Box::new(m20260104_000001_agents_chat::Migration),
            Box::new(m20260105_000001_sso::Migration),
            Box::new(m20260106_000001_audit_created_idx::Migration),
            Box::new(m20260106_000016_conversation_session_keys::Migration),
            Box::new(m20260110_000001_identity_proof::Migration),
            Box::new(m20261204_000001_knowledge::Migration),
            Box::new(m20261205_000001_message_citations::Migration),
            Box::new(m20261205_000002_live_index_embedding::Migration),
            Box::new(m20261206_000001_billing::Migration),
            Box::new(m20261207_000001_tenants::Migration),
            Box::new(m20261207_000002_api_key_limits::Migration),
            Box::new(m20261208_000001_license_usage::Migration),
            Box::new(m20261209_000001_audit_chain::Migration),
            Box::new(m20261210_000001_idempotency::Migration),
            Box::new(m20261210_000002_guardrails::Migration),
            Box::new(m20261211_000001_runs::Migration),
        ]
    }
}
