//! `POST /v1/chat` (seed 002): one JSON answer, or with `"stream": true` `data:` lines — the
//! citations of the agent's knowledge (when it has some), the answer's chunks (after the "💭 Thinking Process" block when reasoning is shown), the
//! agent's tool calls, then a `done` line or an error line with `done`.

use aerie_backend::Error;
use aerie_backend::services::chat::{TurnEvent, TurnHandle, TurnStream};
use aerie_contract::gateway::{
    V1ChatChunk, V1ChatCitations, V1ChatDone, V1ChatError, V1ChatLine, V1ChatReasoningChunk,
    V1ChatResponse, V1ChatToolCall, V1ChunkType, V1CitationsType,
};
use aerie_contract::ids::{AgentId, ConversationId, MessageId};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::Json;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

const THINKING: &str = "💭 Thinking Process";

/// The answer's text with the reasoning block before it, as seed 002's `response` shows it.
fn with_thinking(reasoning: Option<&str>, answer: &str) -> String {
    match reasoning.filter(|r| !r.trim().is_empty()) {
        Some(r) => format!("{THINKING}\n\n{}\n\n---\n\n{answer}", r.trim()),
        None => answer.to_owned(),
    }
}

/// Answers a started turn. A failure before the model's first word is the request's error
/// status, not a 200 stream.
pub async fn answer(turn: TurnHandle, agent_id: AgentId, stream: bool) -> Result<Response, Error> {
    let mut answer = Answer {
        session_id: turn.conversation_key,
        conversation_id: turn.conversation_id,
        message_id: turn.message_id,
        agent_id,
        show_reasoning: turn.reasoning,
        thinking: false,
    };
    let events = TurnStream::open(turn.events).await?;
    if !stream {
        return Ok(Json(answer.whole(events).await?).into_response());
    }
    Ok(super::sse(
        events
            .flat_map(move |e| futures::stream::iter(answer.lines(e)))
            .map(|line| super::data_line(&line)),
    ))
}

/// The answer being written: its ids, and whether a reasoning block is open.
struct Answer {
    session_id: String,
    conversation_id: ConversationId,
    message_id: MessageId,
    agent_id: AgentId,
    show_reasoning: bool,
    thinking: bool,
}

impl Answer {
    /// The non-streaming answer, once the turn has ended.
    async fn whole(self, mut events: TurnStream) -> Result<V1ChatResponse, Error> {
        while let Some(e) = events.next().await {
            match e {
                TurnEvent::Finished { message, usage } => {
                    let message = *message;
                    let reasoning = message.reasoning.filter(|_| self.show_reasoning);
                    return Ok(V1ChatResponse {
                        response: with_thinking(reasoning.as_deref(), &message.content),
                        answer: message.content,
                        reasoning,
                        session_id: self.session_id,
                        conversation_id: self.conversation_id,
                        message_id: self.message_id,
                        agent_id: self.agent_id,
                        tool_calls: message.tool_calls,
                        citations: message.citations,
                        usage,
                    });
                }
                TurnEvent::Failed { code, detail } => return Err(Error::detailed(code, detail)),
                _ => {}
            }
        }
        Err(Error::detailed(
            ErrorCode::Upstream,
            "The answer ended unexpectedly.",
        ))
    }

