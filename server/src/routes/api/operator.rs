//! `/api/operator/*`: the instance operator's organisations, SSO domain approvals
//! (docs/TENANTS.md), plans and prices (docs/BILLING.md). People only, and only the operator
//! (403 for anyone else).

use aerie_backend::actor::Actor;
use aerie_backend::services::billing::terms;
use aerie_backend::services::operator::{self, Operator};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::DomainClaimStatus;
use aerie_contract::ErrorBody;
use aerie_contract::billing::Plan;
use aerie_contract::ids::OrgId;
use aerie_contract::operator::{
    ChangePlan, CreateTenant, CreatedTenant, DecideDomainClaim, DomainClaim, ModelPrice, PlanInput,
    TenantOrganization,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath, AppQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(delete_organization))
        .routes(routes!(suspend_organization))
        .routes(routes!(resume_organization))
        .routes(routes!(list_domain_claims))
        .routes(routes!(decide_domain_claim))
        .routes(routes!(save_plan))
        .routes(routes!(list_prices, save_price))
        .routes(routes!(change_plan))
}

/// Every organisation of the instance, oldest first (the operator).
#[utoipa::path(get, path = "/api/operator/organizations", tag = "operator",
    responses((status = 200, body = [TenantOrganization]),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn list_organizations(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<TenantOrganization>>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(operator::organizations(&ctx, &op).await?))
}

/// Create an organisation and invite its first owner (the operator). The invitation link is
/// answered once.
#[utoipa::path(post, path = "/api/operator/organizations", tag = "operator",
    request_body = CreateTenant,
    responses((status = 201, body = CreatedTenant), (status = 400, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody),
        (status = 409, description = "The address is taken, or the owner already has an account", body = ErrorBody)))]
pub async fn create_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<CreateTenant>,
) -> Result<(StatusCode, Json<CreatedTenant>), Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(operator::create(&ctx, &op, input).await?),
    ))
}

/// Delete a suspended organisation and everything it holds (the operator).
#[utoipa::path(delete, path = "/api/operator/organizations/{id}", tag = "operator",
    params(("id" = OrgId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody),
        (status = 409, description = "Not suspended, or the operator's own organisation", body = ErrorBody)))]
pub async fn delete_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<OrgId>,
) -> Result<StatusCode, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    operator::delete(&ctx, &op, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend an organisation: its keys, sessions and chats stop at once (the operator).
#[utoipa::path(post, path = "/api/operator/organizations/{id}/suspend", tag = "operator",
    params(("id" = OrgId, Path)),
    responses((status = 200, body = TenantOrganization), (status = 404, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody),
        (status = 409, description = "The operator's own organisation", body = ErrorBody)))]
pub async fn suspend_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<OrgId>,
) -> Result<Json<TenantOrganization>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(operator::suspend(&ctx, &op, id).await?))
}

/// Resume a suspended organisation (the operator).
#[utoipa::path(post, path = "/api/operator/organizations/{id}/resume", tag = "operator",
    params(("id" = OrgId, Path)),
    responses((status = 200, body = TenantOrganization), (status = 404, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn resume_organization(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<OrgId>,
) -> Result<Json<TenantOrganization>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(operator::resume(&ctx, &op, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimFilter {
    /// Only claims with this status (`pending`, `approved`, `rejected`).
    #[serde(default)]
    pub status: Option<DomainClaimStatus>,
}

/// The organisations' claims to email domains for single sign-on (the operator).
#[utoipa::path(get, path = "/api/operator/sso-domains", tag = "operator",
    params(ClaimFilter),
    responses((status = 200, body = [DomainClaim]),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn list_domain_claims(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(filter): AppQuery<ClaimFilter>,
) -> Result<Json<Vec<DomainClaim>>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(
        operator::domain_claims(&ctx, &op, filter.status).await?,
    ))
}

/// Approve or reject an organisation's claim to an email domain (the operator). Approved, the
/// domain routes the login page to the organisation and its providers may provision and vouch
/// for people of the domain.
#[utoipa::path(post, path = "/api/operator/sso-domains/{domain}", tag = "operator",
    params(("domain" = String, Path)), request_body = DecideDomainClaim,
    responses((status = 200, body = DomainClaim), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn decide_domain_claim(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(domain): AppPath<String>,
    AppJson(input): AppJson<DecideDomainClaim>,
) -> Result<Json<DomainClaim>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(
        operator::decide_domain(&ctx, &op, &domain, input.status).await?,
    ))
}

/// Create a plan, or replace one by its slug (the operator). Organisations on it follow at
/// their next call.
#[utoipa::path(post, path = "/api/operator/plans", tag = "operator",
    request_body = PlanInput,
    responses((status = 200, body = Plan), (status = 400, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn save_plan(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<PlanInput>,
) -> Result<Json<Plan>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(terms::save_plan(&ctx, &op, input).await?))
}

/// Every model price, in credits per million tokens, `*` first (the operator).
#[utoipa::path(get, path = "/api/operator/prices", tag = "operator",
    responses((status = 200, body = [ModelPrice]),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn list_prices(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<ModelPrice>>, Error> {
    Operator::check(&ctx, &actor).await?;
    Ok(Json(terms::price_list(&ctx).await?))
}

/// Price a model (`*`: every model without its own price), in credits per million input and
/// output tokens (the operator).
#[utoipa::path(post, path = "/api/operator/prices", tag = "operator",
    request_body = ModelPrice,
    responses((status = 200, body = ModelPrice), (status = 400, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn save_price(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<ModelPrice>,
) -> Result<Json<ModelPrice>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(terms::save_model_price(&ctx, &op, input).await?))
}

/// Move an organisation to a plan (the operator); its current period's grant follows at once.
#[utoipa::path(post, path = "/api/operator/organizations/{id}/plan", tag = "operator",
    params(("id" = OrgId, Path)), request_body = ChangePlan,
    responses((status = 200, body = Plan), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 403, description = "Not the instance operator", body = ErrorBody)))]
pub async fn change_plan(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<OrgId>,
    AppJson(input): AppJson<ChangePlan>,
) -> Result<Json<Plan>, Error> {
    let op = Operator::check(&ctx, &actor).await?;
    Ok(Json(
        terms::subscribe_org(&ctx, &op, id, &input.plan).await?,
    ))
}
