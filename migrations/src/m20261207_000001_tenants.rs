//! Tenants (issue 14, part 0; docs/TENANTS.md): the instance operator, suspended organisations,
//! and the operator's approval of the email domains organisations claim for single sign-on.
//!
//! - `users.is_operator`: the instance operator, above every organisation. The first owner of
//!   the oldest organisation is the operator from the start (first-run setup makes its owner
//!   one); `aerie operator grant <email>` adds others.
//! - `organizations.suspended_at`: while set, the organisation's keys, sessions and tokens are
//!   refused and its chats stop.
//! - `sso_domain_claims`: one row per email domain an organisation's SSO policy names; the
//!   domain is the key, so two organisations can never both hold one. Only an `approved` claim
//!   routes the login page, provisions accounts or lets a provider vouch for an email. Claims
//!   that existed before this migration are approved for the oldest organisation (its owner is
//!   the operator who set them) and pending for the others.

use sea_orm_migration::sea_orm::prelude::{ChronoUtc, Uuid};
use sea_orm_migration::sea_orm::{ConnectionTrait, JsonValue, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    SuspendedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    IsOperator,
}

#[derive(DeriveIden)]
enum SsoDomainClaims {
    Table,
    Domain,
    OrgId,
    Status,
    RequestedAt,
    DecidedAt,
    DecidedBy,
}

#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::IsOperator).default(false))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .add_column(timestamp_with_time_zone_null(Organizations::SuspendedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SsoDomainClaims::Table)
                .col(string_len(SsoDomainClaims::Domain, 253).primary_key())
                .col(uuid(SsoDomainClaims::OrgId))
                .col(string_len(SsoDomainClaims::Status, 16))
                .col(timestamp_with_time_zone(SsoDomainClaims::RequestedAt))
                .col(timestamp_with_time_zone_null(SsoDomainClaims::DecidedAt))
                .col(uuid_null(SsoDomainClaims::DecidedBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sso_domain_claims_org")
                        .from(SsoDomainClaims::Table, SsoDomainClaims::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sso_domain_claims_org")
                .table(SsoDomainClaims::Table)
                .col(SsoDomainClaims::OrgId)
                .take(),
        )
        .await?;

        let db = m.get_connection();
        let backend = db.get_database_backend();
        // The operator: the first owner of the oldest organisation.
        db.execute_unprepared(
            "UPDATE users SET is_operator = TRUE WHERE id = (\
               SELECT m.user_id FROM memberships m JOIN organizations o ON o.id = m.org_id \
               WHERE m.role = 'owner' ORDER BY o.created_at, m.created_at LIMIT 1)",
        )
        .await?;
        // Existing claims, from each organisation's `settings.sso.email_domains`.
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, settings FROM organizations ORDER BY created_at",
            ))
            .await?;
        let now = ChronoUtc::now().fixed_offset();
        for (i, row) in rows.iter().enumerate() {
            let org: Uuid = row.try_get("", "id")?;
            let settings: JsonValue = row.try_get("", "settings")?;
            let domains = settings
                .pointer("/sso/email_domains")
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default();
            for domain in domains.iter().filter_map(|d| d.as_str()) {
                let status = if i == 0 { "approved" } else { "pending" };
                let decided = (i == 0).then_some(now);
                let mut insert = Query::insert();
                insert
                    .into_table(SsoDomainClaims::Table)
                    .columns([
                        SsoDomainClaims::Domain,
                        SsoDomainClaims::OrgId,
                        SsoDomainClaims::Status,
                        SsoDomainClaims::RequestedAt,
                        SsoDomainClaims::DecidedAt,
                    ])
                    .values([
                        domain.into(),
                        org.into(),
                        status.into(),
                        now.into(),
                        decided.into(),
                    ])
                    .map_err(|e| DbErr::Custom(e.to_string()))?
                    .on_conflict(
                        OnConflict::column(SsoDomainClaims::Domain)
                            .do_nothing()
                            .to_owned(),
                    );
                m.exec_stmt(insert).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SsoDomainClaims::Table).take())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .drop_column(Organizations::SuspendedAt)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::IsOperator)
                .take(),
        )
        .await
    }
}
