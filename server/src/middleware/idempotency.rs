//! `Idempotency-Key` on the POSTs that create something (docs/IDEMPOTENCY.md; the rules live in
//! `aerie_backend::services::idempotency`). Which operations take the header is read from the
//! OpenAPI document, where `routes/family.rs` declares it on every authenticated POST whose
//! success is `201 Created` or `202 Accepted`; so the document and the server agree.
//!
//! With the header, the request's body is read here (to fingerprint it), the key is claimed or
//! its kept answer returned, and the request runs detached from the connection: a client that
//! goes away after sending it does not cancel a request whose key is claimed, so its retry finds
//! the answer.

use std::collections::HashSet;
use std::sync::Arc;

use aerie_backend::AppContext;
use aerie_backend::actor::Actor;
use aerie_backend::error::body_response;
use aerie_backend::services::idempotency::{self, Begin, Kept};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// The documented operations that take the header, by route template (all are POSTs).
#[derive(Clone)]
pub struct Idempotent {
    ctx: AppContext,
    routes: Arc<HashSet<String>>,
}

impl Idempotent {
    /// Reads the operations that declare an `Idempotency-Key` header parameter.
    pub fn from_spec(ctx: AppContext, spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .filter(|(_, item)| {
                item.post.as_ref().is_some_and(|op| {
                    op.parameters.iter().flatten().any(|p| {
                        p.parameter_in == utoipa::openapi::path::ParameterIn::Header
                            && p.name.eq_ignore_ascii_case(idempotency::HEADER)
                    })
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        Self {
            ctx,
            routes: Arc::new(routes),
        }
    }
}

pub async fn apply(State(idem): State<Idempotent>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(value) = req.headers().get(idempotency::HEADER).cloned() else {
        return next.run(req).await;
    };
    let takes_key = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| idem.routes.contains(route.as_str()));
    let principal = req
        .extensions()
        .get::<Actor>()
        .and_then(|actor| actor.principal().ok().cloned());
    // Elsewhere the header means nothing; without a caller, the route refuses the request.
    let (true, Some(principal)) = (takes_key, principal) else {
        return next.run(req).await;
    };
    let key = match idempotency::check_key(value.as_bytes()) {
        Ok(key) => key.to_owned(),
        Err(e) => return e.into_response(),
    };
    let config = idem.ctx.config();
    let limit = config.max_body_bytes.max(config.upload_max_request_bytes);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return body_response(ErrorBody::new(ErrorCode::PayloadTooLarge));
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let fingerprint = idempotency::fingerprint(parts.method.as_str(), target, &bytes);
    let ticket = match idempotency::begin(&idem.ctx, &principal, &key, &fingerprint).await {
        Ok(Begin::Replay(kept)) => return replay(kept),
        Ok(Begin::Run(ticket)) => ticket,
        Err(e) => {
            let busy = e.code() == ErrorCode::IdempotencyInProgress;
            let mut response = e.into_response();
            if busy {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let ctx = idem.ctx.clone();
    let held = ticket.clone();
    let run = async move {
        let response = idempotency::hold(&ctx, &ticket, next.run(req)).await;
        settle(&ctx, ticket, response).await
    };
    match tokio::spawn(run.instrument(tracing::Span::current())).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent request's task failed");
            if let Err(e) = idempotency::release(&idem.ctx, held).await {
                tracing::warn!(error = %e, "could not free an idempotency key");
            }
            body_response(ErrorBody::new(ErrorCode::Internal))
        }
    }
}

/// Keeps the answer when it can be given again, else frees the key; returns the answer.
async fn settle(ctx: &AppContext, ticket: idempotency::Ticket, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let streamed = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let small = body
        .size_hint()
        .upper()
        .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n <= idempotency::ANSWER_MAX));
    if !parts.status.is_success() || streamed || !small {
        if let Err(e) = idempotency::release(ctx, ticket).await {
            tracing::warn!(error = %e, "could not free an idempotency key");
        }
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, idempotency::ANSWER_MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent request's answer could not be read");
            if let Err(e) = idempotency::release(ctx, ticket).await {
                tracing::warn!(error = %e, "could not free an idempotency key");
            }
            return body_response(ErrorBody::new(ErrorCode::Internal));
        }
    };
    let text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let kept = Kept {
        status: parts.status.as_u16(),
        content_type: text(header::CONTENT_TYPE),
        location: text(header::LOCATION),
        body: bytes.to_vec(),
    };
    if let Err(e) = idempotency::finish(ctx, ticket, kept).await {
        // The request ran: its answer still goes to this client; a repeat runs it again.
        tracing::error!(error = %e, "could not keep an idempotent request's answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The kept answer, marked as a repeat.
fn replay(kept: Kept) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(kept.body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, kept.content_type),
        (header::LOCATION, kept.location),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        idempotency::REPLAYED_HEADER,
        HeaderValue::from_static("true"),
    );
    response
}
