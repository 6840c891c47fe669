//! CSRF protection for browser requests. Unsafe methods (POST, PUT, PATCH, DELETE) that do not
//! authenticate with a bearer token or API key — that is, everything a browser could be tricked
//! into sending with its cookies (or its HTTP Basic credentials), server functions and the login
//! form included — must come from this site: `Sec-Fetch-Site: same-origin` (or `none`), or an
//! `Origin` matching `Host`. A request carrying cookies but neither header is refused. Requests
//! with a non-empty `Authorization: Bearer` or `X-API-Key` are exempt: browsers never attach those
//! by themselves, and such a request is authenticated by that token, never by its cookie (both
//! read the headers through `credentials::presents_token`); a cookie beside the token must name
//! the same user or the request is refused (`authenticate::resolve`), so it can only make such a
//! request fail, never grant it anything.

use aerie_backend::error::body_response;
use aerie_contract::{ErrorBody, ErrorCode};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};

use super::credentials;
use axum::middleware::Next;
use axum::response::Response;

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `None` when the request may proceed, else why not.
pub fn verdict(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if is_safe(method) || credentials::presents_token(headers) {
        return None;
    }
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header_str("sec-fetch-site") {
        return (!matches!(site, "same-origin" | "none")).then_some("cross-site request");
    }
    if let Some(origin) = header_str("origin") {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or("null");
        let host = header_str("host").unwrap_or_default();
        return (origin_host != host || host.is_empty()).then_some("origin does not match host");
    }
    headers
        .contains_key(header::COOKIE)
        .then_some("cookie-authenticated request without Origin")
}

/// The SAML assertion consumer receives the identity provider's cross-site POST by design; its
/// integrity is the signed assertion and the request id matched server-side, and it never acts
/// on the browser's cookies (SameSite keeps them off that POST anyway).
const CROSS_SITE_ENDPOINTS: &[&str] = &["/auth/saml/acs"];

pub async fn protect(req: Request, next: Next) -> Response {
    if CROSS_SITE_ENDPOINTS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    if let Some(reason) = verdict(req.method(), req.headers()) {
        tracing::warn!(reason, "refused a possible cross-site request forgery");
        return body_response(ErrorBody::with_detail(
            ErrorCode::Forbidden,
            "Cross-site request refused: send it from the Aerie page itself, or authenticate with a bearer token or API key.",
        ));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn decisions() {
        let post = Method::POST;
        assert!(verdict(&Method::GET, &headers(&[("cookie", "a=b")])).is_none());
        assert!(
            verdict(
                &post,
                &headers(&[("authorization", "Bearer x"), ("cookie", "a=b")])
            )
            .is_none()
        );
        assert!(
            verdict(
                &post,
                &headers(&[("sec-fetch-site", "same-origin"), ("cookie", "a=b")])
            )
            .is_none()
        );
        assert!(verdict(&post, &headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(verdict(&post, &headers(&[("sec-fetch-site", "same-site")])).is_some());
        assert!(
            verdict(
                &post,
                &headers(&[
                    ("origin", "http://aerie.test:3000"),
                    ("host", "aerie.test:3000")
                ])
            )
            .is_none()
        );
        assert!(
            verdict(
                &post,
                &headers(&[("origin", "https://evil.test"), ("host", "aerie.test")])
            )
            .is_some()
        );
        assert!(
            verdict(
                &post,
                &headers(&[("origin", "null"), ("host", "aerie.test")])
            )
            .is_some()
        );
        assert!(verdict(&post, &headers(&[("cookie", "aerie_session=x")])).is_some());
        // A non-browser client without cookies (curl to /auth/jwt/create/) is not a CSRF vector.
        assert!(verdict(&post, &headers(&[])).is_none());
        // Only a real token exempts: browsers attach Basic credentials by themselves.
        for (name, value) in [
            ("authorization", "Basic b3duZXI6cHc="),
            ("authorization", "Bearer "),
            ("x-api-key", ""),
        ] {
            assert!(
                verdict(&post, &headers(&[(name, value), ("cookie", "a=b")])).is_some(),
                "{name}: {value}"
            );
        }
        assert!(verdict(&post, &headers(&[("x-api-key", "k"), ("cookie", "a=b")])).is_none());
    }
}
