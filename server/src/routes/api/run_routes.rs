//! `/api/routes`: the organisation's routes, its named policies for runs (seed 003; docs/RUNS.md).
//! Members list them; admins create, change and delete them.

use aerie_backend::actor::Actor;
use aerie_backend::services::runs::routes;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::ids::RouteId;
use aerie_contract::runs::{NewRoute, Route, UpdateRoute};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;

use crate::extract::{AppJson, AppPath};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_routes, create_route))
        .routes(utoipa_axum::routes!(get_route, update_route, delete_route))
}

/// The organisation's routes (the `default` route among them), by name.
#[utoipa::path(get, path = "/api/routes", tag = "routes",
    responses((status = 200, body = [Route]), (status = 401, body = ErrorBody)))]
pub async fn list_routes(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<Vec<Route>>, Error> {
    Ok(Json(routes::list(&ctx, &actor).await?))
}

/// Create a route (admins).
#[utoipa::path(post, path = "/api/routes", tag = "routes", request_body = NewRoute,
    responses((status = 201, body = Route), (status = 400, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 409, description = "The organisation has a route of this name", body = ErrorBody)))]
pub async fn create_route(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<NewRoute>,
) -> Result<(StatusCode, Json<Route>), Error> {
    Ok((
        StatusCode::CREATED,
        Json(routes::create(&ctx, &actor, input).await?),
    ))
}

/// One route.
#[utoipa::path(get, path = "/api/routes/{id}", tag = "routes", params(("id" = RouteId, Path)),
    responses((status = 200, body = Route), (status = 404, body = ErrorBody)))]
pub async fn get_route(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<RouteId>,
) -> Result<Json<Route>, Error> {
    Ok(Json(routes::get(&ctx, &actor, id).await?))
}

/// Change a route (admins): absent fields stay, `null` clears a nullable one.
#[utoipa::path(patch, path = "/api/routes/{id}", tag = "routes", request_body = UpdateRoute,
    params(("id" = RouteId, Path)),
    responses((status = 200, body = Route), (status = 400, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Another route has this name, or the default route would be renamed", body = ErrorBody)))]
pub async fn update_route(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<RouteId>,
    AppJson(input): AppJson<UpdateRoute>,
) -> Result<Json<Route>, Error> {
    Ok(Json(routes::update(&ctx, &actor, id, input).await?))
}

/// Delete a route (admins; not `default`). Its runs keep its name.
#[utoipa::path(delete, path = "/api/routes/{id}", tag = "routes", params(("id" = RouteId, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The default route cannot be deleted", body = ErrorBody)))]
pub async fn delete_route(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<RouteId>,
) -> Result<StatusCode, Error> {
    routes::delete(&ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
