//! The OpenAI chat format as Aerie answers in it (`POST /v1/chat/completions`, `GET /v1/models`):
//! a completion, the chunks of a streamed one, and the model list. Requests pass through to the
//! provider as JSON objects, and so do client tool calls; [`ChatCompletionRequest`] documents
//! the part of a request Aerie itself reads.
//!
//! Fields are declared in alphabetical order: these bodies used to be built as `serde_json`
//! maps, which sort their keys, and they keep that byte order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chat::{Citation, Usage};
use super::kinds::MessageRole;

/// `POST /v1/chat/completions`, as far as Aerie reads it (`services/chat/openai.rs`); any other
/// field of OpenAI's request (`temperature`, `tools`, `stream_options`, …) passes through to the
/// provider as sent. The handler reads the body as a JSON object; this type is its document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChatCompletionRequest {
    /// An agent's id or name (`GET /v1/models`); not only white space.
    #[cfg_attr(feature = "server", schema(min_length = 1, pattern = r"\S"))]
    pub model: String,
    #[cfg_attr(feature = "server", schema(min_items = 1))]
    pub messages: Vec<RequestMessage>,
    /// Only one choice is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(minimum = 1, maximum = 1))]
    pub n: Option<u32>,
    /// `true`: server-sent `chat.completion.chunk` events, then `data: [DONE]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// One message of a [`ChatCompletionRequest`]: its role, and content as OpenAI allows it (a
/// string, an array of parts, or null with tool calls).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RequestMessage {
    pub role: InputRole,
    #[serde(default)]
    pub content: Value,
}

/// The roles a request's message may have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InputRole {
    System,
    Developer,
    #[default]
    User,
    Assistant,
    Tool,
    Function,
}

/// `object` of a [`ChatCompletion`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum CompletionObject {
    #[default]
    #[serde(rename = "chat.completion")]
    ChatCompletion,
}

/// `object` of a [`ChatCompletionChunk`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum ChunkObject {
    #[default]
    #[serde(rename = "chat.completion.chunk")]
    ChatCompletionChunk,
}

/// `object` of a [`ModelList`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum ListObject {
    #[default]
    #[serde(rename = "list")]
    List,
}

/// `object` of a [`Model`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum ModelObject {
    #[default]
    #[serde(rename = "model")]
    Model,
}

/// What a [`Model`] stands for: an agent (Aerie's models are its agents).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// An agent of the organisation: its prompt, tools and knowledge bases come with it.
    #[default]
    Agent,
    /// A model of one of the organisation's providers, called as it is.
    Model,
    /// A route of the organisation: its policy decides what answers, and whether an approver
    /// must agree first (docs/RUNS.md).
    Route,
}

/// Token counts, as OpenAI names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CompletionUsage {
    pub completion_tokens: u64,
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

impl From<Usage> for CompletionUsage {
    fn from(u: Usage) -> Self {
        Self {
            completion_tokens: u.completion_tokens,
            prompt_tokens: u.prompt_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// `POST /v1/chat/completions` without `stream`: the whole answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChatCompletion {
    /// Always one.
    pub choices: Vec<Choice>,
    /// Unix seconds.
    pub created: i64,
    /// `chatcmpl-…`.
    pub id: String,
    /// The `model` as the client sent it (an agent's id or name).
    pub model: String,
    pub object: CompletionObject,
    /// Always null.
    pub system_fingerprint: Option<String>,
    pub usage: CompletionUsage,
    /// Aerie's addition (absent unless `model` names an agent with knowledge bases): the
    /// knowledge passages the answer was given; the answer cites them as `[n]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
}

/// The one choice of a [`ChatCompletion`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Choice {
    /// `stop`, `length`, `tool_calls`, … as the provider said.
    pub finish_reason: String,
    pub index: u32,
    /// Always null.
    #[cfg_attr(feature = "server", schema(value_type = Option<Object>))]
    pub logprobs: Option<Value>,
    pub message: AssistantMessage,
}

/// The answer of a [`Choice`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AssistantMessage {
    /// Null only when the model answered with tool calls alone.
    pub content: Option<String>,
    /// The model's thinking, when it had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Always null.
    pub refusal: Option<String>,
    /// `assistant`.
    pub role: MessageRole,
    /// Calls of the client's tools, for the client to run (OpenAI `tool_calls` objects, as the
    /// provider sent them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Vec<Object>>))]
    pub tool_calls: Option<Vec<Value>>,
}

