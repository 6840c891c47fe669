//! A scripted OpenAI-compatible upstream on loopback, for integration tests and the chat
//! benchmark only (never part of the product).
//!
//! `POST /v1/chat/completions` answers with the next queued [`Reply`] (FIFO), or, when the
//! queue is empty, with a default reply: `"The tool says: {content}"` when the last message has
//! role `tool`, otherwise `"echo: {last user message text}"`. Both streaming (`"stream": true`,
//! server-sent events ending in `data: [DONE]`) and plain JSON answers follow OpenAI's shapes.
//! `GET /v1/models` lists the configured model ids. `POST /v1/embeddings` answers each input
//! with an 8-dimensional unit vector of letter counts (deterministic; similar texts get similar
//! vectors), in reverse order with their `index`, as a real provider may.
//!
//! Token counts are word counts (whitespace separated): prompt tokens are the words of every
//! message's text, completion tokens the words of the answer (content and reasoning, or the tool
//! calls' names and arguments).

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

/// At most this many chat requests (bodies and Authorization headers) are kept; older ones are
/// forgotten first.
pub const MAX_RECORDED: usize = 10_000;

/// A scripted answer to one `POST /v1/chat/completions`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An assistant message; `reasoning` becomes `message.reasoning_content` (streamed as
    /// `delta.reasoning_content` pieces before the content).
    Text {
        content: String,
        reasoning: Option<String>,
    },
    /// An assistant message with these tool calls (`(name, arguments JSON)`), ids `call_1`,
    /// `call_2`, …, `content: null` and `finish_reason: "tool_calls"`.
    ToolCalls(Vec<(String, String)>),
    /// Answer with this status and JSON body (e.g. 429 or 500 with an OpenAI error body).
    Status { status: u16, body: Value },
    /// Wait this long (before any header is sent), then answer with `then`.
    Delay { ms: u64, then: Box<Reply> },
    /// Streamed: the first chunk at once, then one chunk every `interval_ms`. Not streamed: the
    /// joined text, at once.
    StreamSlow {
        chunks: Vec<String>,
        interval_ms: u64,
    },
    /// Streamed: these chunks, then the connection is aborted (no finish chunk, no `[DONE]`).
    /// Not streamed: a 200 with a truncated JSON body, then the connection is aborted.
    DropAfter { chunks: Vec<String> },
    /// Like `Text` (no reasoning) but without `usage` anywhere, even when the request asked for
    /// `stream_options.include_usage`.
    NoUsage { content: String },
}

impl Reply {
    /// `Reply::Text` without reasoning.
    pub fn text(content: impl Into<String>) -> Reply {
        Reply::Text {
            content: content.into(),
            reasoning: None,
        }
    }

    /// `Reply::Status` with OpenAI's error body `{"error":{"message","type","code"}}`.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::Status {
            status,
            body: openai_error(message, error_type(status)),
        }
    }
}

/// Settings for the unscripted default replies (the benchmark's upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Wait this long before a default reply.
    pub latency_ms: u64,
    /// Split a streamed default (and `Text`/`NoUsage`) answer into about this many pieces.
    pub stream_chunks: usize,
    /// Pause between streamed pieces of default (and `Text`/`NoUsage`/`ToolCalls`) answers.
    pub chunk_interval_ms: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            latency_ms: 0,
            stream_chunks: 8,
            chunk_interval_ms: 0,
        }
    }
}

/// A running fake upstream; the listener stops when this is dropped (open connections finish).
pub struct FakeUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: AbortHandle,
}

struct Shared {
    opts: Options,
    record: AtomicBool,
    next_id: AtomicU64,
    open_streams: AtomicUsize,
    cancelled_streams: AtomicUsize,
    inner: Mutex<Inner>,
}

