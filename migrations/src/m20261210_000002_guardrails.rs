//! Guardrails (issue 15, part 3; docs/GUARDRAILS.md).
//!
//! - `guardrail_policies`: an organisation's policy, one row (absent: the default policy): the
//!   action of each built-in detector and the organisation's own patterns, as JSON, and whether
//!   answers are scanned too.
//! - `guardrail_events`: every finding — when, who (user, API key), where (route, conversation,
//!   message), which detector or pattern, what was done, and a masked preview (never the value).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum GuardrailPolicies {
    Table,
    OrgId,
    Rules,
    ScanOutput,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GuardrailEvents {
    Table,
    Id,
    OrgId,
    CreatedAt,
    UserId,
    ApiKeyId,
    Route,
    Direction,
    ConversationId,
    MessageId,
    Detector,
    Pattern,
    Action,
    Preview,
}

const EVENTS_BY_TIME: &str = "guardrail_events_org_time_idx";

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(GuardrailPolicies::Table)
                .col(uuid(GuardrailPolicies::OrgId).primary_key())
                .col(json(GuardrailPolicies::Rules))
                .col(boolean(GuardrailPolicies::ScanOutput).default(false))
                .col(timestamp_with_time_zone(GuardrailPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_guardrail_policies_org")
                        .from(GuardrailPolicies::Table, GuardrailPolicies::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(GuardrailEvents::Table)
                .col(uuid(GuardrailEvents::Id).primary_key())
                .col(uuid(GuardrailEvents::OrgId))
                .col(timestamp_with_time_zone(GuardrailEvents::CreatedAt))
                .col(uuid_null(GuardrailEvents::UserId))
                .col(uuid_null(GuardrailEvents::ApiKeyId))
                .col(string_len(GuardrailEvents::Route, 32))
                .col(string_len(GuardrailEvents::Direction, 8))
                .col(uuid_null(GuardrailEvents::ConversationId))
                .col(uuid_null(GuardrailEvents::MessageId))
                .col(string_len(GuardrailEvents::Detector, 16))
                .col(string_len_null(GuardrailEvents::Pattern, 64))
                .col(string_len(GuardrailEvents::Action, 8))
                .col(string_len(GuardrailEvents::Preview, 128))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_guardrail_events_org")
                        .from(GuardrailEvents::Table, GuardrailEvents::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(EVENTS_BY_TIME)
                .table(GuardrailEvents::Table)
                .col(GuardrailEvents::OrgId)
                .col(GuardrailEvents::CreatedAt)
                .col(GuardrailEvents::Id)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(GuardrailEvents::Table).take())
            .await?;
        m.drop_table(Table::drop().table(GuardrailPolicies::Table).take())
            .await
    }
}
