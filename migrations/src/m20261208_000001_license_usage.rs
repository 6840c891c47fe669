//! Licences and usage in credits (issue 14, parts 5 and 6; docs/LICENSING.md, docs/BILLING.md).
//!
//! - `instance_settings`: settings of the whole instance, above every organisation, one row per
//!   name. The applied licence (a signed JWT, verified again on every read) lives under
//!   `license`; no row means the Community tier.
//! - `usage_records.credits`: what the call was charged, at the price of its time, so the usage
//!   views add up to the period's credits even after the operator changes a price.
//! - `user_token_periods`: each person's tokens in a billing period of their organisation, held
//!   and charged like the organisation's credits (one conditional UPDATE), when the plan limits
//!   tokens per person (`plans.monthly_tokens_per_user`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InstanceSettings {
    Table,
    Name,
    Value,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum UsageRecords {
    Table,
    Credits,
}

#[derive(DeriveIden)]
enum UserTokenPeriods {
    Table,
    OrgId,
    UserId,
    PeriodStart,
    TokensGranted,
    TokensUsed,
    TokensReserved,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(InstanceSettings::Table)
                .col(string_len(InstanceSettings::Name, 64).primary_key())
                .col(text(InstanceSettings::Value))
                .col(timestamp_with_time_zone(InstanceSettings::UpdatedAt))
                .col(uuid_null(InstanceSettings::UpdatedBy))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(UsageRecords::Table)
                .add_column(big_integer(UsageRecords::Credits).default(0))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserTokenPeriods::Table)
                .col(uuid(UserTokenPeriods::OrgId))
                .col(uuid(UserTokenPeriods::UserId))
                .col(timestamp_with_time_zone(UserTokenPeriods::PeriodStart))
                .col(big_integer_null(UserTokenPeriods::TokensGranted))
                .col(big_integer(UserTokenPeriods::TokensUsed).default(0))
                .col(big_integer(UserTokenPeriods::TokensReserved).default(0))
                .col(timestamp_with_time_zone(UserTokenPeriods::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(UserTokenPeriods::OrgId)
                        .col(UserTokenPeriods::UserId)
                        .col(UserTokenPeriods::PeriodStart),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_token_periods_org")
                        .from(UserTokenPeriods::Table, UserTokenPeriods::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(UserTokenPeriods::Table).take())
            .await?;
        m.alter_table(
            Table::alter()
                .table(UsageRecords::Table)
                .drop_column(UsageRecords::Credits)
                .take(),
        )
        .await?;
        m.drop_table(Table::drop().table(InstanceSettings::Table).take())
            .await
    }
}