/// One `data:` line of a streamed completion (`"stream": true`); the stream ends with
/// `data: [DONE]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChatCompletionChunk {
    /// One choice; none in the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Unix seconds, the same on every chunk.
    pub created: i64,
    /// `chatcmpl-…`, the same on every chunk.
    pub id: String,
    /// The `model` as the client sent it.
    pub model: String,
    pub object: ChunkObject,
    /// Always null.
    pub system_fingerprint: Option<String>,
    /// Only with `stream_options.include_usage`: null on every chunk but the last, which carries
    /// the counts and no choice.
    #[serde(
        default,
        deserialize_with = "crate::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<CompletionUsage>))]
    pub usage: Option<Option<CompletionUsage>>,
    /// Aerie's addition, on the first chunk only (and only when `model` names an agent with
    /// knowledge bases): the knowledge passages the answer was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
}

/// The one choice of a [`ChatCompletionChunk`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChunkChoice {
    pub delta: Delta,
    /// Set on the last chunk of the answer.
    pub finish_reason: Option<String>,
    pub index: u32,
    /// Always null.
    #[cfg_attr(feature = "server", schema(value_type = Option<Object>))]
    pub logprobs: Option<Value>,
}

/// What a chunk adds to the answer; an empty object on the finishing chunk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// `assistant`, on the first chunk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MessageRole>,
    /// Pieces of the client's tool calls (OpenAI `delta.tool_calls`, as the provider sent them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Vec<Object>>))]
    pub tool_calls: Option<Vec<Value>>,
}

/// `GET /v1/models`: the caller's agents, then their organisation's provider models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ModelList {
    pub data: Vec<Model>,
    pub object: ListObject,
}

