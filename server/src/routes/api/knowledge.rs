//! `/api/knowledge…` and `/api/marketplace/knowledge` (seed 004's "Knowledge bases"), with
//! Aerie's category routes (no seed writes categories; `docs/plans/knowledge.md` §4.6).
//! Reading, searching and adding documents are data plane (API keys too, as seed 003's
//! `/v1/rag/index`); changing settings and removing documents take a person, as agents.

use aerie_backend::actor::Actor;
use aerie_backend::services::knowledge;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::{CategoryId, DocumentId, KbId};
use aerie_contract::knowledge::{
    Category, Document, KnowledgeBase, MarketplaceKnowledgeBase, NewCategory, NewKnowledgeBase,
    ReindexStarted, SearchRequest, SearchResults, UpdateCategory, UpdateKnowledgeBase,
    UploadedDocument,
};
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath, Uploads};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_knowledge_bases, create_knowledge_base))
        .routes(routes!(
            get_knowledge_base,
            update_knowledge_base,
            delete_knowledge_base
        ))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
        .routes(routes!(marketplace_knowledge))
        .routes(routes!(get_document, delete_document))
        .routes(routes!(search_knowledge_base))
        .routes(routes!(reindex_knowledge_base))
        .merge(
            // Uploads have their own limit (`extract::Uploads`), not the general body limit.
            OpenApiRouter::new()
                .routes(routes!(list_documents, upload_documents))
                .layer(DefaultBodyLimit::disable()),
        )
}

/// The form of `POST /api/knowledge/{id}/documents` (documentation only: `extract::Uploads`
/// reads it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// One or more files (plain text, Markdown, HTML, PDF, DOCX, CSV or JSON; the type is read
    /// from the content). At most 20 MiB each and 50 MiB in all by default. Each is a file
    /// part: its Content-Disposition names a filename.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
    /// File them under this category of the knowledge base.
    category_id: Option<CategoryId>,
}

/// List a knowledge base's documents, newest first, with their state of ingestion.
#[utoipa::path(get, path = "/api/knowledge/{id}/documents", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id")),
    responses((status = 200, body = [Document]), (status = 404, body = ErrorBody)))]
pub async fn list_documents(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
) -> Result<Json<Vec<Document>>, Error> {
    Ok(Json(knowledge::documents(&ctx, &actor, id).await?))
}

/// Add documents (the knowledge base's owner or an admin; API keys too): every file is read
/// first, so an unsupported or corrupt one answers 400 naming it and nothing is stored. Each
/// new document is `queued` and ingested in the background; bytes the knowledge base already
/// holds come back as the existing document with `duplicate: true`.
#[utoipa::path(post, path = "/api/knowledge/{id}/documents", tag = "knowledge",
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    params(("id" = KbId, Path, description = "Knowledge base id")),
    responses((status = 201, body = [UploadedDocument]),
        (status = 400, description = "A file cannot be indexed (unsupported, corrupt or empty; the detail names it), no file, or an unknown category", body = ErrorBody),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, description = "A file or the whole upload is larger than the server accepts", body = ErrorBody),
        (status = 415, description = "The body is not multipart/form-data", body = ErrorBody)))]
pub async fn upload_documents(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
    form: Uploads,
) -> Result<(StatusCode, Json<Vec<UploadedDocument>>), Error> {
    let files = form
        .files
        .into_iter()
        .map(|(filename, bytes)| knowledge::Upload {
            filename,
            bytes,
            metadata: None,
        })
        .collect();
    let stored = knowledge::upload(
        &ctx,
        &actor,
        id,
        form.category_id,
        files,
        knowledge::Source::Upload,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Read one document and its state of ingestion.
#[utoipa::path(get, path = "/api/knowledge/{id}/documents/{document_id}", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id"), ("document_id" = DocumentId, Path, description = "Document id")),
    responses((status = 200, body = Document), (status = 404, body = ErrorBody)))]
pub async fn get_document(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath((id, document_id)): AppPath<(KbId, DocumentId)>,
) -> Result<Json<Document>, Error> {
    Ok(Json(
        knowledge::document(&ctx, &actor, id, document_id).await?,
    ))
}

/// Remove a document (the knowledge base's owner or an admin): gone from lists and searches at
/// once; its chunks and file are removed by a background job.
#[utoipa::path(delete, path = "/api/knowledge/{id}/documents/{document_id}", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id"), ("document_id" = DocumentId, Path, description = "Document id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_document(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath((id, document_id)): AppPath<(KbId, DocumentId)>,
) -> Result<StatusCode, Error> {
    knowledge::delete_document(&ctx, &actor, id, document_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Search a knowledge base: ranked passages with their source (document and position). Hybrid
/// by default (vector and BM25 fused by reciprocal rank).
#[utoipa::path(post, path = "/api/knowledge/{id}/search", tag = "knowledge", request_body = SearchRequest,
    params(("id" = KbId, Path, description = "Knowledge base id")),
    responses((status = 200, body = SearchResults),
        (status = 400, description = "No query (\"query field is required.\"), top_k outside 1–50, or an unknown category", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, description = "The knowledge base's embedding model is not available", body = ErrorBody)))]
pub async fn search_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
    AppJson(input): AppJson<SearchRequest>,
) -> Result<Json<SearchResults>, Error> {
    Ok(Json(knowledge::search(&ctx, &actor, id, input).await?))
}

/// List the knowledge bases you can see.
#[utoipa::path(get, path = "/api/knowledge", tag = "knowledge",
    responses((status = 200, body = [KnowledgeBase]), (status = 401, body = ErrorBody)))]
