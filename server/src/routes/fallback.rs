//! Unknown paths and wrong methods. API paths (and clients that do not ask for HTML) get the
//! contract body; browsers get static files or the dashboard's not-found page.

use aerie_backend::AppState;
use aerie_backend::error::body_response;
use aerie_contract::{ErrorBody, ErrorCode};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

/// Path prefixes that belong to APIs, never to the dashboard.
const API_PREFIXES: &[&str] = &[
    "/api/",
    "/api",
    "/v1/",
    "/auth/",
    "/admin/",
    "/webhook/",
    "/health/",
    "/health",
    "/metrics",
    "/_server/",
];

pub fn is_api_path(path: &str) -> bool {
    API_PREFIXES
        .iter()
        .any(|p| path == *p || (p.ends_with('/') && path.starts_with(p)))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The router's fallback.
pub async fn not_found(State(state): State<AppState>, uri: Uri, req: Request<Body>) -> Response {
    if is_api_path(uri.path()) {
        return body_response(ErrorBody::new(ErrorCode::RouteNotFound));
    }
    let html = wants_html(req.headers());
    let handler = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        crate::middleware::security_headers::provide_nonce,
        aerie_app::ui::shell,
    );
    let response = handler(uri, State(state), req).await;
    if response.status() == StatusCode::NOT_FOUND && !html {
        return body_response(ErrorBody::new(ErrorCode::RouteNotFound));
    }
    response
}

/// The router's fallback for a known path with another method.
pub async fn method_not_allowed() -> Response {
    body_response(ErrorBody::new(ErrorCode::MethodNotAllowed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_paths_are_recognised() {
        for p in [
            "/api",
            "/api/x",
            "/v1/chat",
            "/auth/jwt/create/",
            "/health/",
            "/metrics",
            "/_server/status",
        ] {
            assert!(super::is_api_path(p), "{p}");
        }
        for p in [
            "/",
            "/api-reference",
            "/pkg/aerie.wasm",
            "/favicon.svg",
            "/v1",
        ] {
            assert!(!super::is_api_path(p), "{p}");
        }
    }
}
