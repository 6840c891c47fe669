//! `/api/usage` and `/api/usage.csv`: the organisation's model calls grouped by day, model,
//! user, agent or key, and every call as CSV (the Pro tier). Admins see the organisation's,
//! members their own (docs/BILLING.md).

use aerie_backend::actor::Actor;
use aerie_backend::services::usage::{self, UsageFilter};
use aerie_backend::{AppContext, AppState, Error};
use aerie_contract::ErrorBody;
use aerie_contract::UsageGroup;
use aerie_contract::ids::UserId;
use aerie_contract::usage::UsageReport;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(usage_report))
        .routes(routes!(usage_export))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First UTC day (`YYYY-MM-DD`); default: the first day of the current billing period.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last UTC day, included; default: today. A range covers at most 366 days.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// One person's calls (admins; a member always sees their own).
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// `day` (default), `model`, `user`, `agent` or `key`.
    #[serde(default)]
    pub group_by: Option<UsageGroup>,
}

impl UsageQuery {
    fn filter(&self) -> UsageFilter {
        UsageFilter {
            from: self.from,
            to: self.to,
            user_id: self.user_id,
        }
    }
}

/// Model calls, tokens and credits over a range of days, grouped.
#[utoipa::path(get, path = "/api/usage", tag = "billing",
    params(UsageQuery),
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody),
        (status = 403, description = "A member named another person", body = ErrorBody),
        (status = 404, description = "`user_id` is nobody of the organisation", body = ErrorBody)))]
pub async fn usage_report(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<UsageQuery>,
) -> Result<Json<UsageReport>, Error> {
    let by = q.group_by.unwrap_or_default();
    Ok(Json(usage::report(&ctx, &actor, &q.filter(), by).await?))
}

/// Every model call of the range as CSV, oldest first, streamed (the Pro licence tier; 402
/// naming the tier otherwise). `group_by` is ignored.
#[utoipa::path(get, path = "/api/usage.csv", tag = "billing",
    params(UsageQuery),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "One line per call: id, created_at, user_id, user_email, api_key_id, api_key_name, agent_id, agent_name, provider_id, model, endpoint, status, input_tokens, output_tokens, credits, latency_ms"),
        (status = 400, body = ErrorBody),
        (status = 402, description = "The instance's licence tier does not include the export", body = ErrorBody),
        (status = 403, description = "A member named another person", body = ErrorBody),
        (status = 404, description = "`user_id` is nobody of the organisation", body = ErrorBody)))]
pub async fn usage_export(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(q): AppQuery<UsageQuery>,
) -> Result<Response, Error> {
    let export = usage::export(&ctx, &actor, &q.filter()).await?;
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