struct Inner {
    queue: VecDeque<Reply>,
    requests: VecDeque<Value>,
    auth: VecDeque<Option<String>>,
    models: Vec<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeUpstream {
    /// Starts on `127.0.0.1` on a free port with the default [`Options`]. Panics when it cannot
    /// bind (tests only).
    pub async fn start() -> FakeUpstream {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        match FakeUpstream::start_on(addr, Options::default()).await {
            Ok(upstream) => upstream,
            Err(e) => panic!("fake upstream: cannot listen on {addr}: {e}"),
        }
    }

    /// Starts on `addr` (port 0 picks a free one) and serves in a background task.
    pub async fn start_on(addr: SocketAddr, opts: Options) -> io::Result<FakeUpstream> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            opts,
            record: AtomicBool::new(true),
            next_id: AtomicU64::new(0),
            open_streams: AtomicUsize::new(0),
            cancelled_streams: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                requests: VecDeque::new(),
                auth: VecDeque::new(),
                models: vec!["fake-model".to_owned(), "fake-vision".to_owned()],
            }),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/v1/embeddings", post(embeddings))
            .fallback(not_found)
            .with_state(shared.clone());
        let listener = listener.tap_io(|tcp| {
            // Best effort: a socket that refuses TCP_NODELAY still works, only slower.
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
        .abort_handle();
        Ok(FakeUpstream {
            addr,
            shared,
            server,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the provider base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a scripted reply for a following chat request (first in, first out).
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// Scripted replies not consumed yet.
    pub fn pending_replies(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Every chat request body received (the last [`MAX_RECORDED`]), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// The body of the most recent chat request.
    pub fn last_request(&self) -> Option<Value> {
        self.shared.lock().requests.back().cloned()
    }

    /// The Authorization header of each recorded chat request, in the order of [`requests`].
    ///
    /// [`requests`]: FakeUpstream::requests
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.shared.lock().auth.iter().cloned().collect()
    }

    /// Turns the recording of requests on (the default) or off (the benchmark binary).
    pub fn set_recording(&self, on: bool) {
        self.shared.record.store(on, Ordering::Relaxed);
    }

    /// The model ids `GET /v1/models` lists (default `fake-model`, `fake-vision`).
    pub fn set_models(&self, ids: Vec<String>) {
        self.shared.lock().models = ids;
    }

    /// Streaming responses whose body is still open.
    pub fn open_streams(&self) -> usize {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Streaming responses whose body was dropped before its end (the client went away).
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams.load(Ordering::SeqCst)
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &openai_error(&format!("invalid JSON body: {e}"), "invalid_request_error"),
            );
        }
    };
    let recording = shared.record.load(Ordering::Relaxed);
    let scripted = {
        let auth = recording.then(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let mut inner = shared.lock();
        if let Some(auth) = auth {
            if inner.requests.len() >= MAX_RECORDED {
                inner.requests.pop_front();
                inner.auth.pop_front();
            }
            inner.requests.push_back(request.clone());
            inner.auth.push_back(auth);
        }
        inner.queue.pop_front()
    };

    let mut reply = match scripted {
        Some(reply) => reply,
        None => {
            if shared.opts.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(shared.opts.latency_ms)).await;
            }
            default_reply(&request)
        }
    };
    let opts = &shared.opts;
    let answer = loop {
        match reply {
            Reply::Delay { ms, then } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                reply = *then;
            }
            Reply::Status { status, body } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return json_response(status, &body);
            }
            Reply::Text { content, reasoning } => {
                break Answer {
                    content: Some(content),
                    reasoning,
                    ..Answer::new(opts)
                };
            }
            Reply::NoUsage { content } => {
                break Answer {
                    content: Some(content),
                    usage: false,
                    ..Answer::new(opts)
                };
            }
            Reply::ToolCalls(calls) => {
                break Answer {
                    tool_calls: calls,
                    ..Answer::new(opts)
                };
            }
            Reply::StreamSlow {
                chunks,
                interval_ms,
            } => {
                break Answer {
                    content: Some(chunks.concat()),
                    pieces: Some(chunks),
                    interval_ms,
                    ..Answer::new(opts)
                };
            }
            Reply::DropAfter { chunks } => {
                break Answer {
                    content: Some(chunks.concat()),
                    pieces: Some(chunks),
                    interval_ms: 0,
                    drop: true,
                    ..Answer::new(opts)
                };
            }
        }
    };

    let n = shared.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let ctx = Ctx {
        id: format!("chatcmpl-fake-{n}"),
        created: unix_now(),
        model: request
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("fake-model")
            .to_owned(),
        prompt_tokens: prompt_words(&request),
    };
    let streaming = request.get("stream").and_then(Value::as_bool) == Some(true);
    if streaming {
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        stream_response(&shared, &ctx, answer, include_usage)
    } else {
        completion_response(&ctx, &answer)
    }
}

async fn models(State(shared): State<Arc<Shared>>) -> Response {
    let data: Vec<Value> = shared
        .lock()
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "fake"}))
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

