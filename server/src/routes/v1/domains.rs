//! Egret's domains (seed 000, "Public"): a domain is a knowledge base. Anyone may call them; a
//! valid credential (session, JWT or API key) widens the answer to the caller's organisation's
//! knowledge bases they see, and a failed one is ignored, as on every public route. Trailing
//! slashes as documented.

use aerie_backend::actor::Actor;
use aerie_backend::services::knowledge;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::knowledge::{Category, Domain, DomainDetail};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppPath;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains))
        .routes(routes!(get_domain))
        .routes(routes!(domain_categories))
}

/// List all available domains: public ones, and your organisation's that you can see.
#[utoipa::path(get, path = "/v1/domains/", tag = "domains",
    security((), ("cookie" = []), ("bearer_jwt" = []), ("api_key" = []), ("x_api_key" = [])),
    responses((status = 200, body = [Domain])))]
pub async fn list_domains(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Domain>>, Error> {
    Ok(Json(knowledge::domains(&ctx, &actor).await?))
}

/// Domain detail with embedded categories.
#[utoipa::path(get, path = "/v1/domains/{slug}/", tag = "domains",
    params(("slug" = String, Path, description = "Domain slug")),
    security((), ("cookie" = []), ("bearer_jwt" = []), ("api_key" = []), ("x_api_key" = [])),
    responses((status = 200, body = DomainDetail), (status = 404, body = ErrorBody)))]
pub async fn get_domain(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(slug): AppPath<String>,
) -> Result<Json<DomainDetail>, Error> {
    Ok(Json(knowledge::domain_detail(&ctx, &actor, &slug).await?))
}

/// List categories for a domain.
#[utoipa::path(get, path = "/v1/domains/{slug}/categories/", tag = "domains",
    params(("slug" = String, Path, description = "Domain slug")),
    security((), ("cookie" = []), ("bearer_jwt" = []), ("api_key" = []), ("x_api_key" = [])),
    responses((status = 200, body = [Category]), (status = 404, body = ErrorBody)))]
pub async fn domain_categories(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(slug): AppPath<String>,
) -> Result<Json<Vec<Category>>, Error> {
    Ok(Json(
        knowledge::domain_categories(&ctx, &actor, &slug).await?,
    ))
}
