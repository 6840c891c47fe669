//! `/v1/chat`'s `session_id` is a tracking key the client chooses (seed 002): a conversation
//! remembers the key it was started with, unique per organisation and user.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    OrgId,
    UserId,
    SessionKey,
}

const INDEX: &str = "conversations_org_user_session_key";

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Conversations::Table)
                .add_column(string_len_null(Conversations::SessionKey, 200))
                .take(),
        )
        .await?;
        // Conversations without a key (NULL) do not collide in either database.
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(Conversations::Table)
                .col(Conversations::OrgId)
                .col(Conversations::UserId)
                .col(Conversations::SessionKey)
                .unique()
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(Conversations::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Conversations::Table)
                .drop_column(Conversations::SessionKey)
                .take(),
        )
        .await
    }
}
