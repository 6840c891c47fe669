//! The one error body of every API family (`docs/API-DESIGN.md`, "The error body"):
//!
//! ```json
//! {"detail": "<sentence>", "error": {"code": "AUTH-001", "message": "<sentence>",
//!  "type": "authentication_error", "param": null, "what": "...", "why": "...", "fix": "..."}}
//! ```
//!
//! `detail` satisfies Egret clients (seed 000/001), `error.message`/`type`/`param`/`code` the
//! OpenAI SDKs, `error.what`/`why`/`fix` Aegis clients (seed 003; the seeds are the reference
//! documents of `docs/REFERENCE-APIS.md`). Every code lives in one closed table,
//! [`ErrorCode::info`].

use serde::{Deserialize, Serialize};

/// Everything the table knows about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeInfo {
    pub status: u16,
    pub code: &'static str,
    pub openai_type: &'static str,
    /// The default human sentence (`detail`), used when the failure has nothing more precise.
    pub detail: &'static str,
    pub what: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => ($status:expr, $code:expr, $ty:expr, $detail:expr, $what:expr, $why:expr, $fix:expr)),+ $(,)?) => {
        /// The closed set of error codes Aerie answers with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode { $($(#[$doc])* $variant),+ }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The single source of truth for status, code, type and texts.
            pub const fn info(self) -> CodeInfo {
                match self {
                    $(ErrorCode::$variant => CodeInfo {
                        status: $status, code: $code, openai_type: $ty, detail: $detail,
                        what: $what, why: $why, fix: $fix,
                    }),+
                }
            }
        }
    };
}

