//! `/api/knowledge…` and `/api/marketplace/knowledge` (seed 004's "Knowledge bases"), with
//! Aerie's category routes (no seed writes categories; `docs/plans/knowledge.md` §4.6).
//! Reading is data plane (API keys too); changing takes a person, as agents.

use aerie_backend::actor::Actor;
use aerie_backend::services::knowledge;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::{CategoryId, KbId};
use aerie_contract::knowledge::{
    Category, KnowledgeBase, MarketplaceKnowledgeBase, NewCategory, NewKnowledgeBase,
    UpdateCategory, UpdateKnowledgeBase,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath};

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
