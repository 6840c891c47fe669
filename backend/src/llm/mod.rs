//! Outbound calls to OpenAI-compatible providers, through async-openai with our own request and
//! response types (`byot`: the JSON passes through untouched, so client tools, `response_format`
//! and unknown fields survive) and our own retry policy.
//!
//! Timeouts: connect (10 s), first byte (the provider's `timeout_secs`), and idle between stream
//! chunks (the same). 429 and 5xx answered before the first byte, and connection failures, are
//! retried at most twice with exponential back-off and jitter; a `Retry-After` above 2 s is not
//! waited for. Errors never carry the provider's secret.

mod retry;

use std::pin::Pin;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use futures::{Stream, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use aerie_contract::ErrorCode;

use super::Error;

/// The boxed chunk stream of a streaming chat completion.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Value, LlmError>> + Send>>;

/// Installs rustls' ring provider once (reqwest is built without a default provider).
pub fn ensure_tls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why an upstream call failed, phrased for the caller (no secrets, no internal addresses
/// beyond the provider's own base URL host).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("The model provider answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("The model provider did not answer within {0} seconds.")]
    Timeout(u64),
    #[error("The model provider could not be reached ({0}).")]
    Connect(String),
    #[error("The model provider sent an answer Aerie could not read ({0}).")]
    Protocol(String),
}

impl LlmError {
    pub fn code(&self) -> ErrorCode {
        match self {
            LlmError::Timeout(_) => ErrorCode::UpstreamTimeout,
            _ => ErrorCode::Upstream,
        }
    }

    fn from_openai(e: OpenAIError) -> Self {
        match e {
            OpenAIError::ApiError(api) => LlmError::Status {
                status: api.status_code.as_u16(),
                message: truncate(&api.api_error.message, 300),
            },
            OpenAIError::Reqwest(e) => {
                if e.is_timeout() {
                    LlmError::Timeout(0)
                } else if let Some(status) = e.status() {
                    LlmError::Status {
                        status: status.as_u16(),
                        message: status.canonical_reason().unwrap_or("error").to_owned(),
                    }
                } else {
                    LlmError::Connect(describe_reqwest(&e))
                }
            }
            OpenAIError::JSONDeserialize(e, _) => LlmError::Protocol(e.to_string()),
            OpenAIError::StreamError(e) => LlmError::Protocol(truncate(&e.to_string(), 200)),
            other => LlmError::Protocol(truncate(&other.to_string(), 200)),
        }
    }
}

impl From<LlmError> for Error {
    fn from(e: LlmError) -> Self {
        let detail = match &e {
            LlmError::Timeout(0) => "The model provider did not answer in time.".to_owned(),
            other => other.to_string(),
        };
        Error::detailed(e.code(), detail)
    }
}

/// The vectors of an OpenAI embeddings answer (`data[].embedding`, ordered by `index`); exactly
/// `expected` of them, all of one length.
/// A provider's embeddings of some inputs, in their order, and the tokens it counted.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    /// `usage.prompt_tokens`, when the provider reports it.
    pub prompt_tokens: Option<u64>,
}

fn embedding_vectors(answer: &Value, expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    let protocol = |what: &str| LlmError::Protocol(format!("the embeddings answer {what}"));
    let items = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| protocol("has no `data` array"))?;
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in items.iter().enumerate() {
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(position);
        let vector: Vec<f32> = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| protocol("has an item without an `embedding` array"))?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect::<Option<_>>()
            .ok_or_else(|| protocol("has an embedding that is not a list of numbers"))?;
        let slot = slots
            .get_mut(index)
            .ok_or_else(|| protocol("names an input that was not sent"))?;
        *slot = Some(vector);
    }
    let vectors: Vec<Vec<f32>> = slots
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| protocol("misses some inputs"))?;
    let width = vectors.first().map_or(0, Vec::len);
    if width == 0 || vectors.iter().any(|v| v.len() != width) {
        return Err(protocol(
            "has empty vectors or vectors of different lengths",
        ));
    }
    Ok(vectors)
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // The source chain says "connection refused", "dns error", "address not allowed"...; the
    // URL (which could carry a query secret) is left out.
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    let text = parts
        .last()
        .cloned()
        .unwrap_or_else(|| "network error".to_owned());
    truncate(&text, 200)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A connection to one provider: one pooled HTTP client, reused by every call.
