//! Security headers on every response: a Content-Security-Policy, `X-Content-Type-Options:
//! nosniff`, `Referrer-Policy: same-origin` and `X-Frame-Options: DENY`.
//!
//! Pages get a policy whose only inline scripts are those Leptos renders with this response's
//! nonce (the hydration bootstrap and streamed resources): the nonce is made here, put in the
//! request, and handed to Leptos by [`provide_nonce`] (`server/src/router.rs`,
//! `server/src/routes/fallback.rs`). `'wasm-unsafe-eval'` lets the page compile its WebAssembly;
//! no `'unsafe-inline'`, no `'unsafe-eval'`. The one inline handler Aerie serves, the SAML
//! HTTP-POST binding's auto-submit (`backend/src/sso/saml/mod.rs`), is allowed by its hash.
//! Every other answer (JSON, streams) gets `default-src 'none'`. Nothing may frame Aerie.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use leptos::nonce::Nonce;
use sha2::{Digest, Sha256};

/// The `onload` handler of the SAML HTTP-POST binding page.
pub const SAML_AUTO_SUBMIT: &str = "document.forms[0].submit()";

/// `'sha256-…'` of [`SAML_AUTO_SUBMIT`].
static SAML_AUTO_SUBMIT_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(SAML_AUTO_SUBMIT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// The policy of everything that is not a page.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of an HTML page (with its nonce, when Leptos rendered it).
fn page_policy(nonce: Option<&Nonce>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval' 'unsafe-hashes' {hash}; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'",
        hash = &*SAML_AUTO_SUBMIT_HASH
    )
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// Leptos' additional context: renders this request's scripts with the nonce the policy names.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

pub async fn apply(mut req: Request, next: Next) -> Response {
    // Pages are GETs; nothing else renders scripts.
    let nonce = matches!(*req.method(), Method::GET | Method::HEAD).then(Nonce::new);
    if let Some(nonce) = &nonce {
        req.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let policy = if is_html(headers) {
        HeaderValue::from_str(&page_policy(nonce.as_ref())).ok()
    } else {
        Some(HeaderValue::from_static(API_POLICY))
    };
    if let Some(policy) = policy {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_name_their_nonce_and_nothing_unsafe() {
        let nonce = Nonce::new();
        let policy = page_policy(Some(&nonce));
        assert!(policy.contains(&format!("'nonce-{nonce}'")), "{policy}");
        assert!(!policy.contains("'unsafe-inline'") && !policy.contains("'unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        // A known vector: sha256("document.forms[0].submit()").
        assert!(
            policy.contains("'sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE='"),
            "{policy}"
        );
    }

    /// The SAML HTTP-POST page still submits itself under the policy: its handler is the one
    /// whose hash the policy allows.
    #[cfg(feature = "saml")]
    #[test]
    fn the_saml_post_page_handler_is_allowed() {
        let form = aerie_backend::testing::saml::PostForm {
            action: "https://idp.test/sso".to_owned(),
            saml_request: "PD94".to_owned(),
            relay_state: String::new(),
        };
        let html = form.html();
        assert!(
            html.contains(&format!("onload=\"{SAML_AUTO_SUBMIT}\"")),
            "{html}"
        );
        assert_eq!(html.matches("<script").count(), 0, "{html}");
    }
}