async fn embeddings(body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &openai_error("body is not JSON", "invalid_request_error"),
        );
    };
    let inputs: Vec<String> = match &request["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(index, text)| {
            let mut v = [0f64; 8];
            for c in text
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphabetic)
            {
                v[(c as usize) % 8] += 1.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
            let v: Vec<f64> = v.iter().map(|x| x / norm).collect();
            json!({"object": "embedding", "index": index, "embedding": v})
        })
        .collect();
    let words: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": data, "model": request["model"],
                "usage": {"prompt_tokens": words, "total_tokens": words}}),
    )
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &openai_error(
            "unknown route on the fake upstream",
            "invalid_request_error",
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Answers

/// What to say, independent of streaming.
struct Answer {
    /// `None` with tool calls (`content: null`).
    content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Vec<(String, String)>,
    usage: bool,
    /// Explicit stream pieces (`StreamSlow`, `DropAfter`); otherwise split by words.
    pieces: Option<Vec<String>>,
    stream_chunks: usize,
    interval_ms: u64,
    /// Abort the connection after the pieces.
    drop: bool,
}

impl Answer {
    fn new(opts: &Options) -> Answer {
        Answer {
            content: None,
            reasoning: None,
            tool_calls: Vec::new(),
            usage: true,
            pieces: None,
            stream_chunks: opts.stream_chunks.max(1),
            interval_ms: opts.chunk_interval_ms,
            drop: false,
        }
    }

    fn finish_reason(&self) -> &'static str {
        if self.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        }
    }

    fn completion_tokens(&self) -> usize {
        let calls: usize = self
            .tool_calls
            .iter()
            .map(|(name, args)| words(name) + words(args))
            .sum();
        self.content.as_deref().map_or(0, words)
            + self.reasoning.as_deref().map_or(0, words)
            + calls
    }
}

/// Per-response identity.
struct Ctx {
    id: String,
    created: u64,
    model: String,
    prompt_tokens: usize,
}

impl Ctx {
    fn usage(&self, answer: &Answer) -> Value {
        let completion = answer.completion_tokens();
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        })
    }
}

fn completion_response(ctx: &Ctx, answer: &Answer) -> Response {
    let mut message = json!({"role": "assistant", "content": answer.content});
    if let Some(reasoning) = &answer.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    if !answer.tool_calls.is_empty() {
        let calls: Vec<Value> = answer
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| {
                json!({
                    "id": format!("call_{}", i + 1),
                    "type": "function",
                    "function": {"name": name, "arguments": args},
                })
            })
            .collect();
        message["tool_calls"] = Value::Array(calls);
    }
    let mut body = json!({
        "id": ctx.id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": answer.finish_reason(),
        }],
    });
    if answer.usage {
        body["usage"] = ctx.usage(answer);
    }
    if answer.drop {
        // A 200 whose body stops half way, then the connection is aborted.
        let full = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let half = full.slice(..full.len() / 2);
        let parts: Vec<Result<Bytes, io::Error>> = vec![Ok(half), Err(aborted())];
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            Body::from_stream(futures::stream::iter(parts)),
        )
            .into_response();
    }
    json_response(StatusCode::OK, &body)
}

/// One server-sent event of the stream; `paced` ones wait for the chunk interval.
struct Event {
    bytes: Bytes,
    paced: bool,
}

