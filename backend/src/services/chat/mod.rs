//! Chat: conversations, their messages, and turns. One engine ([`engine`]) serves `/api/chat`,
//! `/v1/chat` and `/v1/chat/completions`.
//!
//! - [`conversations`]: create, list, get, rename, delete; the owner check; tracking keys.
//! - [`messages`]: pages of a conversation's messages, branches, feedback.
//! - [`turns`]: one question answered in the background, always stored, cancellable.
//! - [`titles`]: a conversation's title from its first question, or written by the model.
//! - [`events`]: what a turn streams ([`TurnEvent`]), and [`TurnStream`], where the first event
//!   decides the HTTP status.
//! - [`in_flight`]: the turns running on this instance.
//! - [`openai`]: `/v1/chat/completions` over the same engine, without a conversation.
//! - [`models`]: what `model` names: an agent, or a provider's model.

pub mod conversations;
pub mod engine;
pub mod events;
pub mod images;
pub mod in_flight;
pub mod messages;
pub mod models;
pub mod openai;
mod think;
pub mod titles;
pub mod turns;

pub use conversations::{
    MAX_TRACKING_KEY_CHARS, conversation_dto, create, delete, get, list, rename, tracking_key,
};
pub use events::{TurnEvent, TurnStream};
pub use in_flight::InFlight;
pub use messages::{branch, feedback, message_dto, messages};
pub use titles::regenerate_title;
pub use turns::{Answerer, TurnHandle, TurnRequest, cancel, start_turn};
