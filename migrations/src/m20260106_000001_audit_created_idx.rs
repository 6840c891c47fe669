//! Audit retention: housekeeping deletes events older than `AERIE_AUDIT_RETENTION_DAYS` across
//! all organisations, by `created_at` alone, which the `(org_id, created_at)` index cannot serve.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    CreatedAt,
}

const INDEX: &str = "audit_events_created_idx";

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(AuditEvents::Table)
                .col(AuditEvents::CreatedAt)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(AuditEvents::Table)
                .to_owned(),
        )
        .await
    }
}
