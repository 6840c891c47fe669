//! The one chat engine behind every wire format: builds the upstream request from the agent
//! and the messages, calls the provider (streaming or not), splits reasoning from the answer,
//! runs the agent's tools in a bounded loop, counts tokens, and stops when cancelled or when
//! nobody listens any more. It never invents an answer: every word comes from the provider.

use std::time::Instant;

use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::events::TurnEvent;
use super::think::ThinkSplitter;
use crate::llm::LlmError;
use crate::services::billing::{Hold, Meter};
use crate::services::providers::ResolvedProvider;
use crate::{AppContext, Error, tools};
use aerie_contract::agents::Agent;
use aerie_contract::chat::{ToolCallRecord, Usage};
use aerie_contract::{CallStatus, ErrorCode};

/// Rounds of tool calls before the engine stops asking the model.
pub const MAX_TOOL_ROUNDS: usize = 5;

/// The request to the engine.
pub struct Turn<'a> {
    pub agent: &'a Agent,
    pub provider: &'a ResolvedProvider,
    /// The conversation so far (OpenAI message objects), without the agent's system prompt.
    pub messages: Vec<Value>,
    /// Knowledge for the model (numbered passages and how to cite them): a system message
    /// after the agent's prompt.
    pub knowledge: Option<String>,
    /// Client parameters passed through (OpenAI API): sampling, `tools`, `response_format`…
    pub passthrough: Map<String, Value>,
    /// Whether the agent's tools run here (off when the client brings its own tools).
    pub run_agent_tools: bool,
    /// Whether reasoning is sent as it comes (it is kept in the [`Outcome`] either way).
    pub show_reasoning: bool,
    /// Meters every model call of the turn (credits, docs/BILLING.md): each round reserves its
    /// worst case before the call and settles after it.
    pub meter: Option<Meter>,
    /// The first call's hold, reserved before anything was stored (so a refusal is a clean 402).
    pub hold: Option<Hold>,
}

impl Turn<'_> {
    /// The first upstream request (what [`Meter::reserve`] sizes before the turn starts).
    pub fn first_request(&self, stream: bool) -> Value {
        request_body(self, &self.messages, stream)
    }
}

/// How a turn ended: everything generated, also when it failed or was cancelled.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCallRecord>,
    /// Tool calls for the client to run (client tools), as OpenAI message `tool_calls`.
    pub client_tool_calls: Vec<Value>,
    pub usage: Usage,
    pub finish_reason: String,
    pub upstream_model: Option<String>,
    pub latency_ms: u64,
    pub cancelled: bool,
    pub error: Option<(ErrorCode, String)>,
    /// How many usage objects the provider sent (a round without one is counted by us).
    pub usage_reports: usize,
    /// Credits charged for the turn's rounds.
    pub credits: i64,
}

impl Outcome {
    pub fn status(&self) -> CallStatus {
        if self.error.is_some() {
            CallStatus::Error
        } else if self.cancelled {
            CallStatus::Cancelled
        } else {
            CallStatus::Ok
        }
    }
}

/// Rough token count for providers that report none (about four characters per token).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn messages_text(messages: &[Value]) -> String {
    let mut out = String::new();
    for m in messages {
        match m.get("content") {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Array(parts)) => {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        out.push_str(t);
                    }
                }
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// The upstream request body.
fn request_body(turn: &Turn<'_>, history: &[Value], stream: bool) -> Value {
    let mut body = turn.passthrough.clone();
    for k in ["model", "messages", "stream", "stream_options", "n"] {
        body.remove(k);
    }
    body.insert("model".into(), Value::String(turn.agent.model.clone()));
    let mut messages = Vec::with_capacity(history.len() + 2);
    if !turn.agent.system_prompt.trim().is_empty() {
        messages.push(json!({"role": "system", "content": turn.agent.system_prompt}));
    }
    if let Some(k) = &turn.knowledge {
        messages.push(json!({"role": "system", "content": k}));
    }
    messages.extend(history.iter().cloned());
    body.insert("messages".into(), Value::Array(messages));
    let p = &turn.agent.parameters;
    if let Some(t) = p.temperature {
        body.entry("temperature").or_insert(json!(t));
    }
    if let Some(t) = p.top_p {
        body.entry("top_p").or_insert(json!(t));
    }
    if let Some(m) = p.max_tokens
        && !body.contains_key("max_completion_tokens")
    {
        body.entry("max_tokens").or_insert(json!(m));
    }
    if turn.run_agent_tools && !turn.agent.tools.is_empty() {
        body.insert(
            "tools".into(),
            Value::Array(tools::openai_tools(&turn.agent.tools)),
        );
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    } else {
        body.insert("stream".into(), Value::Bool(false));
    }
    Value::Object(body)
}

