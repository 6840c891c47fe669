//! Credentials in one place: which credential a request presents in its headers (read by the
//! CSRF check and by the actor, so both agree), and which credentials each route accepts.
//!
//! A route's accepted credentials are declared once, in the document: by its family
//! (`routes/family.rs`, applied when the family's router is built) or, for an exception, by the
//! `security` of its `#[utoipa::path]`. This module reads them back from the generated document,
//! so `/api/openapi.json` documents exactly what is enforced here.
//! - `security(())` (an empty requirement): public; credentials are ignored.
//! - `cookie` and `bearer_jwt`: a person (browser session or JWT). API keys are refused.
//! - plus `api_key` and `x_api_key`: the data plane (chat, conversations, reading agents, logs,
//!   profile); any valid credential.
//!
//! An operation that declares nothing (outside any family) needs a person (the safe default).
//! More than one credential in one request must agree (`authenticate::resolve`); if they do not,
//! every route that needs a caller answers 401 `AUTH-008` here. Routes outside the
//! document are the dashboard (its pages and the server functions under `/_server/`): it is for
//! people, so API keys are refused there; each server function decides about anonymous callers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aerie_backend::Error;
use aerie_backend::actor::Actor;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The token of one `Authorization` value when its scheme is `Bearer` (case-insensitive),
/// trimmed; empty for `Bearer` alone.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The value of `Authorization: Bearer <token>` (scheme case-insensitive), if non-empty.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    bearer_token(value).filter(|token| !token.is_empty())
}

/// The value of `X-API-Key`, if non-empty.
pub fn api_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("x-api-key")?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
}

/// The value of the cookie `name` in the request's `Cookie` headers (the first one), if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, value)| value)
}

/// True when the request carries the session cookie (`aerie_session`), whatever its value.
pub fn session_cookie(headers: &HeaderMap) -> bool {
    cookie(headers, aerie_backend::sessions::COOKIE).is_some()
}

/// True when the request carries a token header with no token in it: an empty `X-API-Key`, or
/// `Authorization: Bearer` alone. Such a header is not a credential ([`bearer`], [`api_key`]),
/// but beside one it is an invalid one (`authenticate::resolve`).
pub fn blank_token(headers: &HeaderMap) -> bool {
    let blank_key = headers
        .get_all("x-api-key")
        .iter()
        .any(|v| v.to_str().map_or(true, |v| v.trim().is_empty()));
    let blank_bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .any(|v| v.to_str().ok().and_then(bearer_token) == Some(""));
    blank_key || blank_bearer
}

/// True when the request authenticates with a token in a header (bearer JWT or API key). Such a
/// request is never authenticated by its cookie, and browsers never attach these headers by
/// themselves (unlike cookies and HTTP Basic credentials).
pub fn presents_token(headers: &HeaderMap) -> bool {
    bearer(headers).is_some() || api_key(headers).is_some()
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Public: credentials are ignored.
    Anyone,
    /// The dashboard: API keys are refused; the page or server function decides the rest.
    Dashboard,
    /// A person: browser session or JWT.
    People,
    /// A person or an API key.
    PeopleAndKeys,
}

/// Routes outside the OpenAPI document that anyone may fetch.
const PUBLIC_UNDOCUMENTED: &[&str] = &["/api/openapi.json", "/pkg"];

/// Egret's key and organisation management (seed 000 marks them "JWT"): an API key there
/// answers Egret's 401 "JWT required" rather than the 403 of the other families.
pub const EGRET_JWT_PREFIXES: &[&str] = &["/v1/billings/", "/v1/orgs/"];

/// The access of every documented operation, by method and route template.
#[derive(Clone, Debug, Default)]
pub struct Routes(Arc<Documented>);

#[derive(Debug, Default)]
struct Documented {
    operations: HashMap<(Method, String), Access>,
    paths: HashSet<String>,
}

