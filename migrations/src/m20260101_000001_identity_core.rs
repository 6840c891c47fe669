//! The identity core: organisations, users, memberships with roles, groups and their members,
//! external identities, API keys, refresh tokens, audit events and background jobs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Slug,
    Name,
    AllowedDomains,
    Plan,
    SignupMode,
    Settings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    AvatarUrl,
    Language,
    PasswordHash,
    Status,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    OrgId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    GroupId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    UserId,
    OrgId,
    Provider,
    Subject,
    Email,
    EmailVerified,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrgId,
    UserId,
    Name,
    Prefix,
    SecretHash,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    OrgId,
    UserId,
    FamilyId,
    TokenHash,
    IssuedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OrgId,
    ActorUserId,
    ActorApiKeyId,
    Action,
    TargetType,
    TargetId,
    Ip,
    Details,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    OrgId,
    Kind,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LeaseOwner,
    LeaseExpiresAt,
    Progress,
    Error,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt.take()
}

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(pk_uuid(Organizations::Id))
                .col(string_len(Organizations::Slug, 64).unique_key())
                .col(string(Organizations::Name))
                .col(json(Organizations::AllowedDomains))
                .col(string_len(Organizations::Plan, 32).default("community"))
                .col(string_len(Organizations::SignupMode, 16).default("invite_only"))
                .col(json(Organizations::Settings))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                // Stored lower-cased by the service layer, so one unique index suffices.
                .col(string_len(Users::Email, 320).unique_key())
                .col(string(Users::Name))
                .col(string_null(Users::AvatarUrl))
                .col(string_len(Users::Language, 16).default("en"))
                .col(string_null(Users::PasswordHash))
                .col(string_len(Users::Status, 16).default("active"))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .col(timestamp_with_time_zone_null(Users::DeletedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(pk_uuid(Memberships::Id))
                .col(uuid(Memberships::OrgId))
                .col(uuid(Memberships::UserId))
                .col(string_len(Memberships::Role, 16))
                .col(timestamp_with_time_zone(Memberships::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_memberships_org",
                    (Memberships::Table, Memberships::OrgId),
                    (Organizations::Table, Organizations::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_memberships_user",
                    (Memberships::Table, Memberships::UserId),
                    (Users::Table, Users::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "memberships_org_user_key",
            Memberships::Table,
            &["org_id", "user_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "memberships_user_idx",
            Memberships::Table,
            &["user_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Groups::Table)
                .col(pk_uuid(Groups::Id))
                .col(uuid(Groups::OrgId))
                .col(string(Groups::Name))
                .col(text(Groups::Description).default(""))
                .col(timestamp_with_time_zone(Groups::CreatedAt))
                .col(timestamp_with_time_zone(Groups::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_groups_org",
                    (Groups::Table, Groups::OrgId),
                    (Organizations::Table, Organizations::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "groups_org_name_key",
            Groups::Table,
            &["org_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(GroupMembers::Table)
                .col(uuid(GroupMembers::GroupId))
                .col(uuid(GroupMembers::UserId))
                .col(timestamp_with_time_zone(GroupMembers::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(GroupMembers::GroupId)
                        .col(GroupMembers::UserId),
                )
                .foreign_key(&mut fk(
                    "fk_group_members_group",
                    (GroupMembers::Table, GroupMembers::GroupId),
                    (Groups::Table, Groups::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_group_members_user",
                    (GroupMembers::Table, GroupMembers::UserId),
                    (Users::Table, Users::Id),
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Identities::Table)
                .col(pk_uuid(Identities::Id))
                .col(uuid(Identities::UserId))
                .col(uuid_null(Identities::OrgId))
                .col(string_len(Identities::Provider, 64))
                .col(string(Identities::Subject))
                .col(string_len_null(Identities::Email, 320))
                .col(boolean(Identities::EmailVerified).default(false))
                .col(timestamp_with_time_zone(Identities::CreatedAt))
                .col(timestamp_with_time_zone_null(Identities::LastLoginAt))
                .foreign_key(&mut fk(
                    "fk_identities_user",
                    (Identities::Table, Identities::UserId),
                    (Users::Table, Users::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "identities_provider_subject_key",
            Identities::Table,
            &["provider", "subject"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(pk_uuid(ApiKeys::Id))
                .col(uuid(ApiKeys::OrgId))
                .col(uuid(ApiKeys::UserId))
                .col(string(ApiKeys::Name))
                .col(string_len(ApiKeys::Prefix, 32).unique_key())
                .col(string_len(ApiKeys::SecretHash, 128))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(&mut fk(
                    "fk_api_keys_org",
                    (ApiKeys::Table, ApiKeys::OrgId),
                    (Organizations::Table, Organizations::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_api_keys_user",
                    (ApiKeys::Table, ApiKeys::UserId),
                    (Users::Table, Users::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "api_keys_org_user_idx",
            ApiKeys::Table,
            &["org_id", "user_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(pk_uuid(RefreshTokens::Id))
                .col(uuid(RefreshTokens::OrgId))
                .col(uuid(RefreshTokens::UserId))
                .col(uuid(RefreshTokens::FamilyId))
                .col(string_len(RefreshTokens::TokenHash, 128).unique_key())
                .col(timestamp_with_time_zone(RefreshTokens::IssuedAt))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                .foreign_key(&mut fk(
                    "fk_refresh_tokens_user",
                    (RefreshTokens::Table, RefreshTokens::UserId),
                    (Users::Table, Users::Id),
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "refresh_tokens_family_idx",
            RefreshTokens::Table,
            &["family_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(pk_uuid(AuditEvents::Id))
                .col(uuid_null(AuditEvents::OrgId))
                .col(uuid_null(AuditEvents::ActorUserId))
                .col(uuid_null(AuditEvents::ActorApiKeyId))
                .col(string_len(AuditEvents::Action, 64))
                .col(string_len_null(AuditEvents::TargetType, 64))
                .col(string_null(AuditEvents::TargetId))
                .col(string_len_null(AuditEvents::Ip, 64))
                .col(json(AuditEvents::Details))
                .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                .take(),
        )
        .await?;
        m.create_index(index(
            "audit_events_org_created_idx",
            AuditEvents::Table,
            &["org_id", "created_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(pk_uuid(Jobs::Id))
                .col(uuid_null(Jobs::OrgId))
                .col(string_len(Jobs::Kind, 64))
                .col(json(Jobs::Payload))
                .col(string_len(Jobs::Status, 16).default("queued"))
                .col(integer(Jobs::Attempts).default(0))
                .col(integer(Jobs::MaxAttempts).default(5))
                .col(timestamp_with_time_zone(Jobs::RunAt))
                .col(string_len_null(Jobs::LeaseOwner, 64))
                .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                .col(json_null(Jobs::Progress))
                .col(text_null(Jobs::Error))
                .col(timestamp_with_time_zone(Jobs::CreatedAt))
                .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(index(
            "jobs_status_run_at_idx",
            Jobs::Table,
            &["status", "run_at"],
            false,
        ))
        .await?;

        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Jobs::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Identities::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            Groups::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
