//! Single sign-on: identity providers per organisation (OIDC, OAuth 2, SAML), the short-lived
//! records of flows in progress (OAuth state, SAML request ids, login pick-up codes), the SAML
//! replay cache, and the groups an identity last synced.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoProviders {
    Table,
    Id,
    OrgId,
    Kind,
    Name,
    Enabled,
    Issuer,
    Config,
    ClientSecretEnc,
    LastError,
    LastErrorAt,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SsoFlows {
    Table,
    Id,
    Purpose,
    OrgId,
    ProviderId,
    BindingHash,
    SecretEnc,
    Nonce,
    ReturnTo,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SsoReplays {
    Table,
    Id,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    SyncedGroups,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
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
                .table(SsoProviders::Table)
                .col(pk_uuid(SsoProviders::Id))
                .col(uuid(SsoProviders::OrgId))
                .col(string_len(SsoProviders::Kind, 16))
                .col(string_len(SsoProviders::Name, 100))
                .col(boolean(SsoProviders::Enabled).default(true))
                // OIDC issuer or SAML IdP entity id: IdP-initiated SAML finds its provider by it.
                .col(string_len_null(SsoProviders::Issuer, 2048))
                .col(json(SsoProviders::Config))
                .col(text_null(SsoProviders::ClientSecretEnc))
                .col(text_null(SsoProviders::LastError))
                .col(timestamp_with_time_zone_null(SsoProviders::LastErrorAt))
                .col(timestamp_with_time_zone_null(SsoProviders::LastLoginAt))
                .col(timestamp_with_time_zone(SsoProviders::CreatedAt))
                .col(timestamp_with_time_zone(SsoProviders::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_sso_providers_org",
                    SsoProviders::Table,
                    SsoProviders::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sso_providers_org_name_key")
                .table(SsoProviders::Table)
                .col(SsoProviders::OrgId)
                .col(SsoProviders::Name)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sso_providers_issuer_idx")
                .table(SsoProviders::Table)
                .col(SsoProviders::Issuer)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SsoFlows::Table)
                // A keyed hash of the state, request id or pick-up code: the raw value is never stored.
                .col(string_len(SsoFlows::Id, 128).primary_key())
                .col(string_len(SsoFlows::Purpose, 16))
                .col(uuid(SsoFlows::OrgId))
                .col(uuid_null(SsoFlows::ProviderId))
                .col(string_len_null(SsoFlows::BindingHash, 128))
                .col(text_null(SsoFlows::SecretEnc))
                .col(string_len_null(SsoFlows::Nonce, 128))
                .col(string_len(SsoFlows::ReturnTo, 2048))
                .col(uuid_null(SsoFlows::UserId))
                .col(timestamp_with_time_zone(SsoFlows::CreatedAt))
                .col(timestamp_with_time_zone(SsoFlows::ExpiresAt))
                .foreign_key(&mut org_fk(
                    "fk_sso_flows_org",
                    SsoFlows::Table,
                    SsoFlows::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sso_flows_expires_idx")
                .table(SsoFlows::Table)
                .col(SsoFlows::ExpiresAt)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SsoReplays::Table)
                .col(string_len(SsoReplays::Id, 128).primary_key())
                .col(timestamp_with_time_zone(SsoReplays::ExpiresAt))
                .take(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table(Identities::Table)
                .add_column(json_null(Identities::SyncedGroups))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Identities::Table)
                .drop_column(Identities::SyncedGroups)
                .take(),
        )
        .await?;
        for table in [
            SsoReplays::Table.into_iden(),
            SsoFlows::Table.into_iden(),
            SsoProviders::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
