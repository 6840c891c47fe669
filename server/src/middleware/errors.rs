//! The safety net: any error response that is not already JSON (or an HTML page for a browser,
//! or a stream) is replaced by the contract body for its status. Layers such as timeouts or
//! body limits therefore answer in the one shape too. Panics become a logged, generic 500.

use std::any::Any;

use aerie_backend::error::body_response;
use aerie_contract::{ErrorBody, ErrorCode};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::RateLimited,
        502 => ErrorCode::Upstream,
        503 => ErrorCode::Unavailable,
        504 | 408 => ErrorCode::UpstreamTimeout,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::Validation,
    }
}

fn is_contract_shaped(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/json")
                || ct.starts_with("text/html")
                || ct.starts_with("text/event-stream")
        })
}

pub async fn ensure_contract_body(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_contract_shaped(response.headers().get(header::CONTENT_TYPE))
    {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut replaced = body_response(ErrorBody::new(code_for(status)));
    *replaced.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    replaced
}

/// Used by `CatchPanicLayer`: log the panic, answer the generic 500.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = message, "request handler panicked");
    body_response(ErrorBody::new(ErrorCode::Internal))
}
