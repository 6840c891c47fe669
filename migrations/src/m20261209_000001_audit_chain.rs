//! The audit trail as a hash chain per organisation (issue 15, part 4; docs/AUDIT.md).
//!
//! - `audit_events.chain_org`: the chain an event belongs to (its organisation, or the nil id
//!   for events before any organisation existed); `seq`: its place in that chain (1, 2, …);
//!   `hash`: HMAC-SHA-256 of the previous event's hash and this event's fields. Events written
//!   before this migration have no `seq` and stay outside the chain.
//! - `audit_heads`: one row per chain — the last `seq` and `hash`, the anchor retention left
//!   (`base_seq`, `base_hash`: the last event it removed), and a MAC over all four, so that
//!   neither removing the newest events nor moving the anchor goes unnoticed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ChainOrg,
    Seq,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    ChainOrg,
    Seq,
    Hash,
    BaseSeq,
    BaseHash,
    Mac,
    UpdatedAt,
}

const CHAIN_INDEX: &str = "audit_events_chain_seq_idx";

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(AuditEvents::Table)
                .add_column(uuid_null(AuditEvents::ChainOrg))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(AuditEvents::Table)
                .add_column(big_integer_null(AuditEvents::Seq))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(AuditEvents::Table)
                .add_column(string_len_null(AuditEvents::Hash, 64))
                .take(),
        )
        .await?;
        // Two writers cannot give one place in a chain to two events.
        m.create_index(
            Index::create()
                .name(CHAIN_INDEX)
                .table(AuditEvents::Table)
                .col(AuditEvents::ChainOrg)
                .col(AuditEvents::Seq)
                .unique()
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditHeads::Table)
                .col(uuid(AuditHeads::ChainOrg).primary_key())
                .col(big_integer(AuditHeads::Seq))
                .col(string_len(AuditHeads::Hash, 64))
                .col(big_integer(AuditHeads::BaseSeq))
                .col(string_len(AuditHeads::BaseHash, 64))
                .col(string_len(AuditHeads::Mac, 64))
                .col(timestamp_with_time_zone(AuditHeads::UpdatedAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditHeads::Table).take())
            .await?;
        m.drop_index(
            Index::drop()
                .name(CHAIN_INDEX)
                .table(AuditEvents::Table)
                .to_owned(),
        )
        .await?;
        for column in [AuditEvents::Hash, AuditEvents::Seq, AuditEvents::ChainOrg] {
            m.alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}
