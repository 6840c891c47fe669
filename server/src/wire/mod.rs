//! Chat's wire formats: one adapter each from the service's turn events
//! ([`aerie_backend::services::chat::TurnEvent`]) to the typed bodies of the contract. The
//! handlers in `server/src/routes` parse, call the service and hand its result here.
//!
//! - [`workspace`]: `POST /api/chat` (seed 004), `aerie_contract::chat::ChatEvent`s as named SSE
//!   events;
//! - [`gateway`]: `POST /v1/chat` (seed 002), one JSON answer or `data:` lines
//!   (`aerie_contract::gateway`);
//! - [`openai`]: `POST /v1/chat/completions` and `GET /v1/models`
//!   (`aerie_contract::openai`);
//! - [`query`]: Egret's `POST /v1/query/` (`aerie_contract::query`).

pub mod gateway;
pub mod openai;
pub mod query;
pub mod workspace;

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Serialize;

/// A `text/event-stream` answer of `events`, with keep-alive comments while the model thinks.
fn sse(events: impl Stream<Item = Event> + Send + 'static) -> Response {
    Sse::new(events.map(Ok::<_, Infallible>))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// An unnamed SSE event whose `data:` is `value` as JSON. It is written through
/// `serde_json::Value`, whose objects keep their keys sorted: the byte order these lines have
/// had since they were built with `json!`, whatever the order of the structs' fields.
fn data_line<T: Serialize>(value: &T) -> Event {
    Event::default().data(serde_json::to_value(value).unwrap_or_default().to_string())
}