impl Routes {
    /// Reads the `security` of every operation of the OpenAPI document.
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(spec).unwrap_or_default();
        let mut documented = Documented::default();
        let paths = doc.get("paths").and_then(|p| p.as_object());
        for (path, item) in paths.into_iter().flatten() {
            documented.paths.insert(path.clone());
            for (method, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                documented
                    .operations
                    .insert((method, path.clone()), access_of(op));
            }
        }
        Self(Arc::new(documented))
    }

    /// Who may call `method route` (`route` is the matched template; `None` when no route
    /// matched, which the fallback answers).
    pub fn access(&self, method: &Method, route: Option<&str>) -> Access {
        let Some(route) = route else {
            return Access::Anyone;
        };
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        if let Some(access) = self.0.operations.get(&(method.clone(), route.to_owned())) {
            return *access;
        }
        let public = PUBLIC_UNDOCUMENTED.iter().any(|p| {
            route
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if public || self.0.paths.contains(route) {
            // Another method of a documented path: the router answers 405.
            return Access::Anyone;
        }
        Access::Dashboard
    }
}

/// Who may call an operation, from its `security` (`op` is the operation's JSON).
pub fn access_of(op: &serde_json::Value) -> Access {
    let Some(requirements) = op.get("security").and_then(|s| s.as_array()) else {
        return Access::People;
    };
    let names = || {
        requirements
            .iter()
            .filter_map(|r| r.as_object())
            .flat_map(|r| r.keys())
    };
    if requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
    {
        Access::Anyone
    } else if names().any(|n| n == "api_key" || n == "x_api_key") {
        Access::PeopleAndKeys
    } else {
        Access::People
    }
}

/// The route's verdict on the caller (runs after the actor is resolved).
fn verdict(access: Access, route: &str, actor: &Actor) -> Result<(), Error> {
    match access {
        Access::Anyone => Ok(()),
        Access::Dashboard => match actor.principal() {
            Ok(_) => actor.require_person().map(drop),
            // Anonymous or a refused credential: the page or function decides.
            Err(_) => Ok(()),
        },
        Access::People if EGRET_JWT_PREFIXES.iter().any(|p| route.starts_with(p)) => {
            actor.require_jwt().map(drop)
        }
        Access::People => actor.require_person().map(drop),
        Access::PeopleAndKeys => actor.principal().map(drop),
    }
}

/// Refuses callers whose credentials the matched route does not accept.
pub async fn enforce(State(routes): State<Routes>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let access = routes.access(req.method(), route);
    if access != Access::Anyone {
        let actor = req.extensions().get::<Actor>().cloned().unwrap_or_default();
        if let Err(e) = verdict(access, route.unwrap_or_default(), &actor) {
            return e.into_response();
        }
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
    fn only_real_tokens_count() {
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(bearer(&headers(&[("authorization", "Bearer ")])), None);
        assert_eq!(bearer(&headers(&[("authorization", "Bearer")])), None);
        assert_eq!(bearer(&headers(&[("authorization", "Basic dTpw")])), None);
        assert_eq!(api_key(&headers(&[("x-api-key", " ")])), None);
        assert!(presents_token(&headers(&[("x-api-key", "k")])));
        assert!(!presents_token(&headers(&[(
            "authorization",
            "Basic dTpw"
        )])));
        assert!(session_cookie(&headers(&[(
            "cookie",
            "a=b; aerie_session=x"
        )])));
        assert!(session_cookie(&headers(&[(
            "cookie",
            "aerie_session=; a=b"
        )])));
        assert!(!session_cookie(&headers(&[("cookie", "aerie_sso=x")])));
        assert!(blank_token(&headers(&[("x-api-key", " ")])));
        assert!(blank_token(&headers(&[("authorization", "Bearer ")])));
        assert!(blank_token(&headers(&[("authorization", "bearer")])));
        assert!(!blank_token(&headers(&[("authorization", "Bearer abc")])));
        assert!(!blank_token(&headers(&[("authorization", "Basic dTpw")])));
        assert!(!blank_token(&headers(&[("x-api-key", "k")])));
    }

    proptest::proptest! {
        /// Any header text: the parsers never panic, a Bearer token comes back trimmed and
        /// non-empty, and a cookie placed among others is found with its value.
        #[test]
        fn header_parsers_take_any_text(raw in "[ -~]{0,64}", value in "[!#-+--:<-~]{0,16}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = raw.parse() {
                h.insert(header::AUTHORIZATION, v);
            }
            if let Ok(v) = format!("{raw}; pick={value}; z=1").parse() {
                h.insert(header::COOKIE, v);
            }
            if let Some(token) = bearer(&h) {
                proptest::prop_assert!(!token.is_empty() && token == token.trim());
            }
            let _ = blank_token(&h);
            if h.contains_key(header::COOKIE) && !raw.contains("pick") {
                proptest::prop_assert_eq!(cookie(&h, "pick"), Some(value.as_str()));
            }
        }
    }

    #[test]
    fn access_follows_the_declared_security() {
        let op = |v: serde_json::Value| access_of(&serde_json::json!({ "security": v }));
        assert_eq!(access_of(&serde_json::json!({})), Access::People);
        assert_eq!(op(serde_json::json!([{}])), Access::Anyone);
        assert_eq!(
            op(serde_json::json!([{}, {"metrics_basic": []}])),
            Access::Anyone
        );
        assert_eq!(
            op(serde_json::json!([{"cookie": []}, {"bearer_jwt": []}])),
            Access::People
        );
        assert_eq!(
            op(serde_json::json!([{"bearer_jwt": []}, {"x_api_key": []}])),
            Access::PeopleAndKeys
        );
    }
}
