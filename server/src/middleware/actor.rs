//! Resolves who is calling (session, JWT, API key, or nobody) and inserts the [`Actor`] into
//! the request. `aerie dev` makes credential-less requests the local owner; that is decided at
//! start-up (`AppContext::dev_mode`), never from request input.

use std::net::SocketAddr;

use aerie_app::backend::AppContext;
use aerie_app::backend::client_addr::client_ip;
use aerie_app::backend::services::auth::authenticate::{self, Presented};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn resolve(State(ctx): State<AppContext>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let ip = client_ip(
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
        headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.as_bytes()),
        &ctx.config().trusted_proxies,
    );
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let presented = Presented {
        bearer,
        api_key,
        session: session.as_ref(),
    };
    let actor = match authenticate::resolve(&ctx, presented, ip).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    tracing::Span::current().record("actor", actor.kind());
    req.extensions_mut().insert(actor);
    next.run(req).await
}
