//! Plans, model prices and credit periods (issue 14: plans and credits; docs/BILLING.md).
//!
//! - `plans`: what the operator sells, keyed by slug; `organizations.plan` names one. NULL
//!   credits or limits mean unlimited. Three plans exist from the start (community, pro,
//!   enterprise); the operator edits them.
//! - `model_prices`: credits per million input and output tokens, by model name; the row `*`
//!   prices every model without a row of its own (1,000 and 1,000 from the start: a credit is a
//!   thousand tokens).
//! - `credit_periods`: one row per organisation and billing period (monthly from
//!   `organizations.period_anchor`, its creation when NULL). A model call reserves its worst case
//!   in `*_reserved` with one conditional UPDATE and settles it into `*_used`; the row of a new
//!   period is created by the first call in it, so nothing has to run at midnight.
//! - `rate_windows`: requests and tokens per subject (`key:<id>`, `user:<id>`) and minute, for
//!   the plan's rate limits when no Redis is configured; housekeeping deletes old windows.

use sea_orm_migration::sea_orm::{self, JsonValue};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    PeriodAnchor,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Slug,
    Name,
    PriceLabel,
    MonthlyCredits,
    MonthlyTokensPerUser,
    RequestsPerMinute,
    TokensPerMinute,
    Features,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ModelPrices {
    Table,
    Model,
    InputPerMtok,
    OutputPerMtok,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CreditPeriods {
    Table,
    OrgId,
    PeriodStart,
    PeriodEnd,
    CreditsGranted,
    CreditsUsed,
    CreditsReserved,
    TokensGranted,
    TokensUsed,
    TokensReserved,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RateWindows {
    Table,
    Subject,
    WindowStart,
    Requests,
    Tokens,
}

/// The plans that exist from the start: `(slug, name, price label, monthly credits,
/// requests/min, tokens/min, features)`.
type DefaultPlan = (
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    Option<i32>,
    Option<i64>,
    &'static [&'static str],
);

const DEFAULT_PLANS: [DefaultPlan; 3] = [
    (
        "community",
        "Community",
        "Free",
        Some(10_000),
        Some(60),
        Some(200_000),
        &["chat", "agents", "knowledge", "api_keys"],
    ),
    (
        "pro",
        "Pro",
        "$20 per user per month",
        Some(200_000),
        Some(600),
        Some(2_000_000),
        &[
            "chat",
            "agents",
            "knowledge",
            "api_keys",
            "sso",
            "usage_export",
        ],
    ),
    (
        "enterprise",
        "Enterprise",
        "Contact sales",
        None,
        None,
        None,
        &[
            "chat",
            "agents",
            "knowledge",
            "api_keys",
            "sso",
            "usage_export",
            "saml",
            "audit_export",
        ],
    ),
];

fn bad_row(e: sea_orm::sea_query::error::Error) -> DbErr {
    DbErr::Custom(e.to_string())
}

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Plans::Table)
                .col(string_len(Plans::Slug, 32).primary_key())
                .col(string(Plans::Name))
                .col(string(Plans::PriceLabel))
                .col(big_integer_null(Plans::MonthlyCredits))
                .col(big_integer_null(Plans::MonthlyTokensPerUser))
                .col(integer_null(Plans::RequestsPerMinute))
                .col(big_integer_null(Plans::TokensPerMinute))
                .col(json(Plans::Features))
                .col(integer(Plans::Position).default(0))
                .col(timestamp_with_time_zone(Plans::CreatedAt))
                .col(timestamp_with_time_zone(Plans::UpdatedAt))
                .take(),
        )
        .await?;
        let now = sea_orm::prelude::ChronoUtc::now().fixed_offset();
        for (position, (slug, name, price, credits, rpm, tpm, features)) in
            (0i32..).zip(DEFAULT_PLANS)
        {
            let features = JsonValue::Array(
                features
                    .iter()
                    .map(|f| JsonValue::String((*f).to_owned()))
                    .collect(),
            );
            m.exec_stmt(
                Query::insert()
                    .into_table(Plans::Table)
                    .columns([
                        Plans::Slug,
                        Plans::Name,
                        Plans::PriceLabel,
                        Plans::MonthlyCredits,
                        Plans::MonthlyTokensPerUser,
                        Plans::RequestsPerMinute,
                        Plans::TokensPerMinute,
                        Plans::Features,
                        Plans::Position,
                        Plans::CreatedAt,
                        Plans::UpdatedAt,
                    ])
                    .values([
                        slug.into(),
                        name.into(),
                        price.into(),
                        credits.into(),
                        Option::<i64>::None.into(),
                        rpm.into(),
                        tpm.into(),
                        features.into(),
                        position.into(),
                        now.into(),
                        now.into(),
                    ])
                    .map_err(bad_row)?
                    .take(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(ModelPrices::Table)
                .col(string_len(ModelPrices::Model, 200).primary_key())
                .col(big_integer(ModelPrices::InputPerMtok))
                .col(big_integer(ModelPrices::OutputPerMtok))
                .col(timestamp_with_time_zone(ModelPrices::UpdatedAt))
                .take(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(ModelPrices::Table)
                .columns([
                    ModelPrices::Model,
                    ModelPrices::InputPerMtok,
                    ModelPrices::OutputPerMtok,
                    ModelPrices::UpdatedAt,
                ])
                .values(["*".into(), 1000i64.into(), 1000i64.into(), now.into()])
                .map_err(bad_row)?
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CreditPeriods::Table)
                .col(uuid(CreditPeriods::OrgId))
                .col(timestamp_with_time_zone(CreditPeriods::PeriodStart))
                .col(timestamp_with_time_zone(CreditPeriods::PeriodEnd))
                .col(big_integer_null(CreditPeriods::CreditsGranted))
                .col(big_integer(CreditPeriods::CreditsUsed).default(0))
                .col(big_integer(CreditPeriods::CreditsReserved).default(0))
                .col(big_integer_null(CreditPeriods::TokensGranted))
                .col(big_integer(CreditPeriods::TokensUsed).default(0))
                .col(big_integer(CreditPeriods::TokensReserved).default(0))
                .col(timestamp_with_time_zone(CreditPeriods::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(CreditPeriods::OrgId)
                        .col(CreditPeriods::PeriodStart),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_credit_periods_org")
                        .from(CreditPeriods::Table, CreditPeriods::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RateWindows::Table)
                .col(string_len(RateWindows::Subject, 64))
                .col(timestamp_with_time_zone(RateWindows::WindowStart))
                .col(big_integer(RateWindows::Requests).default(0))
                .col(big_integer(RateWindows::Tokens).default(0))
                .primary_key(
                    Index::create()
                        .col(RateWindows::Subject)
                        .col(RateWindows::WindowStart),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_rate_windows_window_start")
                .table(RateWindows::Table)
                .col(RateWindows::WindowStart)
                .take(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .add_column(timestamp_with_time_zone_null(Organizations::PeriodAnchor))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .drop_column(Organizations::PeriodAnchor)
                .take(),
        )
        .await?;
        for t in [
            RateWindows::Table.into_iden(),
            CreditPeriods::Table.into_iden(),
            ModelPrices::Table.into_iden(),
            Plans::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