pub async fn list_knowledge_bases(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<KnowledgeBase>>, Error> {
    Ok(Json(knowledge::list(&ctx, &actor).await?))
}

/// Create a knowledge base (any member; you own it).
#[utoipa::path(post, path = "/api/knowledge", tag = "knowledge", request_body = NewKnowledgeBase,
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 201, body = KnowledgeBase), (status = 400, body = ErrorBody),
        (status = 409, description = "The slug is taken in your organisation, or by a public knowledge base of another one", body = ErrorBody)))]
pub async fn create_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewKnowledgeBase>,
) -> Result<(StatusCode, Json<KnowledgeBase>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(knowledge::create(&ctx, &actor, input).await?),
    ))
}

/// Read a knowledge base, with its categories and counts.
#[utoipa::path(get, path = "/api/knowledge/{id}", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id")),
    responses((status = 200, body = KnowledgeBase), (status = 404, body = ErrorBody)))]
pub async fn get_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
) -> Result<Json<KnowledgeBase>, Error> {
    Ok(Json(knowledge::get(&ctx, &actor, id).await?))
}

/// Change a knowledge base's settings (its owner or an admin).
#[utoipa::path(patch, path = "/api/knowledge/{id}", tag = "knowledge", request_body = UpdateKnowledgeBase,
    params(("id" = KbId, Path, description = "Knowledge base id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 200, body = KnowledgeBase), (status = 400, body = ErrorBody),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The slug is taken in your organisation, or by a public knowledge base of another one", body = ErrorBody)))]
pub async fn update_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
    AppJson(input): AppJson<UpdateKnowledgeBase>,
) -> Result<Json<KnowledgeBase>, Error> {
    Ok(Json(knowledge::update(&ctx, &actor, id, input).await?))
}

/// Delete a knowledge base (its owner or an admin): gone at once; its documents, files and
/// vectors are removed by a background job.
#[utoipa::path(delete, path = "/api/knowledge/{id}", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
) -> Result<StatusCode, Error> {
    knowledge::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a knowledge base's categories, in display order.
#[utoipa::path(get, path = "/api/knowledge/{id}/categories", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id")),
    responses((status = 200, body = [Category]), (status = 404, body = ErrorBody)))]
pub async fn list_categories(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
) -> Result<Json<Vec<Category>>, Error> {
    Ok(Json(knowledge::categories(&ctx, &actor, id).await?))
}

/// Add a category (the knowledge base's owner or an admin).
#[utoipa::path(post, path = "/api/knowledge/{id}/categories", tag = "knowledge", request_body = NewCategory,
    params(("id" = KbId, Path, description = "Knowledge base id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 201, body = Category), (status = 400, body = ErrorBody),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The slug is taken in this knowledge base, or it holds the most categories allowed", body = ErrorBody)))]
pub async fn create_category(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
    AppJson(input): AppJson<NewCategory>,
) -> Result<(StatusCode, Json<Category>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(knowledge::create_category(&ctx, &actor, id, input).await?),
    ))
}

/// Change a category (the knowledge base's owner or an admin).
#[utoipa::path(patch, path = "/api/knowledge/{id}/categories/{category_id}", tag = "knowledge", request_body = UpdateCategory,
    params(("id" = KbId, Path, description = "Knowledge base id"), ("category_id" = CategoryId, Path, description = "Category id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 200, body = Category), (status = 400, body = ErrorBody),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The slug is taken in this knowledge base", body = ErrorBody)))]
pub async fn update_category(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath((id, category_id)): AppPath<(KbId, CategoryId)>,
    AppJson(input): AppJson<UpdateCategory>,
) -> Result<Json<Category>, Error> {
    Ok(Json(
        knowledge::update_category(&ctx, &actor, id, category_id, input).await?,
    ))
}

/// Remove a category; its documents stay, uncategorised.
#[utoipa::path(delete, path = "/api/knowledge/{id}/categories/{category_id}", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id"), ("category_id" = CategoryId, Path, description = "Category id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_category(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath((id, category_id)): AppPath<(KbId, CategoryId)>,
) -> Result<StatusCode, Error> {
    knowledge::delete_category(&ctx, &actor, id, category_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Browse public knowledge bases of every organisation (no authentication).
#[utoipa::path(get, path = "/api/marketplace/knowledge", tag = "knowledge",
    security(()),
    responses((status = 200, body = [MarketplaceKnowledgeBase])))]
pub async fn marketplace_knowledge(
    State(ctx): State<AppContext>,
) -> Result<Json<Vec<MarketplaceKnowledgeBase>>, Error> {
    Ok(Json(knowledge::marketplace(&ctx).await?))
}

/// Re-embed all chunks (the knowledge base's owner or an admin): a background job cuts and embeds
/// every ready document again with the current settings; searches use the previous index until
/// the new one is complete.
#[utoipa::path(post, path = "/api/knowledge/{id}/reindex", tag = "knowledge",
    params(("id" = KbId, Path, description = "Knowledge base id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 202, description = "Queued", body = ReindexStarted),
        (status = 403, description = "Only the knowledge base's owner or an organisation admin can change it", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn reindex_knowledge_base(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<KbId>,
) -> Result<(StatusCode, Json<ReindexStarted>), Error> {
    Ok((
        StatusCode::ACCEPTED,
        Json(knowledge::reindex(&ctx, &actor, id).await?),
    ))
}
