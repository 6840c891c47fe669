//! Providers (upstream LLM connections), agents, conversations with their messages, and usage
//! records (one per model call).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
    OrgId,
    Name,
    Kind,
    BaseUrl,
    ApiKeyEnc,
    ApiKeyHint,
    Models,
    TimeoutSecs,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    OrgId,
    OwnerId,
    Name,
    Description,
    SystemPrompt,
    ProviderId,
    Model,
    Parameters,
    ReasoningEnabled,
    Tools,
    KnowledgeBaseIds,
    Visibility,
    GroupIds,
    Published,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    OrgId,
    UserId,
    AgentId,
    Title,
    ParentId,
    BranchedFromMessageId,
    Source,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    OrgId,
    ConversationId,
    Seq,
    Role,
    Content,
    Reasoning,
    ToolCalls,
    Images,
    Status,
    Error,
    Model,
    InputTokens,
    OutputTokens,
    LatencyMs,
    Feedback,
    FeedbackComment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UsageRecords {
    Table,
    Id,
    OrgId,
    UserId,
    ApiKeyId,
    AgentId,
    ProviderId,
    Model,
    Endpoint,
    InputTokens,
    OutputTokens,
    LatencyMs,
    Status,
    CreatedAt,
}

fn org_fk(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Providers::Table)
                .col(pk_uuid(Providers::Id))
                .col(uuid(Providers::OrgId))
                .col(string_len(Providers::Name, 100))
                .col(string_len(Providers::Kind, 32).default("openai_compatible"))
                .col(string_len(Providers::BaseUrl, 2048))
                .col(text_null(Providers::ApiKeyEnc))
                .col(string_len_null(Providers::ApiKeyHint, 16))
                .col(json(Providers::Models))
                .col(integer(Providers::TimeoutSecs).default(120))
                .col(timestamp_with_time_zone(Providers::CreatedAt))
                .col(timestamp_with_time_zone(Providers::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_providers_org",
                    Providers::Table,
                    Providers::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("providers_org_name_key")
                .table(Providers::Table)
                .col(Providers::OrgId)
                .col(Providers::Name)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Agents::Table)
                .col(pk_uuid(Agents::Id))
                .col(uuid(Agents::OrgId))
                .col(uuid(Agents::OwnerId))
                .col(string_len(Agents::Name, 100))
                .col(text(Agents::Description).default(""))
                .col(text(Agents::SystemPrompt).default(""))
                .col(uuid_null(Agents::ProviderId))
                .col(string_len(Agents::Model, 200))
                .col(json(Agents::Parameters))
                .col(boolean(Agents::ReasoningEnabled).default(false))
                .col(json(Agents::Tools))
                .col(json(Agents::KnowledgeBaseIds))
                .col(string_len(Agents::Visibility, 16).default("private"))
                .col(json(Agents::GroupIds))
                .col(boolean(Agents::Published).default(false))
                .col(timestamp_with_time_zone(Agents::CreatedAt))
                .col(timestamp_with_time_zone(Agents::UpdatedAt))
                .foreign_key(&mut org_fk("fk_agents_org", Agents::Table, Agents::OrgId))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("agents_org_name_key")
                .table(Agents::Table)
                .col(Agents::OrgId)
                .col(Agents::Name)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Conversations::Table)
                .col(pk_uuid(Conversations::Id))
                .col(uuid(Conversations::OrgId))
                .col(uuid(Conversations::UserId))
                .col(uuid_null(Conversations::AgentId))
                .col(string_len(Conversations::Title, 200))
                .col(uuid_null(Conversations::ParentId))
                .col(uuid_null(Conversations::BranchedFromMessageId))
                .col(string_len(Conversations::Source, 16).default("web"))
                .col(timestamp_with_time_zone(Conversations::CreatedAt))
                .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                .col(timestamp_with_time_zone_null(Conversations::DeletedAt))
                .foreign_key(&mut org_fk(
                    "fk_conversations_org",
                    Conversations::Table,
                    Conversations::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("conversations_owner_idx")
                .table(Conversations::Table)
                .col(Conversations::OrgId)
                .col(Conversations::UserId)
                .col(Conversations::UpdatedAt)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(pk_uuid(Messages::Id))
                .col(uuid(Messages::OrgId))
                .col(uuid(Messages::ConversationId))
                .col(integer(Messages::Seq))
                .col(string_len(Messages::Role, 16))
                .col(text(Messages::Content))
                .col(text_null(Messages::Reasoning))
                .col(json_null(Messages::ToolCalls))
                .col(integer(Messages::Images).default(0))
                .col(string_len(Messages::Status, 16).default("complete"))
                .col(text_null(Messages::Error))
                .col(string_len_null(Messages::Model, 200))
                .col(integer_null(Messages::InputTokens))
                .col(integer_null(Messages::OutputTokens))
                .col(integer_null(Messages::LatencyMs))
                .col(small_integer_null(Messages::Feedback))
                .col(text_null(Messages::FeedbackComment))
                .col(timestamp_with_time_zone(Messages::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_messages_conversation")
                        .from(Messages::Table, Messages::ConversationId)
                        .to(Conversations::Table, Conversations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("messages_conversation_seq_key")
                .table(Messages::Table)
                .col(Messages::ConversationId)
                .col(Messages::Seq)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UsageRecords::Table)
                .col(pk_uuid(UsageRecords::Id))
                .col(uuid(UsageRecords::OrgId))
                .col(uuid_null(UsageRecords::UserId))
                .col(uuid_null(UsageRecords::ApiKeyId))
                .col(uuid_null(UsageRecords::AgentId))
                .col(uuid_null(UsageRecords::ProviderId))
                .col(string_len(UsageRecords::Model, 200))
                .col(string_len(UsageRecords::Endpoint, 32))
                .col(big_integer(UsageRecords::InputTokens))
                .col(big_integer(UsageRecords::OutputTokens))
                .col(integer(UsageRecords::LatencyMs))
                .col(string_len(UsageRecords::Status, 16))
                .col(timestamp_with_time_zone(UsageRecords::CreatedAt))
                .foreign_key(&mut org_fk(
                    "fk_usage_records_org",
                    UsageRecords::Table,
                    UsageRecords::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("usage_records_org_time_idx")
                .table(UsageRecords::Table)
                .col(UsageRecords::OrgId)
                .col(UsageRecords::CreatedAt)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("usage_records_user_time_idx")
                .table(UsageRecords::Table)
                .col(UsageRecords::UserId)
                .col(UsageRecords::CreatedAt)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            UsageRecords::Table.into_iden(),
            Messages::Table.into_iden(),
            Conversations::Table.into_iden(),
            Agents::Table.into_iden(),
            Providers::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