codes! {
    /// A field is missing or has an invalid value (the detail names the field).
    Validation => (400, "REQ-001", "invalid_request_error",
        "The request is invalid.",
        "Invalid request",
        "A field is missing or has a value the server cannot accept.",
        "Correct the field named in `detail` and send the request again."),
    /// The body is not the JSON the endpoint expects.
    MalformedJson => (400, "REQ-002", "invalid_request_error",
        "The request body is not valid JSON.",
        "Malformed request body",
        "The body could not be parsed as the JSON this endpoint expects.",
        "Send a well-formed JSON object with `Content-Type: application/json`."),
    /// A query string or path parameter could not be parsed.
    BadParameter => (400, "REQ-003", "invalid_request_error",
        "A query or path parameter is invalid.",
        "Invalid parameter",
        "A query string or path parameter could not be parsed.",
        "Check the parameter types in the API reference at /api-reference."),
    /// The body is larger than the server accepts.
    PayloadTooLarge => (413, "REQ-004", "invalid_request_error",
        "The request body is too large.",
        "Request body too large",
        "The body exceeds the size this server accepts.",
        "Send a smaller body, or ask the operator to raise AERIE_MAX_BODY_BYTES."),
    /// The body's content type is not supported by the endpoint.
    UnsupportedMediaType => (415, "REQ-005", "invalid_request_error",
        "The request body must be JSON (Content-Type: application/json).",
        "Unsupported content type",
        "The endpoint reads JSON and the request declared another content type.",
        "Set `Content-Type: application/json`."),
    /// No route matches the path.
    RouteNotFound => (404, "REQ-006", "invalid_request_error",
        "No endpoint matches this path.",
        "Unknown endpoint",
        "No route of this server matches the requested path.",
        "Check the path against the API reference at /api-reference (trailing slashes matter)."),
    /// The route exists but not with this method.
    MethodNotAllowed => (405, "REQ-007", "invalid_request_error",
        "This endpoint does not accept this HTTP method.",
        "Method not allowed",
        "The path exists, but not for the HTTP method used.",
        "Use one of the methods listed in the `Allow` header."),
    /// The same request is already being processed or conflicts with existing data.
    Conflict => (409, "REQ-008", "invalid_request_error",
        "The request conflicts with the current state of the resource.",
        "Conflict",
        "A resource with the same unique value exists, or the resource changed meanwhile.",
        "Fetch the resource again, change the conflicting value and retry."),
    /// An `Idempotency-Key` was used before with another request (docs/IDEMPOTENCY.md).
    IdempotencyKeyReused => (422, "REQ-009", "invalid_request_error",
        "This Idempotency-Key was already used with a different request.",
        "Idempotency key reused",
        "Within the last 24 hours this credential sent a request with the same Idempotency-Key but another method, path or body.",
        "Use a new key for a new request; repeat a request only with exactly the body it was first sent with."),
    /// The first request with this `Idempotency-Key` has not finished (docs/IDEMPOTENCY.md).
    IdempotencyInProgress => (409, "REQ-010", "invalid_request_error",
        "A request with this Idempotency-Key is still being processed.",
        "Request in progress",
        "Another request with the same Idempotency-Key started and has not finished yet.",
        "Retry in a moment with the same key and body: the first request's answer is returned once it is known."),
    /// The organisation's guardrails refused the text (the `why` names what was found, masked;
    /// docs/GUARDRAILS.md).
    GuardrailBlocked => (400, "GUARD-001", "invalid_request_error",
        "The message was blocked by the organisation's guardrails.",
        "Blocked by a guardrail",
        "The text contains data the organisation's guardrail policy does not let reach a model.",
        "Remove the data named in `why` and send the message again."),
    /// Credentials are missing.
    Unauthenticated => (401, "AUTH-001", "authentication_error",
        "Authentication credentials were not provided.",
        "Missing credentials",
        "The endpoint needs an API key, a JWT access token or a signed-in session.",
        "Send `Authorization: Bearer <key>` or `X-API-Key: <key>`; create a key with `aerie keys create`."),
    /// An API key is unknown, revoked or expired (seed 001's sentence).
    InvalidApiKey => (401, "AUTH-002", "authentication_error",
        "Invalid or expired API key. Check that the key is active and has not expired.",
        "Invalid or missing API key",
        "The key did not match any active key: it is unknown, revoked or expired.",
        "Create a key with `aerie keys create` and pass it as Bearer."),
    /// A JWT is expired or invalid (seed 001's `token_not_valid` shape).
    TokenNotValid => (401, "AUTH-003", "authentication_error",
        "Given token not valid for any token type",
        "Invalid or expired token",
        "The JWT's signature, issuer, audience or expiry did not validate.",
        "Obtain a new access token from /auth/jwt/refresh/ or /auth/jwt/create/."),
    /// Email and password do not match.
    InvalidCredentials => (401, "AUTH-004", "authentication_error",
        "No active account found with the given credentials.",
        "Login failed",
        "The email and password do not match an active account.",
        "Check the email and password, or ask an administrator to reset the account."),
    /// A single sign-on attempt was refused (the detail says why).
    SsoFailed => (401, "AUTH-007", "authentication_error",
        "Single sign-on failed.",
        "Single sign-on failed",
        "The identity provider's answer was refused, or no account may be linked or created for it.",
        "Start again from the login page; if it keeps failing, your administrator sees the reason in the audit log and the provider's last error."),
    /// The request presents more than one credential (session cookie, bearer token, `X-API-Key`)
    /// and one of them is invalid, or they name different users.
    ConflictingCredentials => (401, "AUTH-008", "authentication_error",
        "The request presents more than one credential and they do not agree.",
        "Conflicting credentials",
        "Of the session cookie, the bearer token and the X-API-Key header sent, one is invalid or expired, or they belong to different users or organisations.",
        "Send one credential: drop the stale cookie, or the header you did not mean to send."),
    /// The caller is authenticated but lacks the permission.
    Forbidden => (403, "AUTH-005", "permission_error",
        "You do not have permission to perform this action.",
        "Permission denied",
        "Your role in this organisation does not allow this action.",
        "Ask an organisation owner or admin for the needed role."),
    /// The knowledge domain is not in the organisation's allowed domains (seed 001).
    DomainForbidden => (403, "AUTH-006", "permission_error",
        "Your organization does not have access to this domain.",
        "Domain not allowed",
        "The queried domain is not in your organisation's allowed_domains list.",
        "Remove the domain restriction or add the domain in the organisation settings."),
    /// The caller's organisation is suspended by the instance operator.
    OrganizationSuspended => (403, "AUTH-009", "permission_error",
        "This organisation is suspended.",
        "Organisation suspended",
        "The instance operator suspended this organisation: its API keys, sessions and chats are refused until it is resumed.",
        "Ask the instance operator to resume the organisation (`aerie org resume <slug>`)."),
    /// The route needs an approver's agreement first: the request became a paused run (the
    /// detail names it and where to follow it; docs/RUNS.md).
    ApprovalRequired => (403, "RUN-001", "permission_error",
        "This route needs an approver's agreement: the request is waiting as a paused run.",
        "Approval required",
        "The route's policy makes this request wait for one of its approvers.",
        "Follow the run named in `detail` with GET /v1/runs/{id}: once approved, its answer is there."),
    /// Only the run's approvers may resume it (the refusal is audited).
    NotAnApprover => (403, "RUN-002", "permission_error",
        "You are not one of this run's approvers.",
        "Not an approver",
        "Only the people and groups named as the run's approvers may approve or reject it.",
        "Ask one of the approvers listed in GET /v1/runs/{id} to decide."),
    /// An approver rejected the run (a run's `error`, never an HTTP answer).
    RunRejected => (403, "RUN-003", "permission_error",
        "An approver rejected this run.",
        "Rejected",
        "One of the run's approvers decided it must not run.",
        "Read the approver's comment in the run; change the request or ask the approver."),
    /// No approver decided within the route's time (a run's `error`, never an HTTP answer).
    ApprovalTimedOut => (403, "RUN-004", "permission_error",
        "No approver decided on this run in time.",
        "Approval timed out",
        "The run waited for an approver longer than its route allows.",
        "Create the run again and ask an approver to decide, or ask an admin to lengthen the route's approval_timeout_minutes."),
    /// The requested resource does not exist (or belongs to another organisation).
    NotFound => (404, "RES-001", "not_found_error",
        "The requested resource was not found.",
        "Not found",
        "No resource with this id exists in your organisation.",
        "Check the id; list the resources to find the right one."),
    /// The monthly credit quota is exhausted (seed 001).
    QuotaExhausted => (402, "BILL-001", "insufficient_quota",
        "Credit quota exhausted. Upgrade your plan or wait for your quota to reset.",
        "Credit quota exhausted",
        "Your organisation used all credits of this period.",
        "Upgrade the plan or wait for the quota to reset; GET /v1/auth/profile shows the balance and the reset date."),
    /// A feature of a higher licence tier than the instance's (the detail names the tier).
    LicenseRequired => (402, "BILL-002", "permission_error",
        "This feature needs a higher licence tier.",
        "Licence tier too low",
        "The feature belongs to a licence tier above the one this instance runs; GET /api/license/status shows the tier and its features.",
        "Ask the instance operator to apply a licence of the named tier (POST /api/license/apply)."),
    /// Too many requests.
    RateLimited => (429, "RATE-001", "rate_limit_exceeded",
        "Too many requests. Slow down and retry after the time in the Retry-After header.",
        "Rate limited",
        "This client sent more requests than the limit allows in the current window.",
        "Wait for the number of seconds in `Retry-After`, then retry."),
    /// An unexpected failure; the cause is logged with the request id, never sent.
    Internal => (500, "SRV-001", "server_error",
        "An unexpected error occurred. It has been logged; retry later or quote the request id to your operator.",
        "Internal error",
        "The server failed unexpectedly while handling the request.",
        "Retry with exponential back-off; if it persists, give the operator the x-request-id header."),
    /// The upstream model provider failed.
    Upstream => (502, "SRV-002", "server_error",
        "The model provider returned an error.",
        "Upstream provider error",
        "The LLM provider behind this agent failed or answered something unusable.",
        "Retry later; an administrator can check the provider's settings and status."),
    /// A dependency (e.g. the database) is unavailable.
    Unavailable => (503, "SRV-003", "server_error",
        "The service is temporarily unavailable.",
        "Service unavailable",
        "A dependency of the server, such as its database, is not reachable.",
        "Retry shortly; the operator should check the database connection."),
    /// The upstream model provider timed out.
    UpstreamTimeout => (504, "SRV-004", "server_error",
        "The model provider did not answer in time.",
        "Upstream timeout",
        "The LLM provider did not answer within the configured timeout.",
        "Retry later, or ask an administrator to raise the provider's timeout."),
}

