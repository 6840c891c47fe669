//! Resolves who is calling (session, JWT, API key, or nobody) and inserts the [`Actor`] into
//! the request. `aerie dev` makes credential-less requests the local owner; that is decided at
//! start-up (`AppContext::dev_mode`), never from request input.

use std::net::SocketAddr;

use aerie_backend::AppContext;
use aerie_backend::client_addr::client_ip;
use aerie_backend::services::auth::authenticate::{self, Presented};
use axum::extract::{ConnectInfo, Request, State};
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
    // The same reading as the CSRF check's exemption: a token, when present, decides; the
    // cookie's session authenticates only without one, and beside one it must agree with it
    // (`authenticate::resolve`).
    let bearer = super::credentials::bearer(headers);
    let api_key = super::credentials::api_key(headers);
    let session_cookie = super::credentials::session_cookie(headers);
    let blank_token = super::credentials::blank_token(headers);
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let presented = Presented {
        bearer,
        api_key,
        session: session.as_ref(),
        session_cookie,
        blank_token,
    };
    let actor = match authenticate::resolve(&ctx, presented, ip).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    tracing::Span::current().record("actor", actor.kind());
    req.extensions_mut().insert(actor);
    next.run(req).await
}
