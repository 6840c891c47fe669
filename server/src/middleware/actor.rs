//! Resolves who is calling and inserts the [`Actor`] into the request. `aerie dev` makes every
//! request the local developer; that is decided once at start-up, never per request from input.
//! Credential resolution (sessions, JWT, API keys) lands with the identity issue.

use aerie_app::backend::AppContext;
use aerie_app::backend::actor::Actor;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub async fn resolve(State(ctx): State<AppContext>, mut req: Request, next: Next) -> Response {
    let actor = if ctx.dev_mode() {
        Actor::Dev
    } else {
        Actor::Anonymous
    };
    tracing::Span::current().record("actor", actor.kind());
    req.extensions_mut().insert(actor);
    next.run(req).await
}
