//! The backend's one error type. Every variant maps to a code of the closed table in
//! `contract::error`; 5xx causes are logged, never sent.

use aerie_contract::{ErrorBody, ErrorCode};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The refusal of an API key where a person is needed ([`Error::PersonRequired`]).
pub const PERSON_REQUIRED: &str = "An API key cannot do this: API keys reach chat, conversations, \
reading agents, logs and the profile; managing keys, members, groups, agents, providers, the \
organisation and its sign-in settings takes a person. Sign in, or use a JWT access token \
(POST /auth/jwt/create/).";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is missing or invalid; the message names the field.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("conflict on {field}")]
    Conflict { field: &'static str },
    /// A well-formed request the resource's present state forbids (the last owner, a revoked
    /// key, a domain another organisation claims): 409, the message names the field.
    #[error("{message}")]
    State {
        field: &'static str,
        message: String,
    },
    /// The endpoint accepts JWT access tokens (or a browser session), not API keys.
    #[error("jwt required")]
    JwtRequired,
    /// An API key reached an endpoint for people (keys, members, organisation and sign-in
    /// settings, the dashboard): it needs a browser session or a JWT.
    #[error("person required")]
    PersonRequired,
    /// A refresh token is unknown, expired, revoked or reused.
    #[error("refresh token not valid")]
    RefreshTokenInvalid,
    /// Too many attempts; retry after this many seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A 403 with a precise sentence (e.g. signups closed).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The instance is already set up.
    #[error("already set up")]
    AlreadySetUp,
    /// A failure that has its own code and default sentence.
    #[error("{0:?}")]
    Code(ErrorCode),
    /// A code with a more precise sentence (upstream failures, missing configuration).
    #[error("{code:?}: {detail}")]
    Detailed { code: ErrorCode, detail: String },
    /// A code whose `detail` must stay the table's sentence (seed 001's 402), with the
    /// particulars of this failure in `why` and `fix`.
    #[error("{code:?}: {why}")]
    Explained {
        code: ErrorCode,
        why: String,
        fix: String,
    },
    /// The database is unreachable.
    #[error("database unavailable: {0}")]
    Unavailable(sea_orm::DbErr),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn detailed(code: ErrorCode, detail: impl Into<String>) -> Self {
        Error::Detailed {
            code,
            detail: detail.into(),
        }
    }

    /// Maps a unique-constraint violation to a 409 naming `field`; any other database error
    /// stays a database error. Use as `.map_err(Error::on_unique("name"))`.
    pub fn on_unique(field: &'static str) -> impl Fn(sea_orm::DbErr) -> Self {
        move |e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict { field },
            _ => Error::Db(e),
        }
    }

    /// A refusal because of the present state, not the request's shape (409, see [`Error::State`]).
    pub fn state(field: &'static str, message: impl Into<String>) -> Self {
        Error::State {
            field,
            message: message.into(),
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The code this error answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } => ErrorCode::Validation,
            Error::NotFound => ErrorCode::NotFound,
            Error::Forbidden => ErrorCode::Forbidden,
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::Conflict { .. } | Error::State { .. } => ErrorCode::Conflict,
            Error::JwtRequired => ErrorCode::Unauthenticated,
            Error::PersonRequired => ErrorCode::Forbidden,
            Error::RefreshTokenInvalid => ErrorCode::TokenNotValid,
            Error::AlreadySetUp => ErrorCode::Conflict,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Refused(_) => ErrorCode::Forbidden,
            Error::Code(code) => *code,
            Error::Detailed { code, .. } => *code,
            Error::Explained { code, .. } => *code,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Db(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The wire body. Internal causes stay out of it.
    pub fn body(&self) -> ErrorBody {
        match self {
            Error::Invalid { field, message } => ErrorBody::invalid_field(field, message.clone()),
            Error::Conflict { field } => {
                let mut body = ErrorBody::with_detail(
                    ErrorCode::Conflict,
                    format!("{field} is already taken."),
                );
                body.error.param = Some((*field).to_owned());
                body
            }
            Error::State { field, message } => {
                let mut body = ErrorBody::with_detail(ErrorCode::Conflict, message.clone());
                body.error.param = Some((*field).to_owned());
                body
            }
            Error::JwtRequired => ErrorBody::with_detail(
                ErrorCode::Unauthenticated,
                "This endpoint requires a JWT access token (POST /auth/jwt/create/); API keys are not accepted here.",
            ),
            Error::PersonRequired => ErrorBody::with_detail(ErrorCode::Forbidden, PERSON_REQUIRED),
            Error::RefreshTokenInvalid => {
                let mut body = ErrorBody::new(ErrorCode::TokenNotValid);
                if let Some(message) = body.messages.as_mut().and_then(|m| m.first_mut()) {
                    message.token_class = "RefreshToken".to_owned();
                    message.token_type = "refresh".to_owned();
                }
                body
            }
            Error::Refused(detail) => ErrorBody::with_detail(ErrorCode::Forbidden, *detail),
            Error::Detailed { code, detail } => ErrorBody::with_detail(*code, detail.clone()),
            Error::Explained { code, why, fix } => {
                let mut body = ErrorBody::new(*code);
                body.error.why = why.clone();
                body.error.fix = fix.clone();
                body
            }
            Error::AlreadySetUp => ErrorBody::with_detail(
                ErrorCode::Conflict,
                "Aerie is already set up; sign in instead.",
            ),
            other => ErrorBody::new(other.code()),
        }
    }

    /// Logs server-side failures with their cause (inside the request's span).
    pub fn log(&self) {
        if self.code().status() >= 500 {
            tracing::error!(error = %self, code = self.code().info().code, "request failed");
        }
    }
}

/// A stored value outside its kind's closed set (`contract/src/kinds.rs`): the database holds
/// something this build does not know, a 500 rather than a guess.
impl From<aerie_contract::UnknownValue> for Error {
    fn from(e: aerie_contract::UnknownValue) -> Self {
        Error::Internal(anyhow::anyhow!("stored value: {e}"))
    }
}

impl From<Error> for ErrorBody {
    fn from(e: Error) -> Self {
        e.log();
        e.body()
    }
}

/// Renders any contract body with its status (and `WWW-Authenticate` on 401).
pub fn body_response(body: ErrorBody) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let status = StatusCode::from_u16(body.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        self.log();
        let mut response = body_response(self.body());
        if let Error::RateLimited { retry_after_secs } = self
            && let Ok(value) =
                axum::http::HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_are_not_in_the_body() {
        let e = Error::Db(sea_orm::DbErr::Custom(
            "SELECT secret FROM users WHERE password = 'hunter2'".into(),
        ));
        let body = serde_json::to_string(&e.body()).unwrap();
        assert!(
            !body.contains("SELECT") && !body.contains("hunter2"),
            "{body}"
        );
        assert_eq!(e.body().status(), 500);
    }

    #[test]
    fn validation_names_the_field() {
        let body = Error::invalid("email", "email field is required.").body();
        assert_eq!(body.detail, "email field is required.");
        assert_eq!(body.error.param.as_deref(), Some("email"));
    }
}
