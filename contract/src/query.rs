//! Egret's RAG query (seed 000, `POST /v1/query/`): a question about one domain (a knowledge
//! base) answered by a model from the domain's best passages, with numbered citations, as one
//! JSON answer or as `data:` lines.

use serde::{Deserialize, Serialize};

use super::chat::{Citation, Usage};
use super::error::ErrorBody;
use super::ids::{ConversationId, MessageId};

/// `POST /v1/query/` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct QueryRequest {
    /// The question (required: "query field is required.").
    #[serde(default)]
    pub query: String,
    /// The domain's slug (a knowledge base of your organisation; `GET /v1/domains/`).
    #[serde(default)]
    pub domain: Option<String>,
    /// Only passages of this category of the domain (its slug).
    #[serde(default)]
    pub category: Option<String>,
    /// Continues a session: the id a previous answer gave, or a tracking key of your choosing
    /// (a new key starts a session under it). The session's earlier questions and answers are
    /// sent to the model.
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 200))]
    pub session_id: Option<String>,
    /// What answers: an id from `GET /v1/models/` (an agent, or a provider's model); absent:
    /// the first model listed there.
    #[serde(default)]
    pub model: Option<String>,
    /// `data:` lines as the answer is written (`text/event-stream`).
    #[serde(default)]
    pub stream: bool,
    /// Passages given to the model, 1–50 (default 5).
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub top_k: Option<u32>,
}

/// The answer of `POST /v1/query/` (and the `done` line of its stream).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct QueryAnswer {
    /// The model's answer; `[n]` refers to `citations` number n.
    pub answer: String,
    /// The passages the model was given, best first, numbered from 1.
    pub citations: Vec<Citation>,
    /// Continues this session (`session_id` of the next query): yours, or the new session's id.
    pub session_id: String,
    /// The conversation behind the session (`/v1/sessions/{id}/messages/`).
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// The domain's slug.
    pub domain: String,
    /// The `model` that answered, as listed by `GET /v1/models/`.
    pub model: String,
    pub usage: Usage,
}

/// One `data:` line of `POST /v1/query/` with `"stream": true`: the citations first, then the
/// answer's chunks, then `done` (the whole answer) or `error` (what was written is kept in the
/// session).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueryEvent {
    /// The passages the model is given.
    Citations { citations: Vec<Citation> },
    /// A piece of the answer.
    Chunk { chunk: String },
    /// The answer is complete.
    Done(QueryAnswer),
    /// The answer failed midway.
    Error(ErrorBody),
}
