//! Seed 003's `GET /v1/audit` (Aegis: "Retrieve run audit records with optional filters"):
//! the organisation's audit trail, to its admins and owners (a person or their API key).

use aerie_backend::actor::Actor;
use aerie_backend::services::audit;
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::audit::AuditRecord;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(v1_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A person (their id or email) or an API key (its id): what they did.
    pub principal: Option<String>,
    /// A route's name: what was done to it.
    pub route: Option<String>,
    /// Only events at or after this time (ISO-8601).
    pub since: Option<DateTime<Utc>>,
    /// One action, e.g. `user.login`.
    pub action: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The organisation's audit events, newest first, each with its place and hash in the
/// organisation's chain (`aerie audit verify` checks the chain; docs/AUDIT.md).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = [AuditRecord]),
        (status = 400, description = "A filter that is not understood (`since` not ISO-8601, `limit` out of range)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Only the organisation's admins and owners read its audit trail", body = ErrorBody)))]
pub async fn v1_audit(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<AuditParams>,
) -> Result<Json<Vec<AuditRecord>>, Error> {
    let query = audit::AuditQuery {
        principal: q.principal,
        route: q.route,
        action: q.action,
        since: q.since,
        limit: q.limit,
    };
    Ok(Json(audit::list(&ctx, &actor, query).await?))
}
