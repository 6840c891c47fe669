//! The `http_get` tool: lets a model read a web page or a JSON API.
//!
//! What it protects against: server-side request forgery (the model, possibly steered by a
//! prompt injection in a page it read, asking Aerie's server for an internal address; every URL
//! and every redirect goes through [`net_guard`](crate::net_guard)), and resource
//! exhaustion (a 10 s time limit, at most 256 KiB of body read, at most 16 Ki characters handed
//! to the model, text-like content types only, so no binary blob lands in a prompt).

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde::Deserialize;

use super::ToolRuntime;
use crate::net_guard;

/// The `User-Agent` of agent requests.
pub const AGENT_USER_AGENT: &str = "Aerie-Agent/0.1";

const ACCEPT_TYPES: &str =
    "text/html, text/plain;q=0.9, application/json;q=0.9, application/xml;q=0.8, text/*;q=0.7";

#[derive(Deserialize)]
struct Args {
    url: String,
}

/// Runs the tool on its JSON arguments `{"url": "https://…"}`.
pub(super) async fn run(runtime: &ToolRuntime, args: serde_json::Value) -> Result<String, String> {
    let args: Args = serde_json::from_value(args).map_err(|e| {
        format!(
            "Invalid arguments for http_get ({e}); expected {{\"url\": \"https://example.com/\"}}."
        )
    })?;
    let client = runtime
        .http
        .as_ref()
        .map_err(|e| format!("The HTTP tool is unavailable on this server ({e})."))?;
    let url = net_guard::check_url_resolved(&args.url, runtime.allow_private)
        .await
        .map_err(|e| e.to_string())?;

    let response = client
        .get(url.clone())
        .header(USER_AGENT, AGENT_USER_AGENT)
        .header(ACCEPT, ACCEPT_TYPES)
        .send()
        .await
        .map_err(|e| describe_error(&e, runtime))?;

    let status = response.status();
    if !status.is_success() {
        return Err(format!("The server answered HTTP {status}."));
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(mime_essence)
        .unwrap_or_default();
    if !is_text_like(&content_type) {
        let shown = if content_type.is_empty() {
            "without a content type"
        } else {
            content_type.as_str()
        };
        return Err(format!(
            "The response is {shown}; this tool only reads text, HTML, JSON and XML."
        ));
    }
    let final_url = response.url().clone();

    let (body, cut_bytes) = read_capped(response, runtime.limits.max_body_bytes)
        .await
        .map_err(|e| describe_error(&e, runtime))?;
    let (text, cut_chars) = cap_chars(decode(&body), runtime.limits.max_chars);
    let truncated = cut_bytes || cut_chars;

    let mut out = format!(
        "HTTP {} ({content_type}, {} bytes{})",
        status.as_u16(),
        body.len(),
        if truncated { ", truncated" } else { "" }
    );
    if final_url != url {
        out.push_str(&format!(" from {final_url}"));
    }
    out.push_str("\n\n");
    out.push_str(&text);
    if truncated {
        out.push_str("\n\n(truncated)");
    }
    Ok(out)
}

/// Reads at most `max` bytes of the body; `true` when there was more.
async fn read_capped(
    response: reqwest::Response,
    max: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut stream = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = max.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// `text/html; charset=utf-8` → `text/html`.
fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// text/*, JSON, XML and their `+json` / `+xml` variants.
fn is_text_like(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(essence, "application/json" | "application/xml")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// UTF-8 text of the body; a character cut in half at the end (truncation) is dropped, other
/// invalid bytes become U+FFFD.
fn decode(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&body[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// Keeps the first `max` characters; `true` when some were dropped.
fn cap_chars(mut text: String, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((cut, _)) => {
            text.truncate(cut);
            (text, true)
        }
        None => (text, false),
    }
}

/// A sentence for a failed request: the guard's refusal, a time-out, a connection failure, or
/// the error chain.
fn describe_error(err: &reqwest::Error, runtime: &ToolRuntime) -> String {
    if let Some(refusal) = net_guard::refusal_message(err) {
        return refusal;
    }
    if err.is_timeout() {
        return format!(
            "The request timed out (the limit is {} seconds).",
            runtime.limits.timeout.as_secs()
        );
    }
    let host = err
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or("the server")
        .to_owned();
    if err.is_connect() {
        return format!("Could not connect to {host}.");
    }
    // The innermost cause says the most ("connection reset", "invalid HTTP version", …).
    let mut cause = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        cause = e.to_string();
        source = e.source();
    }
    format!("The request to {host} failed: {cause}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use std::net::SocketAddr;

    async fn serve() -> SocketAddr {
        let app = axum::Router::new()
            .route(
                "/text",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        "hello",
                    )
                }),
            )
            .route(
                "/json",
                get(|| async { axum::Json(serde_json::json!({"answer": 42})) }),
            )
            .route(
                "/big",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/plain")],
                        "a".repeat(300 * 1024),
                    )
                }),
            )
            .route(
                "/binary",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "application/octet-stream")],
                        vec![0u8, 1, 2],
                    )
                }),
            )
            .route(
                "/missing",
                get(|| async { (axum::http::StatusCode::NOT_FOUND, "nope").into_response() }),
            )
            .route("/redirect", get(|| async { Redirect::temporary("/text") }))
            .route(
                "/agent",
                get(|headers: axum::http::HeaderMap| async move {
                    headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    async fn get_url(runtime: &ToolRuntime, url: &str) -> super::super::ToolOutcome {
        let args = serde_json::json!({ "url": url }).to_string();
        runtime.call("http_get", &args).await
    }

    #[tokio::test]
    async fn fetches_text_when_private_addresses_are_allowed() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let addr = serve().await;
        let runtime = ToolRuntime::new(true);
        let base = format!("http://{addr}");

        let outcome = get_url(&runtime, &format!("{base}/text")).await;
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.content, "HTTP 200 (text/plain, 5 bytes)\n\nhello");

        let outcome = get_url(&runtime, &format!("{base}/json")).await;
        assert_eq!(
            outcome.content,
            "HTTP 200 (application/json, 13 bytes)\n\n{\"answer\":42}"
        );

        let outcome = get_url(&runtime, &format!("{base}/agent")).await;
        assert!(
            outcome.content.ends_with("\n\nAerie-Agent/0.1"),
            "{outcome:?}"
        );

        let outcome = get_url(&runtime, &format!("{base}/redirect")).await;
        assert!(outcome.ok, "{outcome:?}");
        assert!(
            outcome.content.starts_with(&format!(
                "HTTP 200 (text/plain, 5 bytes) from {base}/text\n\n"
            )),
            "{outcome:?}"
        );

        let outcome = get_url(&runtime, &format!("{base}/big")).await;
        assert!(outcome.ok, "{outcome:?}");
        let expected_head = format!("HTTP 200 (text/plain, {} bytes, truncated)\n\n", 256 * 1024);
        assert!(
            outcome.content.starts_with(&expected_head),
            "{}",
            &outcome.content[..80]
        );
        assert!(outcome.content.ends_with("a\n\n(truncated)"));
        assert_eq!(
            outcome.content.len(),
            expected_head.len() + 16 * 1024 + "\n\n(truncated)".len()
        );
    }

    #[tokio::test]
    async fn refuses_what_it_should_not_read() {
        let addr = serve().await;
        let runtime = ToolRuntime::new(true);
        let base = format!("http://{addr}");

        let outcome = get_url(&runtime, &format!("{base}/binary")).await;
        assert!(!outcome.ok);
        assert!(
            outcome.content.contains("application/octet-stream"),
            "{outcome:?}"
        );

        let outcome = get_url(&runtime, &format!("{base}/missing")).await;
        assert!(!outcome.ok);
        assert_eq!(outcome.content, "The server answered HTTP 404 Not Found.");

        let outcome = get_url(&runtime, "file:///etc/passwd").await;
        assert!(!outcome.ok);
        assert!(outcome.content.contains("Only http"), "{outcome:?}");

        // A closed port.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let outcome = get_url(&runtime, &format!("http://127.0.0.1:{port}/")).await;
        assert!(!outcome.ok);
        assert!(outcome.content.contains("Could not connect"), "{outcome:?}");
    }

    #[tokio::test]
    async fn refuses_private_addresses_by_default() {
        let addr = serve().await;
        let runtime = ToolRuntime::new(false);
        for url in [
            format!("http://{addr}/text"),
            format!("http://localhost:{}/text", addr.port()),
            format!("http://[::ffff:127.0.0.1]:{}/text", addr.port()),
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ] {
            let outcome = get_url(&runtime, &url).await;
            assert!(!outcome.ok, "{url}");
            assert!(
                outcome.content.contains("private or loopback"),
                "{url}: {outcome:?}"
            );
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(mime_essence("Text/HTML; charset=UTF-8"), "text/html");
        for ok in [
            "text/html",
            "text/csv",
            "application/json",
            "application/xml",
            "application/ld+json",
            "application/atom+xml",
        ] {
            assert!(is_text_like(ok), "{ok}");
        }
        for refused in [
            "application/octet-stream",
            "image/png",
            "application/pdf",
            "",
        ] {
            assert!(!is_text_like(refused), "{refused}");
        }
        let e_acute = "é".as_bytes();
        assert_eq!(decode(&e_acute[..1]), "");
        assert_eq!(decode(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(cap_chars("héllo".into(), 2), ("hé".into(), true));
        assert_eq!(cap_chars("hé".into(), 2), ("hé".into(), false));
    }
}
