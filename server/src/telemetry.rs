//! Logging: `tracing` with the request id on every line of a request, text or JSON.

use aerie_backend::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::startup::StartupError;

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `AERIE_LOG_LEVEL`.
pub fn init(config: &Config) -> Result<(), StartupError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.trim().is_empty() => f,
        _ => config.log_level.clone(),
    };
    let filter = EnvFilter::try_new(&filter).map_err(|e| {
        StartupError::Config(format!(
            "invalid setting `log_level` (AERIE_LOG_LEVEL): {e}"
        ))
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    Ok(())
}
