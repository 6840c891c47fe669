//! Seed 003's governed runs (Aegis): `POST /v1/runs`, `GET /v1/runs/{id}`,
//! `POST /v1/runs/{id}/resume`, and `GET /v1/runs` (the runs the caller sees; `awaiting=me`:
//! the approver's inbox). docs/RUNS.md.

use aerie_backend::actor::Actor;
use aerie_backend::services::runs::{self, RunQuery};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::RunStatus;
use aerie_contract::ids::RunId;
use aerie_contract::runs::{CreateRun, ResumeRun, Run, RunPage};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppPath, AppQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_runs, create_run))
        .routes(routes!(get_run))
        .routes(routes!(resume_run))
}

/// Create and execute a governed run on a route (default `default`). A foreground run
/// answers 201 once it has ended (`completed`, `error`, `blocked`) or must wait for an
/// approver (`paused`); `background: true` answers 202 `pending` at once.
#[utoipa::path(post, path = "/v1/runs", tag = "runs", request_body = CreateRun,
    responses(
        (status = 201, body = Run, description = "A foreground run, ended or paused",
            headers(("Location" = String, description = "The run: GET it to follow"))),
        (status = 202, body = Run, description = "A background run, queued",
            headers(("Location" = String, description = "The run: GET it to follow"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, description = "The organisation's credits cannot cover the run", body = ErrorBody),
        (status = 404, description = "No route of this name", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create_run(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(input): AppJson<CreateRun>,
) -> Result<Response, Error> {
    let run = runs::create(&ctx, &actor, input).await?;
    let status = if run.status == RunStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let location = format!("/v1/runs/{}", run.run_id);
    Ok((status, [(header::LOCATION, location)], Json(run)).into_response())
}

/// Poll a run: its status, answer and usage, approvers, decision and every transition.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", params(("id" = RunId, Path)),
    responses((status = 200, body = Run), (status = 401, body = ErrorBody),
        (status = 404, description = "No run of this id that the caller may see", body = ErrorBody)))]
pub async fn get_run(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<RunId>,
) -> Result<Json<Run>, Error> {
    Ok(Json(runs::get(&ctx, &actor, id).await?))
}

/// Approve or reject a paused run (one of its approvers; nobody decides on their own run).
/// `approved` queues it (follow it with `GET /v1/runs/{id}`); `rejected` blocks it.
#[utoipa::path(post, path = "/v1/runs/{id}/resume", tag = "runs", request_body = ResumeRun,
    params(("id" = RunId, Path)),
    responses((status = 200, body = Run), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not one of the run's approvers (audited)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The run is not paused", body = ErrorBody)))]
pub async fn resume_run(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(id): AppPath<RunId>,
    AppJson(input): AppJson<ResumeRun>,
) -> Result<Json<Run>, Error> {
    Ok(Json(runs::resume(&ctx, &actor, id, input).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// `me`: only paused runs the caller may approve (their inbox).
    pub awaiting: Option<Awaiting>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Awaiting {
    Me,
}

/// The runs the caller sees, newest first: admins every run of the organisation, others
/// their own and those they approve.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", params(RunsQuery),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_runs(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<RunsQuery>,
) -> Result<Json<RunPage>, Error> {
    let query = RunQuery {
        status: q.status,
        awaiting_me: q.awaiting.is_some(),
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(runs::list(&ctx, &actor, &query).await?))
}
