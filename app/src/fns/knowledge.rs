//! Knowledge bases: list, read, create, change and delete them; list, add, change and delete
//! their categories; list and delete their documents, search them, reindex them. Uploads go to
//! `POST /api/knowledge/{id}/documents` (multipart, from the browser). The rules (who sees and who changes what) are in
//! `backend/src/services/knowledge/mod.rs`; the design is `docs/plans/knowledge.md`.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::ids::{CategoryId, DocumentId, KbId};
use crate::contract::knowledge::{
    Category, Document, KnowledgeBase, NewCategory, NewKnowledgeBase, ReindexStarted,
    SearchRequest, SearchResults, UpdateCategory, UpdateKnowledgeBase,
};

/// The knowledge bases of the organisation the caller sees, by name, with their categories.
#[server(prefix = "/_server", endpoint = "knowledge_list")]
pub async fn list_knowledge_bases() -> Result<Vec<KnowledgeBase>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "knowledge_get")]
pub async fn get_knowledge_base(id: KbId) -> Result<KnowledgeBase, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::get(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "knowledge_create", input = server_fn::codec::Json)]
pub async fn create_knowledge_base(input: NewKnowledgeBase) -> Result<KnowledgeBase, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Absent fields of `input` stay as they are.
#[server(prefix = "/_server", endpoint = "knowledge_update", input = server_fn::codec::Json)]
pub async fn edit_knowledge_base(
    id: KbId,
    input: UpdateKnowledgeBase,
) -> Result<KnowledgeBase, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

/// Hides it at once; a job removes what it held.
#[server(prefix = "/_server", endpoint = "knowledge_delete")]
pub async fn delete_knowledge_base(id: KbId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// The categories of knowledge base `id`, in display order.
#[server(prefix = "/_server", endpoint = "knowledge_categories")]
pub async fn list_categories(id: KbId) -> Result<Vec<Category>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::categories(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "knowledge_category_create", input = server_fn::codec::Json)]
pub async fn create_category(id: KbId, input: NewCategory) -> Result<Category, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::create_category(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

/// Absent fields of `input` stay as they are.
#[server(prefix = "/_server", endpoint = "knowledge_category_update", input = server_fn::codec::Json)]
pub async fn edit_category(
    id: KbId,
    category_id: CategoryId,
    input: UpdateCategory,
) -> Result<Category, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::update_category(&ctx, &actor, id, category_id, input)
        .await
        .map_err(super::ssr::err)
}

/// Its documents stay in the knowledge base, uncategorised.
#[server(prefix = "/_server", endpoint = "knowledge_category_delete")]
pub async fn delete_category(id: KbId, category_id: CategoryId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::delete_category(&ctx, &actor, id, category_id)
        .await
        .map_err(super::ssr::err)
}

/// The documents of knowledge base `id`, newest first, with their ingestion status.
#[server(prefix = "/_server", endpoint = "knowledge_documents")]
pub async fn list_documents(id: KbId) -> Result<Vec<Document>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::documents(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "knowledge_document")]
pub async fn get_document(id: KbId, document_id: DocumentId) -> Result<Document, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::document(&ctx, &actor, id, document_id)
        .await
        .map_err(super::ssr::err)
}

/// Hides it at once; a job removes its file and chunks.
#[server(prefix = "/_server", endpoint = "knowledge_document_delete")]
pub async fn delete_document(id: KbId, document_id: DocumentId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::delete_document(&ctx, &actor, id, document_id)
        .await
        .map_err(super::ssr::err)
}

/// The passages of knowledge base `id` that best match `input.query`, best first.
#[server(prefix = "/_server", endpoint = "knowledge_search", input = server_fn::codec::Json)]
pub async fn search_knowledge(id: KbId, input: SearchRequest) -> Result<SearchResults, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::search(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

/// Queues the job that re-embeds every document of knowledge base `id`.
#[server(prefix = "/_server", endpoint = "knowledge_reindex")]
pub async fn reindex_knowledge(id: KbId) -> Result<ReindexStarted, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::knowledge::reindex(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}
