//! A knowledge base remembers the embedding model its live index generation was built with
//! (`knowledge_bases.index_embedding`, JSON `{"provider_id": <uuid or null>, "model": "..."}`;
//! null: the model its settings name). Changing the model of a knowledge base that holds
//! documents then becomes a reindex: searches embed their query with the live index's model
//! until the new generation, built with the new one, takes over.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KnowledgeBases {
    Table,
    IndexEmbedding,
}

// async_trait's generated signature needs the elided lifetime.
#[expect(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(KnowledgeBases::Table)
                .add_column(json_null(KnowledgeBases::IndexEmbedding))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(KnowledgeBases::Table)
                .drop_column(KnowledgeBases::IndexEmbedding)
                .take(),
        )
        .await
    }
}
