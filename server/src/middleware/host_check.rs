//! A guard against DNS rebinding: under `aerie dev` (authentication off) and while the instance
//! is not set up yet (anyone may run the first-run setup), a request must name Aerie by a
//! loopback host (`localhost`, `*.localhost`), an IP address, or the host of `public_url`.
//! A rebinding page names its own domain, so it is refused in the contract body. Once set up
//! (outside `aerie dev`), any host name is answered: the operator chose how Aerie is reached.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aerie_backend::AppContext;
use aerie_backend::error::body_response;
use aerie_backend::services::auth;
use aerie_contract::{ErrorBody, ErrorCode};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Clone)]
pub struct HostCheck {
    ctx: AppContext,
    /// The host of `public_url`, lower-cased.
    public_host: Option<String>,
    /// Set once the instance is seen set up (it never goes back).
    set_up: Arc<AtomicBool>,
}

impl HostCheck {
    pub fn new(ctx: AppContext) -> Self {
        let public_host = url::Url::parse(&ctx.config().public_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        Self {
            ctx,
            public_host,
            set_up: Arc::default(),
        }
    }

    /// Does the check apply to this request? (dev mode, or not set up yet)
    async fn applies(&self) -> bool {
        if self.ctx.dev_mode() {
            return true;
        }
        if self.set_up.load(Ordering::Relaxed) {
            return false;
        }
        // A database failure keeps the guard up.
        let set_up = auth::setup_status(&self.ctx)
            .await
            .is_ok_and(|s| s.bootstrapped);
        if set_up {
            self.set_up.store(true, Ordering::Relaxed);
        }
        !set_up
    }

    fn accepts(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok()
            || self.public_host.as_deref() == Some(name.as_str())
    }
}

/// The host of a `Host` value, without port or IPv6 brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

pub async fn check(State(guard): State<HostCheck>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())
        .map(str::to_owned);
    if let Some(host) = host
        && !guard.accepts(&host)
        && guard.applies().await
    {
        tracing::warn!("refused a request naming an unexpected host (DNS rebinding guard)");
        return body_response(ErrorBody::with_detail(
            ErrorCode::Forbidden,
            format!(
                "This host name is not accepted: until Aerie is set up, and always under `aerie dev`, it answers only on localhost, an IP address or its public_url. Open {}.",
                guard.ctx.config().public_url()
            ),
        ));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_port_and_brackets() {
        assert_eq!(host_name("localhost:3000"), "localhost");
        assert_eq!(host_name("[::1]:3000"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("evil.test"), "evil.test");
        assert_eq!(host_name("127.0.0.1:80"), "127.0.0.1");
        assert_eq!(host_name("évil.test:x"), "évil.test:x");
    }
}