    /// The `data:` lines of one turn event.
    fn lines(&mut self, e: TurnEvent) -> Vec<V1ChatLine> {
        let reasoning = |chunk: String, reasoning: bool| {
            V1ChatLine::Reasoning(V1ChatReasoningChunk {
                chunk,
                reasoning,
                kind: V1ChunkType::Reasoning,
            })
        };
        let mut out = Vec::new();
        match e {
            TurnEvent::Reasoning(chunk) if self.show_reasoning => {
                if !self.thinking {
                    self.thinking = true;
                    out.push(reasoning(format!("{THINKING}\n\n"), false));
                }
                out.push(reasoning(chunk, true));
            }
            TurnEvent::Answer(chunk) => {
                if self.thinking {
                    self.thinking = false;
                    out.push(reasoning("\n\n---\n\n".to_owned(), false));
                }
                out.push(V1ChatLine::Chunk(V1ChatChunk { chunk }));
            }
            TurnEvent::Citations(citations) => {
                out.push(V1ChatLine::Citations(V1ChatCitations {
                    citations,
                    kind: V1CitationsType::Citations,
                }));
            }
            TurnEvent::ToolCall(tool_call) => {
                out.push(V1ChatLine::ToolCall(V1ChatToolCall { tool_call }));
            }
            TurnEvent::Finished { message, usage } => out.push(V1ChatLine::Done(V1ChatDone {
                agent_id: self.agent_id,
                conversation_id: self.conversation_id,
                done: true,
                message_id: message.id,
                reasoning: message.reasoning.filter(|_| self.show_reasoning),
                session_id: self.session_id.clone(),
                usage,
            })),
            TurnEvent::Failed { code, detail } => out.push(V1ChatLine::Error(V1ChatError {
                conversation_id: self.conversation_id,
                done: true,
                error: ErrorBody::with_detail(code, detail),
                message_id: self.message_id,
                session_id: self.session_id.clone(),
            })),
            // Only `/api/chat` asks (elsewhere the guardrails block instead).
            TurnEvent::Reasoning(_)
            | TurnEvent::ClientToolCalls(_)
            | TurnEvent::DlpFinding(_)
            | TurnEvent::Completed { .. } => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use aerie_contract::chat::{Message, Usage};
    use aerie_contract::{MessageRole, MessageStatus};

    use super::*;

    const CONVERSATION: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a81";
    const MESSAGE: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a82";
    const AGENT: &str = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a83";

    fn id<T: serde::de::DeserializeOwned>(uuid: &str) -> T {
        serde_json::from_value(serde_json::Value::String(uuid.to_owned())).expect("an id")
    }

    fn answer(show_reasoning: bool) -> Answer {
        Answer {
            session_id: "my-key".to_owned(),
            conversation_id: id(CONVERSATION),
            message_id: id(MESSAGE),
            agent_id: id(AGENT),
            show_reasoning,
            thinking: false,
        }
    }

    /// The `data:` text of the lines of `events`, as `answer` writes them.
    fn text(answer: &mut Answer, events: Vec<TurnEvent>) -> Vec<String> {
        events
            .into_iter()
            .flat_map(|e| answer.lines(e))
            .map(|l| serde_json::to_value(&l).expect("json").to_string())
            .collect()
    }

    fn stored(reasoning: Option<&str>) -> Box<Message> {
        Box::new(Message {
            id: id(MESSAGE),
            conversation_id: id(CONVERSATION),
            role: MessageRole::Assistant,
            content: "It is 4.".to_owned(),
            reasoning: reasoning.map(str::to_owned),
            tool_calls: Vec::new(),
            citations: Vec::new(),
            images: 0,
            status: MessageStatus::Complete,
            error: None,
            model: Some("fake-model".to_owned()),
            input_tokens: Some(12),
            output_tokens: Some(5),
            latency_ms: Some(40),
            feedback: None,
            feedback_comment: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        })
    }

    const USAGE: Usage = Usage {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
    };

    #[test]
    fn the_reasoning_block_is_framed_before_the_answer() {
        let lines = text(
            &mut answer(true),
            vec![
                TurnEvent::Reasoning("Two plus ".to_owned()),
                TurnEvent::Reasoning("two.".to_owned()),
                TurnEvent::Answer("It is 4.".to_owned()),
                TurnEvent::Finished {
                    message: stored(Some("Two plus two.")),
                    usage: USAGE,
                },
            ],
        );
        // The same objects, line by line (key order aside).
        let parsed = |l: &[String]| -> Vec<serde_json::Value> {
            l.iter()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        };
        assert_eq!(
            parsed(&lines),
            parsed(&[
                r#"{"chunk":"💭 Thinking Process\n\n","type":"reasoning"}"#.to_owned(),
                r#"{"chunk":"Two plus ","reasoning":true,"type":"reasoning"}"#.to_owned(),
                r#"{"chunk":"two.","reasoning":true,"type":"reasoning"}"#.to_owned(),
                r#"{"chunk":"\n\n---\n\n","type":"reasoning"}"#.to_owned(),
                r#"{"chunk":"It is 4."}"#.to_owned(),
                format!(
                    r#"{{"agent_id":"{AGENT}","conversation_id":"{CONVERSATION}","done":true,"message_id":"{MESSAGE}","reasoning":"Two plus two.","session_id":"my-key","usage":{{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17}}}}"#
                ),
            ])
        );
    }

    #[test]
    fn hidden_reasoning_stays_hidden() {
        let lines = text(
            &mut answer(false),
            vec![
                TurnEvent::Reasoning("secret".to_owned()),
                TurnEvent::Answer("It is 4.".to_owned()),
                TurnEvent::Finished {
                    message: stored(Some("secret")),
                    usage: USAGE,
                },
            ],
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], r#"{"chunk":"It is 4."}"#);
        assert!(
            lines[1].contains(r#""reasoning":null"#) && !lines[1].contains("secret"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn a_failure_midway_is_the_error_body_with_done() {
        let lines = text(
            &mut answer(false),
            vec![
                TurnEvent::Answer("partial".to_owned()),
                TurnEvent::Failed {
                    code: ErrorCode::Upstream,
                    detail: "The stream broke.".to_owned(),
                },
            ],
        );
        assert_eq!(lines.len(), 2);
        let last: serde_json::Value = serde_json::from_str(&lines[1]).expect("json");
        assert_eq!(last["done"], true);
        assert_eq!(last["detail"], "The stream broke.");
        assert_eq!(last["error"]["code"], "SRV-002");
        assert_eq!(last["session_id"], "my-key");
        assert_eq!(last["conversation_id"], CONVERSATION);
        assert_eq!(last["message_id"], MESSAGE);
    }

    #[test]
    fn the_response_shows_the_thinking_block_first() {
        assert_eq!(
            with_thinking(Some("  Two plus two. "), "It is 4."),
            "💭 Thinking Process\n\nTwo plus two.\n\n---\n\nIt is 4."
        );
        assert_eq!(with_thinking(Some("  "), "It is 4."), "It is 4.");
        assert_eq!(with_thinking(None, "It is 4."), "It is 4.");
    }
}
