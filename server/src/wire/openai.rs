//! `POST /v1/chat/completions` and `GET /v1/models` in OpenAI's shapes: a `chat.completion`,
//! or `chat.completion.chunk` lines (a first one with the role, the pieces, a finishing one,
//! with `stream_options.include_usage` a last one with the counts) and `data: [DONE]`.

use aerie_backend::Error;
use aerie_backend::services::chat::engine::Outcome;
use aerie_backend::services::chat::models::ProviderModel;
use aerie_backend::services::chat::openai::Prepared;
use aerie_backend::services::chat::{TurnEvent, TurnStream};
use aerie_contract::agents::Agent;
use aerie_contract::chat::Citation;
use aerie_contract::openai::{
    AssistantMessage, ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, ChunkObject,
    CompletionObject, CompletionUsage, Delta, ListObject, Model, ModelKind, ModelList, ModelObject,
};
use aerie_contract::runs::Route;
use aerie_contract::{ErrorBody, MessageRole};
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

/// A `data:` line of a streamed completion: a chunk, or the error body when the turn fails
/// midway.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum Line {
    Chunk(ChatCompletionChunk),
    Error(ErrorBody),
}

/// The answer to one request: its id, time and echoed model, named before the model runs.
pub struct Reply {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
}

impl Reply {
    pub fn new(prep: &Prepared) -> Self {
        Self {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: chrono::Utc::now().timestamp(),
            model: prep.model.clone(),
            include_usage: prep.include_usage,
        }
    }

    /// The whole answer (without `stream`), with the citations of the agent's knowledge.
    pub fn completion(self, out: Outcome, citations: Vec<Citation>) -> ChatCompletion {
        let tools_only = out.content.is_empty() && !out.client_tool_calls.is_empty();
        ChatCompletion {
            choices: vec![Choice {
                finish_reason: out.finish_reason,
                index: 0,
                logprobs: None,
                message: AssistantMessage {
                    content: (!tools_only).then_some(out.content),
                    reasoning_content: Some(out.reasoning).filter(|r| !r.is_empty()),
                    refusal: None,
                    role: MessageRole::Assistant,
                    tool_calls: Some(out.client_tool_calls).filter(|c| !c.is_empty()),
                },
            }],
            created: self.created,
            id: self.id,
            model: self.model,
            object: CompletionObject::ChatCompletion,
            system_fingerprint: None,
            usage: out.usage.into(),
            citations: Some(citations).filter(|c| !c.is_empty()),
        }
    }

    /// Streams a started completion. A failure before the model's first token is the
    /// request's error status, not a 200 stream.
    pub async fn stream(self, events: mpsc::Receiver<TurnEvent>) -> Result<Response, Error> {
        let mut events = TurnStream::open(events).await?;
        let citations = events.take_citations();
        let head = ChatCompletionChunk {
            citations: Some(citations).filter(|c| !c.is_empty()),
            ..self.chunk(
                Delta {
                    content: Some(String::new()),
                    role: Some(MessageRole::Assistant),
                    ..Delta::default()
                },
                None,
            )
        };
        let head = futures::stream::once(std::future::ready(super::data_line(&head)));
        let done = futures::stream::once(std::future::ready(Event::default().data("[DONE]")));
        let lines = events
            .flat_map(move |e| futures::stream::iter(self.lines(e)))
            .map(|line| super::data_line(&line));
        Ok(super::sse(head.chain(lines).chain(done)))
    }

    /// The lines of one turn event.
    fn lines(&self, e: TurnEvent) -> Vec<Line> {
        let piece = |delta| vec![Line::Chunk(self.chunk(delta, None))];
        match e {
            TurnEvent::Answer(t) => piece(Delta {
                content: Some(t),
                ..Delta::default()
            }),
            TurnEvent::Reasoning(t) => piece(Delta {
                reasoning_content: Some(t),
                ..Delta::default()
            }),
            TurnEvent::ClientToolCalls(calls) => piece(Delta {
                tool_calls: Some(calls),
                ..Delta::default()
            }),
            TurnEvent::Completed {
                finish_reason,
                usage,
            } => {
                let finish = if finish_reason.is_empty() {
                    "stop".to_owned()
                } else {
                    finish_reason
                };
                let mut lines = vec![Line::Chunk(self.chunk(Delta::default(), Some(finish)))];
                if self.include_usage {
                    lines.push(Line::Chunk(ChatCompletionChunk {
                        choices: Vec::new(),
                        usage: Some(Some(CompletionUsage::from(usage))),
                        ..self.chunk(Delta::default(), None)
                    }));
                }
                lines
            }
            TurnEvent::Failed { code, detail } => {
                vec![Line::Error(ErrorBody::with_detail(code, detail))]
            }
            // The agent's own tools do not show in this format, only conversation turns
            // finish with a stored message, and the citations ride on the first chunk.
            // Only `/api/chat` asks (elsewhere the guardrails block instead).
            TurnEvent::ToolCall(_)
            | TurnEvent::Finished { .. }
            | TurnEvent::Citations(_)
            | TurnEvent::DlpFinding(_) => Vec::new(),
        }
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            choices: vec![ChunkChoice {
                delta,
                finish_reason,
                index: 0,
                logprobs: None,
            }],
            created: self.created,
            id: self.id.clone(),
            model: self.model.clone(),
            object: ChunkObject::ChatCompletionChunk,
            system_fingerprint: None,
            usage: self.include_usage.then_some(None),
            citations: None,
        }
    }
}

