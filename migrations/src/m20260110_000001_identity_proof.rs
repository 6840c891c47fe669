//! Linking an identity-provider account to an existing Aerie account needs proof (the account's
//! password or an existing session): `identities.proven_at` records when the person proved it.
//! An identity whose account ranks above the provider's last editor signs in only while that
//! proof is newer than the provider's last change (docs/SSO.md, "How a sign-in is decided").

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Identities {
    Table,
    ProvenAt,
}

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Identities::Table)
                .add_column(timestamp_with_time_zone_null(Identities::ProvenAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Identities::Table)
                .drop_column(Identities::ProvenAt)
                .take(),
        )
        .await
    }
}
