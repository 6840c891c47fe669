//! Knowledge bases (Egret's "domains"), their categories, and their documents (issue 13: the
//! knowledge bases item, with every column the documents, ingestion, reindexing and search
//! items need, so those need no second migration of these tables). See docs/plans/knowledge.md.
//!
//! - `knowledge_bases.slug` is unique per organisation. A deleted knowledge base (its
//!   `deleted_at` set; the `knowledge.delete` job removes it for good) gives its slug up at once:
//!   the service rewrites it to `~<id>`, which no live slug can equal (`~` is not allowed in
//!   one).
//! - `knowledge_bases.public_slug` holds the slug while the knowledge base is public and NULL
//!   otherwise: unique across the instance, so `GET /v1/domains/{slug}/` finds one public
//!   knowledge base whatever the organisation (NULLs never collide, in SQLite or PostgreSQL).
//! - `index_generation` names the live set of vectors (LanceDB table `kb_<id>_<generation>`); a
//!   reindex builds the next one and switches when it is complete.
//! - `documents.deleted_at` hides a document at once while its vectors and file are removed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnowledgeBases {
    Table,
    Id,
    OrgId,
    OwnerId,
    Slug,
    PublicSlug,
    Name,
    Description,
    Visibility,
    GroupIds,
    ChunkSize,
    ChunkOverlap,
    EmbeddingProviderId,
    EmbeddingModel,
    EmbeddingDimensions,
    IndexGeneration,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum KnowledgeCategories {
    Table,
    Id,
    OrgId,
    KbId,
    Slug,
    Name,
    Description,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    OrgId,
    KbId,
    CategoryId,
    Filename,
    MediaType,
    SizeBytes,
    ContentHash,
    Source,
    Metadata,
    Status,
    Progress,
    Error,
    ChunkCount,
    JobId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    IndexedAt,
    DeletedAt,
}

fn org_fk(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn kb_fk(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(KnowledgeBases::Table, KnowledgeBases::Id)
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
                .table(KnowledgeBases::Table)
                .col(pk_uuid(KnowledgeBases::Id))
                .col(uuid(KnowledgeBases::OrgId))
                .col(uuid(KnowledgeBases::OwnerId))
                .col(string_len(KnowledgeBases::Slug, 100))
                .col(string_len_null(KnowledgeBases::PublicSlug, 100))
                .col(string_len(KnowledgeBases::Name, 100))
                .col(text(KnowledgeBases::Description).default(""))
                .col(string_len(KnowledgeBases::Visibility, 16).default("private"))
                .col(json(KnowledgeBases::GroupIds))
                .col(integer(KnowledgeBases::ChunkSize).default(800))
                .col(integer(KnowledgeBases::ChunkOverlap).default(100))
                // NULL: the built-in model (candle, all-MiniLM-L6-v2).
                .col(uuid_null(KnowledgeBases::EmbeddingProviderId))
                .col(string_len(KnowledgeBases::EmbeddingModel, 200).default("all-MiniLM-L6-v2"))
                .col(integer_null(KnowledgeBases::EmbeddingDimensions))
                .col(integer(KnowledgeBases::IndexGeneration).default(0))
                .col(timestamp_with_time_zone(KnowledgeBases::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeBases::UpdatedAt))
                .col(timestamp_with_time_zone_null(KnowledgeBases::DeletedAt))
                .foreign_key(&mut org_fk(
                    "fk_knowledge_bases_org",
                    KnowledgeBases::Table,
                    KnowledgeBases::OrgId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("knowledge_bases_org_slug_key")
                .table(KnowledgeBases::Table)
                .col(KnowledgeBases::OrgId)
                .col(KnowledgeBases::Slug)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("knowledge_bases_public_slug_key")
                .table(KnowledgeBases::Table)
                .col(KnowledgeBases::PublicSlug)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("knowledge_bases_org_owner_idx")
                .table(KnowledgeBases::Table)
                .col(KnowledgeBases::OrgId)
                .col(KnowledgeBases::OwnerId)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(KnowledgeCategories::Table)
                .col(pk_uuid(KnowledgeCategories::Id))
                .col(uuid(KnowledgeCategories::OrgId))
                .col(uuid(KnowledgeCategories::KbId))
                .col(string_len(KnowledgeCategories::Slug, 100))
                .col(string_len(KnowledgeCategories::Name, 100))
                .col(text(KnowledgeCategories::Description).default(""))
                .col(integer(KnowledgeCategories::Position).default(0))
                .col(timestamp_with_time_zone(KnowledgeCategories::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeCategories::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_knowledge_categories_org",
                    KnowledgeCategories::Table,
                    KnowledgeCategories::OrgId,
                ))
                .foreign_key(&mut kb_fk(
                    "fk_knowledge_categories_kb",
                    KnowledgeCategories::Table,
                    KnowledgeCategories::KbId,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("knowledge_categories_kb_slug_key")
                .table(KnowledgeCategories::Table)
                .col(KnowledgeCategories::KbId)
                .col(KnowledgeCategories::Slug)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("knowledge_categories_org_kb_idx")
                .table(KnowledgeCategories::Table)
                .col(KnowledgeCategories::OrgId)
                .col(KnowledgeCategories::KbId)
                .col(KnowledgeCategories::Position)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Documents::Table)
                .col(pk_uuid(Documents::Id))
                .col(uuid(Documents::OrgId))
                .col(uuid(Documents::KbId))
                .col(uuid_null(Documents::CategoryId))
                .col(string_len(Documents::Filename, 255))
                .col(string_len(Documents::MediaType, 255))
                .col(big_integer(Documents::SizeBytes))
                // SHA-256, lower-case hex.
                .col(string_len(Documents::ContentHash, 64))
                // `upload` (POST /api/knowledge/{id}/documents) or `rag_index` (POST /v1/rag/index).
                .col(string_len(Documents::Source, 16).default("upload"))
                // What a citation shows besides the filename (title, URL…), as the client sent it.
                .col(json_null(Documents::Metadata))
                .col(string_len(Documents::Status, 16).default("queued"))
                .col(small_integer(Documents::Progress).default(0))
                .col(text_null(Documents::Error))
                .col(integer(Documents::ChunkCount).default(0))
                // The latest ingestion job (`knowledge.ingest`).
                .col(uuid_null(Documents::JobId))
                .col(uuid(Documents::CreatedBy))
                .col(timestamp_with_time_zone(Documents::CreatedAt))
                .col(timestamp_with_time_zone(Documents::UpdatedAt))
                .col(timestamp_with_time_zone_null(Documents::IndexedAt))
                .col(timestamp_with_time_zone_null(Documents::DeletedAt))
                .foreign_key(&mut org_fk(
                    "fk_documents_org",
                    Documents::Table,
                    Documents::OrgId,
                ))
                .foreign_key(&mut kb_fk(
                    "fk_documents_kb",
                    Documents::Table,
                    Documents::KbId,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_documents_category")
                        .from(Documents::Table, Documents::CategoryId)
                        .to(KnowledgeCategories::Table, KnowledgeCategories::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("documents_org_kb_created_idx")
                .table(Documents::Table)
                .col(Documents::OrgId)
                .col(Documents::KbId)
                .col(Documents::CreatedAt)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("documents_kb_category_idx")
                .table(Documents::Table)
                .col(Documents::KbId)
                .col(Documents::CategoryId)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("documents_kb_hash_idx")
                .table(Documents::Table)
                .col(Documents::KbId)
                .col(Documents::ContentHash)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Documents::Table.into_iden(),
            KnowledgeCategories::Table.into_iden(),
            KnowledgeBases::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