/// `GET /v1/models`: the caller's agents, the organisation's provider models, then its routes.
/// A route's `model` is what it answers with (its model, its agent's, or the organisation's
/// first provider model).
pub fn models(
    routes: Vec<Route>,
    agents: Vec<Agent>,
    provider_models: Vec<ProviderModel>,
) -> ModelList {
    let answers_with = |r: &Route| {
        r.model
            .clone()
            .or_else(|| {
                r.agent_id
                    .and_then(|id| agents.iter().find(|a| a.id == id))
                    .map(|a| a.model.clone())
            })
            .or_else(|| provider_models.first().map(|m| m.model.clone()))
            .unwrap_or_default()
    };
    let routes: Vec<Model> = routes
        .into_iter()
        .map(|r| Model {
            created: r.created_at.timestamp(),
            model: answers_with(&r),
            description: r.description,
            id: r.name.clone(),
            kind: ModelKind::Route,
            name: r.name,
            object: ModelObject::Model,
            owned_by: "aerie".to_owned(),
        })
        .collect();
    let agents = agents.into_iter().map(|a| Model {
        created: a.created_at.timestamp(),
        description: a.description,
        id: a.id.0.to_string(),
        kind: ModelKind::Agent,
        model: a.model,
        name: a.name,
        object: ModelObject::Model,
        owned_by: "aerie".to_owned(),
    });
    let provider_models = provider_models.into_iter().map(|m| Model {
        created: m.provider.created_at.timestamp(),
        description: m.description(),
        name: m.id.clone(),
        id: m.id,
        kind: ModelKind::Model,
        model: m.model,
        object: ModelObject::Model,
        owned_by: m.provider.name,
    });
    ModelList {
        data: agents.chain(provider_models).chain(routes).collect(),
        object: ListObject::List,
    }
}

#[cfg(test)]
mod tests {
    use aerie_contract::ErrorCode;
    use aerie_contract::chat::Usage;
    use serde_json::json;

    use super::*;

    fn reply(include_usage: bool) -> Reply {
        Reply {
            id: "chatcmpl-abc".to_owned(),
            created: 1_700_000_000,
            model: "helper".to_owned(),
            include_usage,
        }
    }

    /// The `data:` text of each line, as `stream` writes it.
    fn text(lines: Vec<Line>) -> Vec<String> {
        lines
            .iter()
            .map(|l| serde_json::to_value(l).expect("json").to_string())
            .collect()
    }

    const USAGE: Usage = Usage {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
    };

    #[test]
    fn streamed_lines_are_the_chunks_clients_always_read() {
        let r = reply(true);
        assert_eq!(
            text(r.lines(TurnEvent::Answer("Hi".to_owned()))),
            [
                r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#
            ]
        );
        // A model that never said why it stopped stopped; the counts come last when asked for.
        assert_eq!(
            text(r.lines(TurnEvent::Completed {
                finish_reason: String::new(),
                usage: USAGE,
            })),
            [
                r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
                r#"{"choices":[],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17}}"#,
            ]
        );
        let r = reply(false);
        assert_eq!(
            text(r.lines(TurnEvent::Completed {
                finish_reason: "tool_calls".to_owned(),
                usage: USAGE,
            })),
            [
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls","index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null}"#
            ]
        );
        // A failure midway is the error body; the agent's own tool calls do not show.
        let failed = text(r.lines(TurnEvent::Failed {
            code: ErrorCode::Unavailable,
            detail: "The server is shutting down.".to_owned(),
        }));
        assert_eq!(
            failed,
            [serde_json::to_value(ErrorBody::with_detail(
                ErrorCode::Unavailable,
                "The server is shutting down."
            ))
            .expect("json")
            .to_string()]
        );
        assert!(
            failed[0].starts_with(
                r#"{"detail":"The server is shutting down.","error":{"code":"SRV-003","#
            )
        );
        let call = aerie_contract::chat::ToolCallRecord {
            id: "c".to_owned(),
            name: "calculator".to_owned(),
            arguments: "{}".to_owned(),
            result: "4".to_owned(),
            ok: true,
        };
        assert!(r.lines(TurnEvent::ToolCall(call)).is_empty());
    }

    #[test]
    fn a_completion_with_tool_calls_alone_has_null_content() {
        let call = json!({"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"}});
        let out = Outcome {
            client_tool_calls: vec![call.clone()],
            finish_reason: "tool_calls".to_owned(),
            usage: USAGE,
            ..Outcome::default()
        };
        let message = reply(false)
            .completion(out, Vec::new())
            .choices
            .remove(0)
            .message;
        assert_eq!(message.content, None);
        assert_eq!(message.tool_calls, Some(vec![call]));
        assert_eq!(message.reasoning_content, None);

        let out = Outcome {
            reasoning: "hm".to_owned(),
            finish_reason: "stop".to_owned(),
            ..Outcome::default()
        };
        let message = reply(false)
            .completion(out, Vec::new())
            .choices
            .remove(0)
            .message;
        assert_eq!(message.content.as_deref(), Some(""));
        assert_eq!(message.reasoning_content.as_deref(), Some("hm"));
        assert_eq!(message.tool_calls, None);
    }
}
