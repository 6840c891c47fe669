//! `/api/guardrails/…`: the organisation's guardrail policy, and its log of findings (seed
//! 004's `GET /api/guardrails/events` and `.csv`, Enterprise+). Admins only
//! (docs/GUARDRAILS.md).

use aerie_backend::actor::Actor;
use aerie_backend::services::guardrails::events::{self, EventQuery};
use aerie_backend::services::guardrails::policy;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::guardrails::{GuardrailEventPage, GuardrailPolicy};
use aerie_contract::ids::UserId;
use aerie_contract::{CallEndpoint, ErrorBody, GuardrailAction, GuardrailDetector};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{AppJson, AppQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_guardrail_policy, put_guardrail_policy))
        .routes(routes!(list_guardrail_events))
        .routes(routes!(export_guardrail_events))
}

/// The organisation's guardrail policy (the default one until an admin saves another).
#[utoipa::path(get, path = "/api/guardrails/policy", tag = "guardrails",
    responses((status = 200, body = GuardrailPolicy),
        (status = 403, description = "Not an admin of the organisation", body = ErrorBody)))]
pub async fn get_guardrail_policy(
    State(ctx): State<AppContext>,
    actor: Actor,
) -> Result<Json<GuardrailPolicy>, Error> {
    Ok(Json(policy::get(&ctx, &actor).await?))
}

/// Replaces the organisation's guardrail policy: the built-in detectors that are on with their
/// actions, its own patterns, and whether answers are scanned.
#[utoipa::path(put, path = "/api/guardrails/policy", tag = "guardrails",
    request_body = GuardrailPolicy,
    responses((status = 200, body = GuardrailPolicy),
        (status = 403, description = "Not an admin of the organisation", body = ErrorBody)))]
pub async fn put_guardrail_policy(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppJson(body): AppJson<GuardrailPolicy>,
) -> Result<Json<GuardrailPolicy>, Error> {
    Ok(Json(policy::save(&ctx, &actor, body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GuardrailEventsQuery {
    /// From this time (RFC 3339, inclusive).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Until this time (RFC 3339, exclusive).
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// One person's findings.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The surface the text went through.
    #[serde(default)]
    pub route: Option<CallEndpoint>,
    #[serde(default)]
    pub detector: Option<GuardrailDetector>,
    #[serde(default)]
    pub action: Option<GuardrailAction>,
    /// Events per page, 1 to 500 (default 100; the list only).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page (the list only).
    #[serde(default)]
    pub cursor: Option<String>,
}

impl GuardrailEventsQuery {
    fn query(self) -> EventQuery {
        EventQuery {
            from: self.from,
            to: self.to,
            user_id: self.user_id,
            route: self.route,
            detector: self.detector,
            action: self.action,
            limit: self.limit,
            cursor: self.cursor,
        }
    }
}

/// The guardrail log: every finding, newest first, a page at a time (Enterprise licence tier;
/// 402 naming the tier otherwise).
#[utoipa::path(get, path = "/api/guardrails/events", tag = "guardrails",
    params(GuardrailEventsQuery),
    responses((status = 200, body = GuardrailEventPage),
        (status = 402, description = "The instance's licence tier does not include the guardrail log", body = ErrorBody),
        (status = 403, description = "Not an admin of the organisation", body = ErrorBody),
        (status = 404, description = "`user_id` is no one of the organisation", body = ErrorBody)))]
pub async fn list_guardrail_events(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<GuardrailEventsQuery>,
) -> Result<Json<GuardrailEventPage>, Error> {
    Ok(Json(events::list(&ctx, &actor, &q.query()).await?))
}

/// Every finding matching the filters as CSV, newest first, streamed (Enterprise licence tier).
/// `limit` and `cursor` are ignored.
#[utoipa::path(get, path = "/api/guardrails/events.csv", tag = "guardrails",
    params(GuardrailEventsQuery),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "One line per finding: id, created_at, user_id, api_key_id, route, direction, conversation_id, message_id, detector, pattern, action, preview"),
        (status = 402, description = "The instance's licence tier does not include the guardrail log", body = ErrorBody),
        (status = 403, description = "Not an admin of the organisation", body = ErrorBody),
        (status = 404, description = "`user_id` is no one of the organisation", body = ErrorBody)))]
pub async fn export_guardrail_events(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<GuardrailEventsQuery>,
) -> Result<Response, Error> {
    let export = events::export(&ctx, &actor, &q.query()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.file_name),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(export.body),
    )
        .into_response())
}
