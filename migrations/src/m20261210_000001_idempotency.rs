//! Idempotency keys (issue 15, part 5; docs/IDEMPOTENCY.md).
//!
//! `idempotency_keys`: one row per (organisation, credential, `Idempotency-Key`) while a request
//! runs (`state = running`, held until `locked_until`) and, once it succeeded, with its answer
//! (`state = done`: status, content type, location and the body, sealed with the instance key)
//! until `expires_at` (24 hours after the first request). `fingerprint` is the SHA-256 of the
//! request's method, path, query and body: the same key with another request is refused.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    OrgId,
    Scope,
    IdemKey,
    Fingerprint,
    State,
    LockedUntil,
    StatusCode,
    ContentType,
    Location,
    Body,
    CreatedAt,
    ExpiresAt,
}

const UNIQUE: &str = "idempotency_keys_scope_key_idx";
const EXPIRY: &str = "idempotency_keys_expires_idx";

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::Id).primary_key())
                .col(uuid(IdempotencyKeys::OrgId))
                .col(string_len(IdempotencyKeys::Scope, 64))
                .col(string_len(IdempotencyKeys::IdemKey, 255))
                .col(string_len(IdempotencyKeys::Fingerprint, 64))
                .col(string_len(IdempotencyKeys::State, 16))
                .col(timestamp_with_time_zone(IdempotencyKeys::LockedUntil))
                .col(integer_null(IdempotencyKeys::StatusCode))
                .col(string_len_null(IdempotencyKeys::ContentType, 255))
                .col(string_len_null(IdempotencyKeys::Location, 2048))
                .col(text_null(IdempotencyKeys::Body))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_idempotency_keys_org")
                        .from(IdempotencyKeys::Table, IdempotencyKeys::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(UNIQUE)
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::OrgId)
                .col(IdempotencyKeys::Scope)
                .col(IdempotencyKeys::IdemKey)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(EXPIRY)
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::ExpiresAt)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).take())
            .await
    }
}
