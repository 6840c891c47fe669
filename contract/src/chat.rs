//! Conversations (= sessions), messages and the chat turn's events, shared by `/api/chat`,
//! `/v1/chat`, the `/v1/sessions/…` views and the chat page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AgentId, ConversationId, DocumentId, KbId, MessageId};
use super::kinds::{MessageRole, MessageStatus};

/// A conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub title: String,
    pub agent_id: Option<AgentId>,
    /// The conversation this one was branched from.
    pub parent_id: Option<ConversationId>,
    /// The message of the parent it was branched at.
    pub branched_from_message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/conversations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewConversation {
    pub agent_id: AgentId,
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /v1/sessions/{id}/rename/` and `PATCH /api/conversations/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RenameConversation {
    pub title: String,
}

/// `POST /api/conversations/{id}/branch`: branch at a message (included) into a new thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct BranchConversation {
    pub message_id: MessageId,
}

/// A tool the model called during a turn, with what it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ToolCallRecord {
    pub id: String,
    pub name: String,
    /// The arguments as the model sent them (JSON text).
    pub arguments: String,
    pub result: String,
    pub ok: bool,
}

/// Token counts of a turn (OpenAI's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// A passage of a knowledge base that an answer was given to cite: the answer refers to it as
/// `[number]`. An agent with knowledge bases (and `/v1/query/`) retrieves the passages best
/// matching the question, numbers them from 1 and gives them to the model with the question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Citation {
    /// Its number in the answer's `[n]` references (from 1).
    pub number: u32,
    pub knowledge_base_id: KbId,
    pub document_id: DocumentId,
    /// The document's name.
    pub filename: String,
    /// The passage's position in the document (0-based).
    pub chunk_index: u32,
    /// The passage as the model read it.
    pub text: String,
    /// The retrieval score (higher is better; hybrid: the fused reciprocal-rank value).
    pub score: f32,
}

/// A message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub role: MessageRole,
    pub content: String,
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCallRecord>,
    /// The knowledge passages the answer was given (an assistant message of an agent with
    /// knowledge bases, or of `/v1/query/`); its `[n]` references name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// Images attached to a user message.
    pub images: u32,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub latency_ms: Option<i64>,
    /// 1 (thumbs up), -1 (thumbs down) or absent.
    pub feedback: Option<i16>,
    pub feedback_comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A page of messages, oldest first. `next_before` fetches the page before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub data: Vec<Message>,
    pub has_more: bool,
    pub next_before: Option<MessageId>,
}

/// `POST /api/chat`: one turn in a conversation (a new one when `conversation_id` is absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChatTurn {
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    /// Required when starting a conversation.
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    pub message: String,
    /// Overrides the agent's default.
    #[serde(default)]
    pub reasoning_enabled: Option<bool>,
    /// `data:image/...;base64,...` URLs.
    #[serde(default)]
    pub images: Vec<String>,
}

/// `POST /api/chat/{msgId}/feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Feedback {
    /// `up` or `down` (or `null` to clear).
    pub rating: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The events of `POST /api/chat` (SSE `event:` name = `type`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// The turn started: ids to cancel it or send feedback.
    Start {
        conversation_id: ConversationId,
        user_message_id: MessageId,
        message_id: MessageId,
    },
    /// Part of the answer.
    Delta { content: String },
    /// Part of the model's thinking.
    Reasoning { content: String },
    /// The knowledge passages the answer was given, before its first word (agents with
    /// knowledge bases only).
    Citations { citations: Vec<Citation> },
    /// A tool was called and answered.
    ToolCall { call: ToolCallRecord },
    /// The turn ended; the stored answer.
    Done { message: Box<Message>, usage: Usage },
    /// The guardrails found data the organisation asks about: the turn waits for
    /// `POST /api/chat/{message_id}/dlp-decision` (allow, redact or block) before anything
    /// reaches the model; no decision within 5 minutes blocks it.
    DlpFinding {
        message_id: MessageId,
        findings: Vec<crate::guardrails::DlpFinding>,
    },
    /// The turn failed; what was generated is kept.
    Error {
        code: String,
        message: String,
        message_id: Option<MessageId>,
    },
}