fn add_usage(total: &mut Usage, usage: Option<&Value>) -> bool {
    let Some(u) = usage.filter(|u| u.is_object()) else {
        return false;
    };
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    total.prompt_tokens += get("prompt_tokens");
    total.completion_tokens += get("completion_tokens");
    total.total_tokens = total.prompt_tokens + total.completion_tokens;
    true
}

fn reasoning_field(v: &Value) -> Option<&str> {
    v.get("reasoning_content")
        .or_else(|| v.get("reasoning"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// One pending tool call being assembled from stream deltas.
#[derive(Default, Clone, Debug)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

struct Round {
    content: String,
    reasoning: String,
    calls: Vec<PendingCall>,
    finish_reason: String,
}

/// Where the outcome stood when a round began.
struct Mark {
    usage: Usage,
    reports: usize,
    content: usize,
    reasoning: usize,
}

impl Mark {
    fn of(out: &Outcome) -> Self {
        Self {
            usage: out.usage,
            reports: out.usage_reports,
            content: out.content.len(),
            reasoning: out.reasoning.len(),
        }
    }

    /// The round's tokens `(input, output)`: the provider's usage when it reported one; else,
    /// once the provider accepted the request, the prompt and what it produced (also when the
    /// round was cancelled or broke off mid-stream), counted and added to the outcome; nothing
    /// when the request never reached it.
    fn round_usage(&self, body: &Value, accepted: bool, out: &mut Outcome) -> (u64, u64) {
        if out.usage_reports > self.reports {
            return (
                out.usage
                    .prompt_tokens
                    .saturating_sub(self.usage.prompt_tokens),
                out.usage
                    .completion_tokens
                    .saturating_sub(self.usage.completion_tokens),
            );
        }
        let produced = out.content.len() > self.content || out.reasoning.len() > self.reasoning;
        if !accepted && !produced {
            return (0, 0);
        }
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let input = estimate_tokens(&messages_text(messages));
        let output = estimate_tokens(out.content.get(self.content..).unwrap_or_default())
            + estimate_tokens(out.reasoning.get(self.reasoning..).unwrap_or_default());
        out.usage.prompt_tokens += input;
        out.usage.completion_tokens += output;
        out.usage.total_tokens = out.usage.prompt_tokens + out.usage.completion_tokens;
        (input, output)
    }
}

/// Sends an event; false when nobody listens any more.
async fn emit(tx: Option<&mpsc::Sender<TurnEvent>>, event: TurnEvent) -> bool {
    match tx {
        Some(tx) => tx.send(event).await.is_ok(),
        None => true,
    }
}

/// Runs a turn to its end. With `tx`, the upstream is streamed and its pieces are sent as they
/// come (the caller sends the last event, from the [`Outcome`]); without, one non-streaming
/// call per round.
pub async fn run(
    ctx: &AppContext,
    turn: Turn<'_>,
    tx: Option<&mpsc::Sender<TurnEvent>>,
    cancel: &CancellationToken,
) -> Outcome {
    let started = Instant::now();
    let mut out = Outcome::default();
    let mut turn = turn;
    let mut first_hold = turn.hold.take();
    let mut history = turn.messages.clone();
    for round_no in 0..=MAX_TOOL_ROUNDS {
        let body = request_body(&turn, &history, tx.is_some());
        let hold = match (first_hold.take(), &turn.meter) {
            (Some(h), _) => Some(h),
            (None, Some(meter)) => match meter.reserve(&body).await {
                Ok(h) => Some(h),
                Err(e) => {
                    out.error = Some((e.code(), e.body().detail));
                    break;
                }
            },
            (None, None) => None,
        };
        let cap = hold.as_ref().map(Hold::output_cap);
        let mark = Mark::of(&out);
        let mut accepted = false;
        let round = match tx {
            Some(tx) => {
                streamed_round(&turn, &body, tx, cancel, cap, &mut accepted, &mut out).await
            }
            None => single_round(&turn, &body, cancel, &mut accepted, &mut out).await,
        };
        let (input, output) = mark.round_usage(&body, accepted, &mut out);
        if let Some(hold) = hold {
            out.credits += hold.settle(input, output).await;
        }
        let round = match round {
            Ok(r) => r,
            Err(e) => {
                if let Some(e) = e {
                    out.error = Some((e.code(), e.to_string()));
                }
                break;
            }
        };
        out.finish_reason = round.finish_reason.clone();
        if round.calls.is_empty() {
            break;
        }
        if !turn.run_agent_tools {
            out.client_tool_calls = round
                .calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect();
            out.finish_reason = "tool_calls".to_owned();
            break;
        }
        if round_no == MAX_TOOL_ROUNDS {
            out.error = Some((
                ErrorCode::Upstream,
                format!(
                    "The model kept calling tools after {MAX_TOOL_ROUNDS} rounds; the turn was stopped."
                ),
            ));
            break;
        }
        // Run the agent's tools and give the model their answers.
        history.push(json!({
            "role": "assistant",
            "content": if round.content.is_empty() { Value::Null } else { Value::String(round.content.clone()) },
            "tool_calls": round.calls.iter().map(|c| json!({
                "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments}
            })).collect::<Vec<_>>(),
        }));
        for call in &round.calls {
            let result = if turn.agent.tools.contains(&call.name) {
                tokio::select! {
                    r = ctx.tools().call(&call.name, &call.arguments) => r,
                    () = cancel.cancelled() => { out.cancelled = true; break; }
                }
            } else {
                tools::ToolOutcome {
                    ok: false,
                    content: format!("The tool `{}` is not enabled for this agent.", call.name),
                }
            };
            let record = ToolCallRecord {
                id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                result: result.content.clone(),
                ok: result.ok,
            };
            out.tool_calls.push(record.clone());
            if !emit(tx, TurnEvent::ToolCall(record)).await {
                cancel.cancel();
            }
            history
                .push(json!({"role": "tool", "tool_call_id": call.id, "content": result.content}));
        }
        if cancel.is_cancelled() {
            out.cancelled = true;
            break;
        }
    }
    out.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    out
}

/// One non-streaming call. `Err(None)`: cancelled. `accepted`: the provider answered.
async fn single_round(
    turn: &Turn<'_>,
    body: &Value,
    cancel: &CancellationToken,
    accepted: &mut bool,
    out: &mut Outcome,
) -> Result<Round, Option<Error>> {
    let answer = tokio::select! {
        r = turn.provider.client.complete(body) => r.map_err(|e| Some(Error::from(e)))?,
        () = cancel.cancelled() => { out.cancelled = true; return Err(None); }
    };
    *accepted = true;
    if add_usage(&mut out.usage, answer.get("usage")) {
        out.usage_reports += 1;
    }
    if let Some(m) = answer.get("model").and_then(Value::as_str) {
        out.upstream_model = Some(m.to_owned());
    }
    let choice = answer
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| {
            Some(Error::from(LlmError::Protocol(
                "the answer has no choices".to_owned(),
            )))
        })?;
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let raw = message
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (content, mut reasoning) = super::think::split(raw);
    if let Some(r) = reasoning_field(&message) {
        reasoning = format!("{r}{reasoning}");
    }
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| PendingCall {
                    id: c
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    out.content.push_str(&content);
    out.reasoning.push_str(&reasoning);
    Ok(Round {
        content,
        reasoning,
        calls,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .unwrap_or("stop")
            .to_owned(),
    })
}

/// One streaming call, sending deltas as they arrive. `Err(None)`: cancelled. `accepted`: the
/// provider opened the stream. The stream is stopped (`finish_reason` `length`) once the
/// generated text counts `cap` tokens: the call was reserved for no more.
async fn streamed_round(
    turn: &Turn<'_>,
    body: &Value,
    tx: &mpsc::Sender<TurnEvent>,
    cancel: &CancellationToken,
    cap: Option<u64>,
    accepted: &mut bool,
    out: &mut Outcome,
) -> Result<Round, Option<Error>> {
    let mut stream = tokio::select! {
        r = turn.provider.client.stream(body) => r.map_err(|e| Some(Error::from(e)))?,
        () = cancel.cancelled() => { out.cancelled = true; return Err(None); }
    };
    *accepted = true;
    let mut round = Round {
        content: String::new(),
        reasoning: String::new(),
        calls: Vec::new(),
        finish_reason: "stop".to_owned(),
    };
    let mut generated_chars: u64 = 0;
    let mut splitter = ThinkSplitter::default();
    loop {
        let next = tokio::select! {
            n = stream.next() => n,
            () = cancel.cancelled() => { out.cancelled = true; return Err(None); }
        };
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => return Err(Some(Error::from(e))),
        };
        if add_usage(&mut out.usage, chunk.get("usage")) {
            out.usage_reports += 1;
        }
        if out.upstream_model.is_none()
            && let Some(m) = chunk.get("model").and_then(Value::as_str)
        {
            out.upstream_model = Some(m.to_owned());
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else {
            continue;
        };
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            round.finish_reason = f.to_owned();
        }
        let Some(delta) = choice.get("delta") else {
            continue;
        };
        let mut events = Vec::new();
        if let Some(r) = reasoning_field(delta) {
            events.push(TurnEvent::Reasoning(r.to_owned()));
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            for (is_reasoning, piece) in splitter.feed(text) {
                events.push(if is_reasoning {
                    TurnEvent::Reasoning(piece)
                } else {
                    TurnEvent::Answer(piece)
                });
            }
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for c in calls {
                let index = c.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                if index >= 128 {
                    continue;
                }
                if round.calls.len() <= index {
                    round.calls.resize(index + 1, PendingCall::default());
                }
                let call = &mut round.calls[index];
                if let Some(id) = c.get("id").and_then(Value::as_str) {
                    call.id.push_str(id);
                }
                if let Some(n) = c.pointer("/function/name").and_then(Value::as_str) {
                    call.name.push_str(n);
                }
                if let Some(a) = c.pointer("/function/arguments").and_then(Value::as_str) {
                    call.arguments.push_str(a);
                }
            }
            if !turn.run_agent_tools {
                events.push(TurnEvent::ClientToolCalls(calls.clone()));
            }
        }
        for e in events {
            match &e {
                TurnEvent::Answer(t) => {
                    generated_chars += t.chars().count() as u64;
                    round.content.push_str(t);
                    out.content.push_str(t);
                }
                TurnEvent::Reasoning(t) => {
                    generated_chars += t.chars().count() as u64;
                    round.reasoning.push_str(t);
                    out.reasoning.push_str(t);
                    if !turn.show_reasoning {
                        continue;
                    }
                }
                _ => {}
            }
            if tx.send(e).await.is_err() {
                // The client went away: stop generating (dropping the stream closes it).
                out.cancelled = true;
                cancel.cancel();
                return Err(None);
            }
        }
        if cap.is_some_and(|cap| generated_chars.div_ceil(4) >= cap) {
            // Dropping the stream closes the upstream request.
            round.finish_reason = "length".to_owned();
            break;
        }
    }
    for (is_reasoning, piece) in splitter.finish() {
        if is_reasoning {
            round.reasoning.push_str(&piece);
            out.reasoning.push_str(&piece);
            if turn.show_reasoning {
                let _ = tx.send(TurnEvent::Reasoning(piece)).await;
            }
        } else {
            round.content.push_str(&piece);
            out.content.push_str(&piece);
            let _ = tx.send(TurnEvent::Answer(piece)).await;
        }
    }
    round.calls.retain(|c| !c.name.is_empty());
    Ok(round)
}
