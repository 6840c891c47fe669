//! `/api/agents…` and `/api/marketplace/agents` (seed 004).

use aerie_backend::actor::Actor;
use aerie_backend::services::agents;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::agents::{
    Agent, AgentTool, DuplicateAgent, MarketplaceAgent, NewAgent, UpdateAgent,
};
use aerie_contract::ids::AgentId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath, OptionalJson};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(publish_agent))
        .routes(routes!(duplicate_agent))
        .routes(routes!(agent_tools))
        .routes(routes!(marketplace_agents))
}

/// List the agents you can see.
#[utoipa::path(get, path = "/api/agents", tag = "agents",
    responses((status = 200, body = [Agent]), (status = 401, body = ErrorBody)))]
pub async fn list_agents(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Agent>>, Error> {
    Ok(Json(agents::list(&ctx, &actor).await?))
}

/// Create an agent.
#[utoipa::path(post, path = "/api/agents", tag = "agents", request_body = NewAgent,
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 201, body = Agent), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewAgent>,
) -> Result<(StatusCode, Json<Agent>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(agents::create(&ctx, &actor, input).await?),
    ))
}

/// Read an agent.
#[utoipa::path(get, path = "/api/agents/{id}", tag = "agents",
    params(("id" = AgentId, Path, description = "Agent id")),
    responses((status = 200, body = Agent), (status = 404, body = ErrorBody)))]
pub async fn get_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
) -> Result<Json<Agent>, Error> {
    Ok(Json(agents::get(&ctx, &actor, id).await?))
}

/// Change an agent (its owner or an admin).
#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents", request_body = UpdateAgent,
    params(("id" = AgentId, Path, description = "Agent id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 200, body = Agent), (status = 400, body = ErrorBody), (status = 403, description = "Only the agent's owner or an organisation admin can change it", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
    AppJson(input): AppJson<UpdateAgent>,
) -> Result<Json<Agent>, Error> {
    Ok(Json(agents::update(&ctx, &actor, id, input).await?))
}

/// Delete an agent (its owner or an admin).
#[utoipa::path(delete, path = "/api/agents/{id}", tag = "agents",
    params(("id" = AgentId, Path, description = "Agent id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Only the agent's owner or an organisation admin can change it", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
) -> Result<StatusCode, Error> {
    agents::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish to the marketplace (makes it public).
#[utoipa::path(post, path = "/api/agents/{id}/publish", tag = "agents",
    params(("id" = AgentId, Path, description = "Agent id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 200, body = Agent), (status = 403, description = "Only the agent's owner or an organisation admin can change it", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn publish_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
) -> Result<Json<Agent>, Error> {
    Ok(Json(agents::publish(&ctx, &actor, id).await?))
}

/// Fork an agent you can see into a private copy.
#[utoipa::path(post, path = "/api/agents/{id}/duplicate", tag = "agents", request_body = Option<DuplicateAgent>,
    params(("id" = AgentId, Path, description = "Agent id")),
    security(("cookie" = []), ("bearer_jwt" = [])),
    responses((status = 201, body = Agent), (status = 404, body = ErrorBody)))]
pub async fn duplicate_agent(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
    // The body is optional: none (or `null`) means "the default name".
    OptionalJson(input): OptionalJson<DuplicateAgent>,
) -> Result<(StatusCode, Json<Agent>), Error> {
    let input = input.unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(agents::duplicate(&ctx, &actor, id, input).await?),
    ))
}

/// The tools this agent may call, resolved for you.
#[utoipa::path(get, path = "/api/agents/{id}/tools", tag = "agents",
    params(("id" = AgentId, Path, description = "Agent id")),
    responses((status = 200, body = [AgentTool]), (status = 404, body = ErrorBody)))]
pub async fn agent_tools(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<AgentId>,
) -> Result<Json<Vec<AgentTool>>, Error> {
    Ok(Json(agents::tools(&ctx, &actor, id).await?))
}

/// Browse published public agents (no authentication).
#[utoipa::path(get, path = "/api/marketplace/agents", tag = "agents",
    security(()),
    responses((status = 200, body = [MarketplaceAgent])))]
pub async fn marketplace_agents(
    State(ctx): State<AppContext>,
) -> Result<Json<Vec<MarketplaceAgent>>, Error> {
    Ok(Json(agents::marketplace(&ctx).await?))
}
