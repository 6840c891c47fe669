//! Bounded retries with exponential back-off and full jitter, for answers that arrive before
//! the first byte of a completion: 429, 5xx and connection failures.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use rand::Rng;
use reqwest::Response;

/// The longest `Retry-After` worth waiting for inside one request.
const MAX_WAIT: Duration = Duration::from_secs(2);
const BASE: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct Backoff {
    max_retries: u32,
    attempts: u32,
}

impl Backoff {
    pub fn new(max_retries: u32) -> Self {
        Self {
            max_retries,
            attempts: 0,
        }
    }

    /// How long to wait before the next attempt, or `None` to give up with this result.
    fn delay(&self, result: &Result<Response, OpenAIError>) -> Option<Duration> {
        if self.attempts >= self.max_retries {
            return None;
        }
        let retry_after = match result {
            Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            Ok(_) => return None,
            Err(OpenAIError::Reqwest(e)) if e.is_connect() => None,
            Err(_) => return None,
        };
        if let Some(wait) = retry_after {
            return (wait <= MAX_WAIT).then_some(wait);
        }
        let ceiling = BASE.saturating_mul(2u32.saturating_pow(self.attempts));
        let jittered = rand::rng().random_range(ceiling / 2..=ceiling);
        Some(jittered.min(MAX_WAIT))
    }
}

impl tower::retry::Policy<HttpRequestFactory, Response, OpenAIError> for Backoff {
    type Future = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

    fn retry(
        &mut self,
        _req: &mut HttpRequestFactory,
        result: &mut Result<Response, OpenAIError>,
    ) -> Option<Self::Future> {
        let delay = self.delay(result)?;
        self.attempts += 1;
        tracing::debug!(
            attempt = self.attempts,
            ?delay,
            "retrying the model provider"
        );
        Some(Box::pin(tokio::time::sleep(delay)))
    }

    fn clone_request(&mut self, req: &HttpRequestFactory) -> Option<HttpRequestFactory> {
        Some(req.clone())
    }
}
