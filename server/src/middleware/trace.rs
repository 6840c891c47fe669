//! One span per request carrying the request id (from `x-request-id`, generated when absent),
//! method, matched route and actor kind. The route is the matched template (`/invite/{token}`),
//! never the raw path, whose segments may be secrets (invitation tokens); headers and the query
//! string, which may hold credentials, are never logged either.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing::Span;

pub fn make_span<B>(req: &Request<B>) -> Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = %route,
        actor = tracing::field::Empty,
    )
}