fn stream_response(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    answer: Answer,
    include_usage: bool,
) -> Response {
    let with_usage = include_usage && answer.usage;
    let chunk = |delta: Value, finish: Option<&str>| -> Bytes {
        let mut c = json!({
            "id": ctx.id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if with_usage {
            c["usage"] = Value::Null;
        }
        sse(&c)
    };
    let mut events = Vec::with_capacity(answer.stream_chunks * 2 + 4);
    let mut push = |bytes: Bytes, paced: bool| events.push(Event { bytes, paced });

    push(
        chunk(json!({"role": "assistant", "content": ""}), None),
        false,
    );
    if let Some(reasoning) = &answer.reasoning {
        for piece in split_words(reasoning, answer.stream_chunks) {
            push(chunk(json!({"reasoning_content": piece}), None), true);
        }
    }
    match (&answer.pieces, &answer.content) {
        (Some(pieces), _) => {
            for piece in pieces {
                push(chunk(json!({"content": piece}), None), true);
            }
        }
        (None, Some(content)) => {
            for piece in split_words(content, answer.stream_chunks) {
                push(chunk(json!({"content": piece}), None), true);
            }
        }
        (None, None) => {}
    }
    for (i, (name, args)) in answer.tool_calls.iter().enumerate() {
        let head = json!({"tool_calls": [{
            "index": i,
            "id": format!("call_{}", i + 1),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }]});
        push(chunk(head, None), true);
        let (a, b) = split_half(args);
        for part in [a, b] {
            if !part.is_empty() {
                let delta = json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]});
                push(chunk(delta, None), true);
            }
        }
    }
    if !answer.drop {
        push(chunk(json!({}), Some(answer.finish_reason())), false);
        if with_usage {
            let usage = json!({
                "id": ctx.id,
                "object": "chat.completion.chunk",
                "created": ctx.created,
                "model": ctx.model,
                "choices": [],
                "usage": ctx.usage(&answer),
            });
            push(sse(&usage), false);
        }
        push(Bytes::from_static(b"data: [DONE]\n\n"), false);
    }

    shared.open_streams.fetch_add(1, Ordering::SeqCst);
    let state = StreamState {
        events: events.into_iter(),
        interval: Duration::from_millis(answer.interval_ms),
        seen_paced: false,
        fail_at_end: answer.drop,
        guard: StreamGuard {
            shared: shared.clone(),
            finished: false,
        },
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        match st.events.next() {
            Some(ev) => {
                if ev.paced {
                    // The first piece goes at once, the following ones one interval apart.
                    if st.seen_paced && !st.interval.is_zero() {
                        tokio::time::sleep(st.interval).await;
                    }
                    st.seen_paced = true;
                }
                Some((Ok(ev.bytes), st))
            }
            None if st.fail_at_end => {
                st.fail_at_end = false;
                st.guard.finish();
                // Let what was sent reach the client first, as a real dropped connection does.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((Err(aborted()), st))
            }
            None => {
                st.guard.finish();
                None
            }
        }
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

struct StreamState {
    events: std::vec::IntoIter<Event>,
    interval: Duration,
    seen_paced: bool,
    fail_at_end: bool,
    guard: StreamGuard,
}

/// Counts open streams; a body dropped before its end counts as cancelled.
struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    /// The stream reached its end (or its scripted abort): not a cancellation.
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.shared.open_streams.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            self.shared.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn default_reply(request: &Value) -> Reply {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if let Some(last) = messages.last()
        && last.get("role").and_then(Value::as_str) == Some("tool")
    {
        return Reply::text(format!(
            "The tool says: {}",
            content_text(last.get("content"))
        ));
    }
    let user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    Reply::text(format!(
        "echo: {}",
        content_text(user.and_then(|m| m.get("content")))
    ))
}

/// The text of a message's `content`: a string, or the `text` parts of an array joined by a
/// space.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for text in parts.iter().filter_map(part_text) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(text);
            }
            out
        }
        _ => String::new(),
    }
}

fn part_text(part: &Value) -> Option<&str> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") | None => part.get("text").and_then(Value::as_str),
        Some(_) => None,
    }
}

/// Words of every message's text.
fn prompt_words(request: &Value) -> usize {
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return 0;
    };
    messages
        .iter()
        .map(|m| match m.get("content") {
            Some(Value::String(s)) => words(s),
            Some(Value::Array(parts)) => parts.iter().filter_map(part_text).map(words).sum(),
            _ => 0,
        })
        .sum()
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Splits `text` into about `pieces` pieces at word starts, keeping the whitespace, so that
/// the pieces joined are `text`. Empty text gives no piece.
fn split_words(text: &str, pieces: usize) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut starts = vec![0];
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if !ws && prev_ws {
            starts.push(i);
        }
        prev_ws = ws;
    }
    let tokens = starts.len();
    let pieces = pieces.clamp(1, tokens);
    (0..pieces)
        .map(|p| {
            let from = starts[p * tokens / pieces];
            let to = if p + 1 == pieces {
                text.len()
            } else {
                starts[(p + 1) * tokens / pieces]
            };
            &text[from..to]
        })
        .collect()
}

/// Two halves at a character boundary.
fn split_half(s: &str) -> (&str, &str) {
    let mut mid = s.len() / 2;
    while !s.is_char_boundary(mid) {
        mid += 1;
    }
    s.split_at(mid)
}

fn sse(value: &Value) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    // Writing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, value);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

fn openai_error(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "fake upstream dropped the connection",
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_keeps_the_text() {
        let text = "The quick  brown fox jumps over the lazy dog";
        for n in 1..12 {
            let pieces = split_words(text, n);
            assert_eq!(pieces.concat(), text);
            assert_eq!(pieces.len(), n.min(9));
        }
        assert!(split_words("", 8).is_empty());
        assert_eq!(split_words("  hi", 8).concat(), "  hi");
    }

    #[test]
    fn default_reply_echoes_or_reports_the_tool() {
        let req = json!({"messages": [
            {"role": "system", "content": "be terse"},
            {"role": "user", "content": [{"type": "text", "text": "Say"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "hi"}]},
        ]});
        assert_eq!(default_reply(&req), Reply::text("echo: Say hi"));
        assert_eq!(prompt_words(&req), 4);
        let req = json!({"messages": [
            {"role": "user", "content": "weather?"},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]});
        assert_eq!(default_reply(&req), Reply::text("The tool says: sunny"));
    }
}
