//! `/metrics`: Prometheus text format, optionally behind basic auth (`METRICS_BASIC_AUTH`).

use aerie_backend::error::body_response;
use aerie_backend::{AppContext, AppState};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::middleware::metrics::handle;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics: requests by route and status, latency histograms.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security((), ("metrics_basic" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition", content_type = "text/plain"),
        (status = 401, description = "Basic auth required (METRICS_BASIC_AUTH)", body = ErrorBody),
    ))]
pub async fn metrics(State(ctx): State<AppContext>, headers: HeaderMap) -> Response {
    let expected = &ctx.config().metrics_basic_auth;
    if !expected.is_empty() && !authorized(&headers, expected) {
        let mut response = body_response(ErrorBody::with_detail(
            ErrorCode::Unauthenticated,
            "The metrics endpoint requires HTTP basic authentication.",
        ));
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"aerie-metrics\""),
        );
        return response;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
    else {
        return false;
    };
    given.ct_eq(expected.as_bytes()).into()
}