/// Something `model` may name: an agent (by its id or its name), or a provider's model (by
/// its id here: the upstream's model id, or `<provider name>/<model id>` when two providers
/// offer the same model).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Model {
    /// When the agent or the provider was created (Unix seconds).
    pub created: i64,
    pub description: String,
    /// What `model` takes: the route's name, the agent's id, or the provider model's name.
    pub id: String,
    pub kind: ModelKind,
    /// The provider's model (an agent: the one it runs on).
    pub model: String,
    pub name: String,
    pub object: ModelObject,
    /// `aerie` for routes and agents; the provider's name for its models.
    pub owned_by: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `value` serialises to the bytes the old handler's `json!` body had (`old`, also spelled
    /// out as `expected`), and reads back to itself.
    fn exact<T>(value: &T, old: &Value, expected: &str)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        // The same object (key order aside: `json!` keeps the written order).
        assert_eq!(
            old,
            &serde_json::from_str::<Value>(expected).expect("expected is JSON")
        );
        let text = serde_json::to_string(value).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Value>(&text).expect("JSON"),
            serde_json::from_str::<Value>(expected).expect("expected is JSON")
        );
        let back: T = serde_json::from_str(&text).expect("reads back");
        assert_eq!(&back, value);
    }

    fn usage() -> CompletionUsage {
        CompletionUsage::from(Usage {
            prompt_tokens: 12,
            completion_tokens: 5,
            total_tokens: 17,
        })
    }

    fn old_usage() -> Value {
        json!({"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17})
    }

    fn chunk(
        delta: Delta,
        finish: Option<&str>,
        usage: Option<Option<CompletionUsage>>,
    ) -> ChatCompletionChunk {
        ChatCompletionChunk {
            choices: vec![ChunkChoice {
                delta,
                finish_reason: finish.map(str::to_owned),
                index: 0,
                logprobs: None,
            }],
            created: 1_700_000_000,
            id: "chatcmpl-abc".to_owned(),
            model: "helper".to_owned(),
            object: ChunkObject::ChatCompletionChunk,
            system_fingerprint: None,
            usage,
            citations: None,
        }
    }

    /// The old handler's chunk.
    fn old_chunk(delta: Value, finish: Option<&str>, include_usage: bool) -> Value {
        let (id, created, model) = ("chatcmpl-abc", 1_700_000_000, "helper");
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    }

    #[test]
    fn a_completion_is_what_the_json_macro_built() {
        let answer = ChatCompletion {
            choices: vec![Choice {
                finish_reason: "stop".to_owned(),
                index: 0,
                logprobs: None,
                message: AssistantMessage {
                    content: Some("It is 4.".to_owned()),
                    reasoning_content: Some("Two plus two.".to_owned()),
                    refusal: None,
                    role: MessageRole::Assistant,
                    tool_calls: None,
                },
            }],
            created: 1_700_000_000,
            id: "chatcmpl-abc".to_owned(),
            model: "helper".to_owned(),
            object: CompletionObject::ChatCompletion,
            system_fingerprint: None,
            usage: usage(),
            citations: None,
        };
        let mut message = json!({"role": "assistant", "content": "It is 4.", "refusal": null});
        message["reasoning_content"] = Value::String("Two plus two.".to_owned());
        let old = json!({
            "id": "chatcmpl-abc",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "helper",
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": "stop"}],
            "usage": old_usage(),
            "system_fingerprint": null,
        });
        exact(
            &answer,
            &old,
            r#"{"choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"It is 4.","reasoning_content":"Two plus two.","refusal":null,"role":"assistant"}}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion","system_fingerprint":null,"usage":{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17}}"#,
        );

        // Tool calls alone: `content` is null, the calls pass through untouched.
        let call = json!({"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}});
        let tools = AssistantMessage {
            content: None,
            reasoning_content: None,
            refusal: None,
            role: MessageRole::Assistant,
            tool_calls: Some(vec![call.clone()]),
        };
        let mut old = json!({"role": "assistant", "content": Value::Null, "refusal": null});
        old["tool_calls"] = Value::Array(vec![call]);
        exact(
            &tools,
            &old,
            r#"{"content":null,"refusal":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{\"city\":\"Oslo\"}","name":"get_weather"},"id":"call_1","type":"function"}]}"#,
        );
    }

    #[test]
    fn chunks_are_what_the_json_macro_built() {
        let head = Delta {
            content: Some(String::new()),
            role: Some(MessageRole::Assistant),
            ..Delta::default()
        };
        let old_head = json!({"role": "assistant", "content": ""});
        exact(
            &chunk(head.clone(), None, None),
            &old_chunk(old_head.clone(), None, false),
            r#"{"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null}"#,
        );
        // With include_usage every chunk carries `"usage": null`…
        exact(
            &chunk(head, None, Some(None)),
            &old_chunk(old_head, None, true),
            r#"{"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
        );
        let answer = Delta {
            content: Some("Hel".to_owned()),
            ..Delta::default()
        };
        exact(
            &chunk(answer, None, None),
            &old_chunk(json!({"content": "Hel"}), None, false),
            r#"{"choices":[{"delta":{"content":"Hel"},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null}"#,
        );
        let reasoning = Delta {
            reasoning_content: Some("hm".to_owned()),
            ..Delta::default()
        };
        exact(
            &chunk(reasoning, None, None),
            &old_chunk(json!({"reasoning_content": "hm"}), None, false),
            r#"{"choices":[{"delta":{"reasoning_content":"hm"},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null}"#,
        );
        let calls = vec![json!({"index": 0, "function": {"arguments": "{\"ci"}})];
        let delta = Delta {
            tool_calls: Some(calls.clone()),
            ..Delta::default()
        };
        exact(
            &chunk(delta, None, None),
            &old_chunk(json!({"tool_calls": Value::Array(calls)}), None, false),
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"ci"},"index":0}]},"finish_reason":null,"index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null}"#,
        );
        exact(
            &chunk(Delta::default(), Some("stop"), Some(None)),
            &old_chunk(json!({}), Some("stop"), true),
            r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
        );
        // …and the last one the counts, with no choice.
        let counts = ChatCompletionChunk {
            choices: Vec::new(),
            usage: Some(Some(usage())),
            ..chunk(Delta::default(), None, None)
        };
        let old = json!({
            "id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "helper", "system_fingerprint": null, "choices": [], "usage": old_usage(),
        });
        exact(
            &counts,
            &old,
            r#"{"choices":[],"created":1700000000,"id":"chatcmpl-abc","model":"helper","object":"chat.completion.chunk","system_fingerprint":null,"usage":{"completion_tokens":5,"prompt_tokens":12,"total_tokens":17}}"#,
        );
    }

    #[test]
    fn the_model_list_is_what_the_json_macro_built() {
        let id = "0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a8b".to_owned();
        let list = ModelList {
            data: vec![Model {
                created: 1_700_000_000,
                description: "Answers briefly.".to_owned(),
                id: id.clone(),
                kind: ModelKind::Agent,
                model: "fake-model".to_owned(),
                name: "helper".to_owned(),
                object: ModelObject::Model,
                owned_by: "aerie".to_owned(),
            }],
            object: ListObject::List,
        };
        let data = vec![json!({
            "id": id, "object": "model", "created": 1_700_000_000,
            "owned_by": "aerie", "name": "helper", "kind": "agent", "model": "fake-model",
            "description": "Answers briefly.",
        })];
        exact(
            &list,
            &json!({"object": "list", "data": data}),
            r#"{"data":[{"created":1700000000,"description":"Answers briefly.","id":"0190a6c2-7d3e-7c1a-9b2f-3c4d5e6f7a8b","kind":"agent","model":"fake-model","name":"helper","object":"model","owned_by":"aerie"}],"object":"list"}"#,
        );
    }
}
