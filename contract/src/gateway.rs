//! Egzora's chat gateway (seed 002 of `docs/REFERENCE-APIS.md`): `POST /v1/chat`'s request,
//! its answer, and the `data:` lines of its stream.

use serde::{Deserialize, Serialize};

use super::chat::{Citation, ToolCallRecord, Usage};
use super::error::ErrorBody;
use super::ids::{AgentId, ConversationId, MessageId};

/// `POST /v1/chat` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatRequest {
    pub agent_id: AgentId,
    pub message: String,
    /// A tracking key of your choosing (any string up to 200 characters): a new key starts a
    /// session under it, a known one continues it (its history is sent to the model). Keys are
    /// per user and organisation. The UUID of one of your conversations also works.
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 200))]
    pub session_id: Option<String>,
    #[serde(default)]
    pub stream: bool,
    /// Overrides the agent's thinking setting for this request.
    #[serde(default)]
    pub reasoning_enabled: Option<bool>,
    /// `data:image/...;base64,...` URLs for vision models.
    #[serde(default)]
    pub images: Vec<String>,
}

/// `POST /v1/chat` answer (non-streaming).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatResponse {
    /// The answer; with reasoning on, preceded by the "💭 Thinking Process" block.
    pub response: String,
    /// The answer alone.
    pub answer: String,
    /// The model's thinking (reasoning on), else null.
    pub reasoning: Option<String>,
    /// Continues this session: your `session_id`, or the new conversation's id if you sent none.
    pub session_id: String,
    /// The conversation behind the session (`/v1/sessions/{id}/…`, `/api/conversations/{id}`).
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub agent_id: AgentId,
    pub tool_calls: Vec<ToolCallRecord>,
    /// The knowledge passages the answer was given (agents with knowledge bases); the answer
    /// cites them as `[n]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    pub usage: Usage,
}

/// One `data:` line of `POST /v1/chat` with `"stream": true`: chunks of text (the answer, and
/// with reasoning on the "💭 Thinking Process" block before it), the agent's tool calls, then
/// [`V1ChatDone`] or [`V1ChatError`]. Each line is a JSON object with its keys in alphabetical
/// order (the server writes them through `serde_json::Value`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum V1ChatLine {
    Error(V1ChatError),
    Done(V1ChatDone),
    ToolCall(V1ChatToolCall),
    Citations(V1ChatCitations),
    Reasoning(V1ChatReasoningChunk),
    Chunk(V1ChatChunk),
}

/// A piece of the answer: `{"chunk": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatChunk {
    pub chunk: String,
}

/// `type` of a [`V1ChatReasoningChunk`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum V1ChunkType {
    #[default]
    Reasoning,
}

/// A piece of the reasoning block: `{"chunk": "...", "reasoning": true, "type": "reasoning"}`.
/// The block's heading and the rule that closes it are chunks of this type without
/// `reasoning`, so that a client printing every chunk shows the block as the non-streaming
/// `response` does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatReasoningChunk {
    pub chunk: String,
    /// The model's own thinking (not the heading or the closing rule).
    #[serde(default, skip_serializing_if = "is_false")]
    pub reasoning: bool,
    #[serde(rename = "type")]
    pub kind: V1ChunkType,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `type` of a [`V1ChatCitations`] line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum V1CitationsType {
    #[default]
    Citations,
}

/// The knowledge passages the answer was given, before its first chunk (agents with knowledge
/// bases only): `{"citations": [...], "type": "citations"}`. A client that prints `chunk`s
/// skips it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatCitations {
    pub citations: Vec<Citation>,
    #[serde(rename = "type")]
    pub kind: V1CitationsType,
}

/// An agent tool that ran: `{"tool_call": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatToolCall {
    pub tool_call: ToolCallRecord,
}

/// The last line of an answer: `done`, the ids to continue, the token counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatDone {
    pub agent_id: AgentId,
    pub conversation_id: ConversationId,
    /// Always true.
    pub done: bool,
    pub message_id: MessageId,
    /// The model's thinking (reasoning on), else null.
    pub reasoning: Option<String>,
    /// Continues this session (as in [`V1ChatResponse`]).
    pub session_id: String,
    pub usage: Usage,
}

