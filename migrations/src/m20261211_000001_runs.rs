//! Routes and governed runs (issue 15, parts 1 and 2; docs/RUNS.md).
//!
//! - `routes`: an organisation's named policies (`default` is created with the first use): what
//!   answers (an agent or a model), when runs wait for an approver, who approves, the route's
//!   own guardrail policy and limits. Names are unique in an organisation.
//! - `runs`: one governed execution each — who asked, on which route, the input as it goes to
//!   the model (after redaction), the findings (masked), the estimated cost, the approvers, the
//!   decision, the answer and its usage or the error. `lease_until` is the heartbeat of a run
//!   executed inside its request (a foreground run).
//! - `run_transitions`: every change of a run's status, with its time, reason and the person who
//!   caused it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Routes {
    Table,
    Id,
    OrgId,
    Name,
    Description,
    AgentId,
    Model,
    Approval,
    ApprovalCostAbove,
    ApproverUserIds,
    ApproverGroupIds,
    ApprovalTimeoutMinutes,
    Guardrails,
    MaxOutputTokens,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    OrgId,
    RouteId,
    RouteName,
    UserId,
    ApiKeyId,
    Status,
    Background,
    Messages,
    Approvers,
    Findings,
    EstimatedCost,
    Response,
    PromptTokens,
    CompletionTokens,
    ErrorCode,
    ErrorMessage,
    Decision,
    DecidedBy,
    DecisionComment,
    DecidedAt,
    ExpiresAt,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RunTransitions {
    Table,
    Id,
    RunId,
    Status,
    At,
    Reason,
    ByUser,
}

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Routes::Table)
                .col(uuid(Routes::Id).primary_key())
                .col(uuid(Routes::OrgId))
                .col(string_len(Routes::Name, 64))
                .col(text(Routes::Description))
                .col(uuid_null(Routes::AgentId))
                .col(string_len_null(Routes::Model, 255))
                .col(string_len(Routes::Approval, 16))
                .col(big_integer_null(Routes::ApprovalCostAbove))
                .col(json(Routes::ApproverUserIds))
                .col(json(Routes::ApproverGroupIds))
                .col(integer(Routes::ApprovalTimeoutMinutes))
                .col(json_null(Routes::Guardrails))
                .col(integer_null(Routes::MaxOutputTokens))
                .col(timestamp_with_time_zone(Routes::CreatedAt))
                .col(timestamp_with_time_zone(Routes::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_routes_org")
                        .from(Routes::Table, Routes::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("routes_org_name_key")
                .table(Routes::Table)
                .col(Routes::OrgId)
                .col(Routes::Name)
                .unique()
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Runs::Table)
                .col(uuid(Runs::Id).primary_key())
                .col(uuid(Runs::OrgId))
                .col(uuid(Runs::RouteId))
                .col(string_len(Runs::RouteName, 64))
                .col(uuid(Runs::UserId))
                .col(uuid_null(Runs::ApiKeyId))
                .col(string_len(Runs::Status, 16))
                .col(boolean(Runs::Background))
                .col(json(Runs::Messages))
                .col(json(Runs::Approvers))
                .col(json(Runs::Findings))
                .col(big_integer(Runs::EstimatedCost))
                .col(text_null(Runs::Response))
                .col(big_integer_null(Runs::PromptTokens))
                .col(big_integer_null(Runs::CompletionTokens))
                .col(string_len_null(Runs::ErrorCode, 16))
                .col(text_null(Runs::ErrorMessage))
                .col(string_len_null(Runs::Decision, 16))
                .col(uuid_null(Runs::DecidedBy))
                .col(text_null(Runs::DecisionComment))
                .col(timestamp_with_time_zone_null(Runs::DecidedAt))
                .col(timestamp_with_time_zone_null(Runs::ExpiresAt))
                .col(timestamp_with_time_zone_null(Runs::LeaseUntil))
                .col(timestamp_with_time_zone(Runs::CreatedAt))
                .col(timestamp_with_time_zone(Runs::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_runs_org")
                        .from(Runs::Table, Runs::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("runs_org_status_time_idx")
                .table(Runs::Table)
                .col(Runs::OrgId)
                .col(Runs::Status)
                .col(Runs::CreatedAt)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RunTransitions::Table)
                .col(uuid(RunTransitions::Id).primary_key())
                .col(uuid(RunTransitions::RunId))
                .col(string_len(RunTransitions::Status, 16))
                .col(timestamp_with_time_zone(RunTransitions::At))
                .col(text(RunTransitions::Reason))
                .col(uuid_null(RunTransitions::ByUser))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_run_transitions_run")
                        .from(RunTransitions::Table, RunTransitions::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("run_transitions_run_idx")
                .table(RunTransitions::Table)
                .col(RunTransitions::RunId)
                .col(RunTransitions::At)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RunTransitions::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Runs::Table).take())
            .await?;
        m.drop_table(Table::drop().table(Routes::Table).take())
            .await
    }
}