#[derive(Clone)]
pub struct LlmClient {
    client: Arc<async_openai::Client<OpenAIConfig>>,
    timeout: Duration,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl LlmClient {
    /// A client for `base_url` (e.g. `https://api.openai.com/v1`). `allow_private` lets it reach
    /// loopback and private addresses (otherwise refused at connect time, after DNS).
    pub fn new(
        base_url: &str,
        api_key: Option<&SecretString>,
        timeout_secs: u32,
        allow_private: bool,
    ) -> Result<Self, Error> {
        ensure_tls();
        let http = super::net_guard::client_builder(allow_private)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(2048)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Internal(anyhow::anyhow!("building the HTTP client: {e}")))?;
        let mut config = OpenAIConfig::new().with_api_base(base_url.trim_end_matches('/'));
        config = config.with_api_key(
            api_key
                .map(|k| k.expose_secret().to_owned())
                .unwrap_or_default(),
        );
        let service = tower::ServiceBuilder::new()
            .retry(retry::Backoff::new(2))
            .service(async_openai::middleware::ReqwestService::new(http));
        let client = async_openai::Client::with_config(config).with_http_service(service);
        Ok(Self {
            client: Arc::new(client),
            timeout: Duration::from_secs(u64::from(timeout_secs.clamp(1, 3600))),
        })
    }

    /// A non-streaming chat completion; `body` is an OpenAI request with `"stream": false`.
    pub async fn complete(&self, body: &Value) -> Result<Value, LlmError> {
        let chat = self.client.chat();
        let call = chat.create_byot::<&Value, Value>(body);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(LlmError::from_openai),
            Err(_) => Err(LlmError::Timeout(self.timeout.as_secs())),
        }
    }

    /// A streaming chat completion; `body` must have `"stream": true`. The first-byte timeout
    /// covers the answer's headers, the idle timeout every later chunk. Dropping the stream
    /// closes the upstream connection (the provider stops generating).
    pub async fn stream(&self, body: &Value) -> Result<ChunkStream, LlmError> {
        let chat = self.client.chat();
        let call = chat.create_stream_byot::<&Value, Value>(body);
        let stream = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(LlmError::from_openai)?,
            Err(_) => return Err(LlmError::Timeout(self.timeout.as_secs())),
        };
        let idle = self.timeout;
        let stream = futures::stream::unfold(Some(stream), move |state| async move {
            let mut stream = state?;
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(stream))),
                Ok(Some(Err(e))) => Some((Err(LlmError::from_openai(e)), None)),
                Ok(None) => None,
                Err(_) => Some((Err(LlmError::Timeout(idle.as_secs())), None)),
            }
        });
        Ok(Box::pin(stream))
    }

    /// Vectors of `inputs` from the provider's `POST {base}/embeddings`, in their order.
    pub async fn embeddings(&self, model: &str, inputs: &[String]) -> Result<Embedded, LlmError> {
        let body = serde_json::json!({"model": model, "input": inputs, "encoding_format": "float"});
        let embeddings = self.client.embeddings();
        let call = embeddings.create_byot::<&Value, Value>(&body);
        let answer = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(LlmError::from_openai)?,
            Err(_) => return Err(LlmError::Timeout(self.timeout.as_secs())),
        };
        Ok(Embedded {
            vectors: embedding_vectors(&answer, inputs.len())?,
            prompt_tokens: answer
                .pointer("/usage/prompt_tokens")
                .and_then(Value::as_u64),
        })
    }

    /// The model ids the provider lists (`GET {base}/models`).
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        let models = self.client.models();
        let call = models.list_byot::<Value>();
        let list = match tokio::time::timeout(self.timeout.min(Duration::from_secs(20)), call).await
        {
            Ok(result) => result.map_err(LlmError::from_openai)?,
            Err(_) => return Err(LlmError::Timeout(self.timeout.as_secs())),
        };
        let ids = list
            .get("data")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| LlmError::Protocol("the model list has no `data` array".to_owned()))?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_answers_are_read_by_index_and_checked() {
        let answer = serde_json::json!({"data": [
            {"index": 1, "embedding": [0.0, 1.0]},
            {"index": 0, "embedding": [1.0, 0.5]},
        ]});
        assert_eq!(
            embedding_vectors(&answer, 2).ok(),
            Some(vec![vec![1.0, 0.5], vec![0.0, 1.0]])
        );
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}]}),
            serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 5, "embedding": [1.0]}]}),
            serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}),
            serde_json::json!({"data": [{"index": 0, "embedding": ["x"]}, {"index": 1, "embedding": [1.0]}]}),
        ] {
            assert!(embedding_vectors(&bad, 2).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever a provider answers, reading it never panics.
        #[test]
        fn any_answer_is_read_without_panicking(
            raw in proptest::collection::vec(
                (proptest::option::of(0u64..8), proptest::collection::vec(-1.0f64..1.0, 0..4)),
                0..8,
            ),
            expected in 0usize..6,
        ) {
            let data: Vec<Value> = raw
                .into_iter()
                .map(|(i, v)| match i {
                    Some(i) => serde_json::json!({"index": i, "embedding": v}),
                    None => serde_json::json!({"embedding": v}),
                })
                .collect();
            let _ = embedding_vectors(&serde_json::json!({"data": data}), expected);
        }
    }
}