/// The last line of an answer that failed midway: the error body with `done` and the ids;
/// what was generated is kept in the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct V1ChatError {
    pub conversation_id: ConversationId,
    /// Always true.
    pub done: bool,
    #[serde(flatten)]
    pub error: ErrorBody,
    pub message_id: MessageId,
    pub session_id: String,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ErrorCode;

    fn id<T: serde::de::DeserializeOwned>(uuid: &str) -> T {
        serde_json::from_value(Value::String(uuid.to_owned())).expect("an id")
    }

    /// The line renders (through `serde_json::Value`, as the server writes it) to the bytes of
    /// the old handler's `json!` line (`old`, also spelled out as `expected` when given), and
    /// reads back as the same line.
    fn exact(line: &V1ChatLine, old: &Value, expected: Option<&str>) {
        let value = serde_json::to_value(line).expect("serialises");
        // The same object (key order aside: `json!` keeps the written order).
        assert_eq!(&value, old);
        let text = value.to_string();
        if let Some(expected) = expected {
            assert_eq!(
                value,
                serde_json::from_str::<Value>(expected).expect("expected is JSON")
            );
        }
        let back: V1ChatLine = serde_json::from_str(&text).expect("reads back");
        assert_eq!(&back, line);
    }

    fn usage() -> Usage {
        Usage {
            prompt_tokens: 12,
            completion_tokens: 5,
            total_tokens: 17,
        }
    }

    const CONVERSATION: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a81";
    const MESSAGE: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a82";
    const AGENT: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a83";

    #[test]
    fn chunks_are_what_the_json_macro_built() {
        let heading = V1ChatLine::Reasoning(V1ChatReasoningChunk {
            chunk: "💭 Thinking Process\n\n".to_owned(),
            reasoning: false,
            kind: V1ChunkType::Reasoning,
        });
        exact(
            &heading,
            &json!({"chunk": format!("{}\n\n", "💭 Thinking Process"), "type": "reasoning"}),
            Some(r#"{"chunk":"💭 Thinking Process\n\n","type":"reasoning"}"#),
        );
        let thought = V1ChatLine::Reasoning(V1ChatReasoningChunk {
            chunk: "Two plus two.".to_owned(),
            reasoning: true,
            kind: V1ChunkType::Reasoning,
        });
        exact(
            &thought,
            &json!({"chunk": "Two plus two.", "reasoning": true, "type": "reasoning"}),
            Some(r#"{"chunk":"Two plus two.","reasoning":true,"type":"reasoning"}"#),
        );
        let answer = V1ChatLine::Chunk(V1ChatChunk {
            chunk: "It is 4.".to_owned(),
        });
        exact(
            &answer,
            &json!({"chunk": "It is 4."}),
            Some(r#"{"chunk":"It is 4."}"#),
        );
        let call = ToolCallRecord {
            id: "call_1".to_owned(),
            name: "calculator".to_owned(),
            arguments: r#"{"expression":"2+2"}"#.to_owned(),
            result: "4".to_owned(),
            ok: true,
        };
        exact(
            &V1ChatLine::ToolCall(V1ChatToolCall {
                tool_call: call.clone(),
            }),
            &json!({"tool_call": call}),
            Some(
                r#"{"tool_call":{"arguments":"{\"expression\":\"2+2\"}","id":"call_1","name":"calculator","ok":true,"result":"4"}}"#,
            ),
        );
    }

    #[test]
    fn the_last_lines_are_what_the_json_macro_built() {
        let (conversation_id, message_id): (ConversationId, MessageId) =
            (id(CONVERSATION), id(MESSAGE));
        let agent_id: AgentId = id(AGENT);
        for reasoning in [None, Some("Two plus two.".to_owned())] {
            let done = V1ChatLine::Done(V1ChatDone {
                agent_id,
                conversation_id,
                done: true,
                message_id,
                reasoning: reasoning.clone(),
                session_id: "my-key".to_owned(),
                usage: usage(),
            });
            let old = json!({
                "done": true, "session_id": "my-key", "conversation_id": conversation_id,
                "message_id": message_id,
                "agent_id": agent_id, "usage": usage(),
                "reasoning": reasoning,
            });
            exact(&done, &old, None);
        }
        exact(
            &V1ChatLine::Done(V1ChatDone {
                agent_id,
                conversation_id,
                done: true,
                message_id,
                reasoning: None,
                session_id: "my-key".to_owned(),
                usage: usage(),
            }),
            &json!({
                "done": true, "session_id": "my-key", "conversation_id": conversation_id,
                "message_id": message_id, "agent_id": agent_id, "usage": usage(),
                "reasoning": null,
            }),
            Some(&format!(
                r#"{{"agent_id":"{AGENT}","conversation_id":"{CONVERSATION}","done":true,"message_id":"{MESSAGE}","reasoning":null,"session_id":"my-key","usage":{{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17}}}}"#
            )),
        );

        let error = V1ChatLine::Error(V1ChatError {
            conversation_id,
            done: true,
            error: ErrorBody::with_detail(ErrorCode::Upstream, "The provider went away."),
            message_id,
            session_id: "my-key".to_owned(),
        });
        let mut old = serde_json::to_value(ErrorBody::with_detail(
            ErrorCode::Upstream,
            "The provider went away.",
        ))
        .expect("an error body");
        if let Some(o) = old.as_object_mut() {
            o.insert("done".into(), json!(true));
            o.insert("session_id".into(), json!("my-key"));
            o.insert("conversation_id".into(), json!(conversation_id));
            o.insert("message_id".into(), json!(message_id));
        }
        exact(&error, &old, None);
        let v = serde_json::to_value(&error).expect("serialises");
        assert_eq!(v["conversation_id"], CONVERSATION, "{v}");
        assert_eq!(v["detail"], "The provider went away.", "{v}");
        assert_eq!(v["done"], true, "{v}");
        assert_eq!(v["error"]["code"], "SRV-002", "{v}");
    }

    #[test]
    fn request_and_answer_keep_their_shape() {
        let request: V1ChatRequest =
            serde_json::from_value(json!({"agent_id": AGENT, "message": "Hello there"}))
                .expect("the seed's minimal request");
        assert_eq!(
            request,
            V1ChatRequest {
                agent_id: id(AGENT),
                message: "Hello there".to_owned(),
                session_id: None,
                stream: false,
                reasoning_enabled: None,
                images: Vec::new(),
            }
        );
        let answer = V1ChatResponse {
            response: "It is 4.".to_owned(),
            answer: "It is 4.".to_owned(),
            reasoning: None,
            session_id: CONVERSATION.to_owned(),
            conversation_id: id(CONVERSATION),
            message_id: id(MESSAGE),
            agent_id: id(AGENT),
            tool_calls: Vec::new(),
            citations: Vec::new(),
            usage: usage(),
        };
        let text = serde_json::to_string(&answer).expect("serialises");
        assert_eq!(
            text,
            format!(
                r#"{{"response":"It is 4.","answer":"It is 4.","reasoning":null,"session_id":"{CONVERSATION}","conversation_id":"{CONVERSATION}","message_id":"{MESSAGE}","agent_id":"{AGENT}","tool_calls":[],"usage":{{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}}}"#
            )
        );
        let back: V1ChatResponse = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, answer);
    }
}