impl ErrorCode {
    pub const fn status(self) -> u16 {
        self.info().status
    }

    /// The code whose table entry has this `code` string (`"SRV-002"`).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.info().code == code)
    }
}

/// The `error` object inside [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorInfo {
    /// Stable code from Aerie's code table, e.g. `AUTH-002`.
    pub code: String,
    /// The same sentence as `detail`.
    pub message: String,
    /// OpenAI-style error type (`invalid_request_error`, `authentication_error`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The offending field, when one is to blame (OpenAI's `param`).
    pub param: Option<String>,
    pub what: String,
    pub why: String,
    pub fix: String,
}

/// Seed 001's per-token message inside a `token_not_valid` error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TokenMessage {
    pub token_class: String,
    pub token_type: String,
    pub message: String,
}

/// The one error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A human sentence saying what went wrong (and which field, for validation errors).
    pub detail: String,
    /// Only for invalid JWTs: `token_not_valid` (seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Only for invalid JWTs (seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<TokenMessage>>,
    pub error: ErrorInfo,
}

impl ErrorBody {
    /// The body for `code` with its default sentence.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_detail(code, code.info().detail)
    }

    /// The body for `code` with a more precise sentence.
    pub fn with_detail(code: ErrorCode, detail: impl Into<String>) -> Self {
        let info = code.info();
        let detail = detail.into();
        let mut body = Self {
            detail: detail.clone(),
            code: None,
            messages: None,
            error: ErrorInfo {
                code: info.code.to_owned(),
                message: detail,
                kind: info.openai_type.to_owned(),
                param: None,
                what: info.what.to_owned(),
                why: info.why.to_owned(),
                fix: info.fix.to_owned(),
            },
        };
        if code == ErrorCode::TokenNotValid {
            body.code = Some("token_not_valid".to_owned());
            body.messages = Some(vec![TokenMessage {
                token_class: "AccessToken".to_owned(),
                token_type: "access".to_owned(),
                message: "Token is invalid or expired".to_owned(),
            }]);
        }
        body
    }

    /// A validation error naming `field`, e.g. `query field is required.` (seed 001).
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Self {
        let mut body = Self::with_detail(ErrorCode::Validation, detail);
        body.error.param = Some(field.to_owned());
        body
    }

    /// The code this body was built from, if it is one of ours.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.info().code == self.error.code)
    }

    /// The HTTP status of this body (500 if the code is unknown).
    pub fn status(&self) -> u16 {
        self.error_code().map_or(500, ErrorCode::status)
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ErrorBody {}

impl server_fn::error::FromServerFnError for ErrorBody {
    type Encoder = server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(_) | E::MissingArg(_) => ErrorBody::new(ErrorCode::Validation),
            E::Request(_) => ErrorBody::with_detail(
                ErrorCode::Unavailable,
                "The server could not be reached. Check your connection and retry.",
            ),
            // Anything else is an internal failure; its text may hold internals, so it is not shown.
            _ => ErrorBody::new(ErrorCode::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_complete_and_well_formed() {
        let mut codes = HashSet::new();
        for code in ErrorCode::ALL {
            let info = code.info();
            assert!(codes.insert(info.code), "duplicate code {}", info.code);
            assert!(
                [
                    400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503, 504
                ]
                .contains(&info.status),
                "{code:?} has unexpected status {}",
                info.status
            );
            for (name, text) in [
                ("detail", info.detail),
                ("what", info.what),
                ("why", info.why),
                ("fix", info.fix),
            ] {
                assert!(!text.trim().is_empty(), "{code:?} has an empty {name}");
            }
            assert!(info.detail.ends_with('.') || *code == ErrorCode::TokenNotValid);
            let prefix = info.code.split('-').next().unwrap_or_default();
            assert!(
                ["REQ", "AUTH", "RES", "BILL", "RATE", "SRV", "GUARD", "RUN"].contains(&prefix),
                "{} has an unknown area",
                info.code
            );
            assert!(
                [
                    "invalid_request_error",
                    "authentication_error",
                    "permission_error",
                    "not_found_error",
                    "insufficient_quota",
                    "rate_limit_exceeded",
                    "server_error"
                ]
                .contains(&info.openai_type)
            );
            // 5xx map to server_error and nothing else does.
            assert_eq!(
                info.status >= 500,
                info.openai_type == "server_error",
                "{code:?}"
            );
        }
    }

    #[test]
    fn body_round_trips_and_finds_its_code() {
        for code in ErrorCode::ALL {
            let body = ErrorBody::new(*code);
            assert_eq!(body.detail, body.error.message);
            assert_eq!(body.error_code(), Some(*code));
            assert_eq!(body.status(), code.status());
            let json = serde_json::to_string(&body).unwrap_or_default();
            let back: ErrorBody =
                serde_json::from_str(&json).unwrap_or_else(|_| ErrorBody::new(ErrorCode::Internal));
            assert_eq!(back, body);
        }
    }

    #[test]
    fn seed_001_sentences_are_exact() {
        assert_eq!(
            ErrorBody::new(ErrorCode::InvalidApiKey).detail,
            "Invalid or expired API key. Check that the key is active and has not expired."
        );
        assert_eq!(
            ErrorBody::new(ErrorCode::QuotaExhausted).detail,
            "Credit quota exhausted. Upgrade your plan or wait for your quota to reset."
        );
        assert_eq!(
            ErrorBody::new(ErrorCode::DomainForbidden).detail,
            "Your organization does not have access to this domain."
        );
        let token =
            serde_json::to_value(ErrorBody::new(ErrorCode::TokenNotValid)).unwrap_or_default();
        assert_eq!(token["detail"], "Given token not valid for any token type");
        assert_eq!(token["code"], "token_not_valid");
        assert_eq!(token["messages"][0]["token_class"], "AccessToken");
        assert_eq!(token["messages"][0]["token_type"], "access");
        assert_eq!(
            token["messages"][0]["message"],
            "Token is invalid or expired"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let body = ErrorBody::invalid_field("query", "query field is required.");
        assert_eq!(body.detail, "query field is required.");
        assert_eq!(body.error.param.as_deref(), Some("query"));
        assert_eq!(body.status(), 400);
    }
}
