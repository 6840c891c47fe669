//! Extractors whose rejections use the contract body, so even serde failures answer in the one
//! error shape and name the field at fault.

use aerie_backend::error::body_response;
use aerie_contract::{ErrorBody, ErrorCode};
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// `axum::Json` with contract-shaped rejections, for bodies that are JSON objects: every
/// request body of the API is one. serde would also read a struct from an array of its fields in
/// order (`["Ada", null]`), which the document does not allow, so anything but an object is
/// refused before serde sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(Rejection(ErrorBody::new(ErrorCode::UnsupportedMediaType)));
        }
        let bytes = body_bytes(req, state).await?;
        object(&bytes).map(AppJson)
    }
}

/// An optional JSON object body (`POST /api/agents/{id}/duplicate`): no body, or `null`, is
/// `None`; anything else must be an object, as for [`AppJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(OptionalJson(None));
        }
        object(&bytes).map(|value| OptionalJson(Some(value)))
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Rejection> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        Rejection(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorBody::new(ErrorCode::PayloadTooLarge)
        } else {
            ErrorBody::new(ErrorCode::MalformedJson)
        })
    })
}

/// `bytes` as a `T`, provided they are a JSON object.
fn object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        // Not an object: if it is JSON at all it is the wrong shape, else malformed.
        _ if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
            return Err(Rejection(ErrorBody::with_detail(
                ErrorCode::Validation,
                "The request body must be a JSON object.",
            )));
        }
        _ => return Err(Rejection(ErrorBody::new(ErrorCode::MalformedJson))),
    }
    let axum::Json(value) = axum::Json::<T>::from_bytes(bytes)?;
    Ok(value)
}

/// `application/json` or any `+json` type, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(Ok(value)) = headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A `multipart/form-data` upload of documents: every part named `file` (a file part: its
/// filename and bytes) and an optional `category_id` text part; other parts are refused so a typo is not
/// silently ignored. The request may be as large as `upload_max_request_bytes` (413 past it):
/// the route turns the general body limit off (`DefaultBodyLimit::disable`) and this
/// extractor applies the upload limit instead.
#[derive(Debug, Default)]
pub struct Uploads {
    pub files: Vec<(String, Vec<u8>)>,
    pub category_id: Option<aerie_contract::ids::CategoryId>,
}

impl FromRequest<aerie_backend::AppState> for Uploads {
    type Rejection = Rejection;

    async fn from_request(
        req: Request,
        state: &aerie_backend::AppState,
    ) -> Result<Self, Self::Rejection> {
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !is_multipart {
            return Err(Rejection(ErrorBody::with_detail(
                ErrorCode::UnsupportedMediaType,
                "The request body must be multipart/form-data with one or more `file` parts.",
            )));
        }
        let limit = state.ctx.config().upload_max_request_bytes;
        let (parts, body) = req.into_parts();
        let req = Request::from_parts(
            parts,
            axum::body::Body::new(http_body_util::Limited::new(body, limit)),
        );
        let mut form = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| Rejection(multipart_error(e.status(), &e.body_text())))?;
        let mut out = Uploads::default();
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(Rejection(multipart_error(e.status(), &e.body_text()))),
            };
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "file" => {
                    // A file part carries a filename (browsers, curl -F, every HTTP library's
                    // file upload); a plain text field named `file` is not a document.
                    let Some(filename) = field.file_name().map(str::to_owned) else {
                        return Err(Rejection(ErrorBody::invalid_field(
                            "file",
                            "Each `file` part must be a file upload: its Content-Disposition needs a filename.",
                        )));
                    };
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| Rejection(multipart_error(e.status(), &e.body_text())))?;
                    out.files.push((filename, bytes.to_vec()));
                }
                "category_id" => {
                    let text = field
                        .text()
                        .await
                        .map_err(|e| Rejection(multipart_error(e.status(), &e.body_text())))?;
                    let text = text.trim();
                    if !text.is_empty() {
                        let id = uuid::Uuid::parse_str(text).map_err(|_| {
                            Rejection(ErrorBody::invalid_field(
                                "category_id",
                                "category_id must be a UUID.",
                            ))
                        })?;
                        out.category_id = Some(aerie_contract::ids::CategoryId(id));
                    }
                }
                other => {
                    return Err(Rejection(ErrorBody::invalid_field(
                        "file",
                        format!(
                            "{} is not a known part: send `file` (one or more) and optionally `category_id`.",
                            if other.is_empty() {
                                "A part without a name"
                            } else {
                                other
                            }
                        ),
                    )));
                }
            }
        }
        Ok(out)
    }
}

fn multipart_error(status: StatusCode, text: &str) -> ErrorBody {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorBody::with_detail(
            ErrorCode::PayloadTooLarge,
            "The upload is larger than this server accepts in one request (AERIE_UPLOAD_MAX_REQUEST_BYTES); send fewer or smaller files.",
        )
    } else {
        ErrorBody::with_detail(
            ErrorCode::Validation,
            format!(
                "The multipart body cannot be read: {}.",
                text.trim_end_matches('.')
            ),
        )
    }
}

/// `axum::extract::Query` with contract-shaped rejections.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Rejection))]
pub struct AppQuery<T>(pub T);

/// `axum::extract::Path` with contract-shaped rejections.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Rejection))]
pub struct AppPath<T>(pub T);

/// An extractor rejection, rendered as the contract body.
#[derive(Debug)]
pub struct Rejection(pub ErrorBody);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        body_response(self.0)
    }
}

impl From<JsonRejection> for Rejection {
    fn from(rejection: JsonRejection) -> Self {
        let body = match &rejection {
            JsonRejection::JsonDataError(e) => describe_data_error(&e.body_text()),
            JsonRejection::JsonSyntaxError(_) => ErrorBody::new(ErrorCode::MalformedJson),
            JsonRejection::MissingJsonContentType(_) => {
                ErrorBody::new(ErrorCode::UnsupportedMediaType)
            }
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ErrorBody::new(ErrorCode::PayloadTooLarge)
            }
            _ => ErrorBody::new(ErrorCode::MalformedJson),
        };
        Rejection(body)
    }
}

impl From<QueryRejection> for Rejection {
    fn from(rejection: QueryRejection) -> Self {
        Rejection(parameter_error(&rejection.body_text()))
    }
}

impl From<PathRejection> for Rejection {
    fn from(rejection: PathRejection) -> Self {
        Rejection(parameter_error(&rejection.body_text()))
    }
}

/// Turns serde's message into a sentence naming the field, e.g. `email field is required.`
fn describe_data_error(text: &str) -> ErrorBody {
    // axum: "Failed to deserialize the JSON body into the target type: <path>: <serde message>"
    let message = text
        .split_once("target type: ")
        .map_or(text, |(_, rest)| rest);
    if let Some(field) = between(message, "missing field `", "`") {
        return ErrorBody::invalid_field(field, format!("{field} field is required."));
    }
    let (path, reason) = match message.split_once(": ") {
        Some((path, reason)) if !path.contains(' ') => (path, reason),
        _ => ("", message),
    };
    let reason = reason.split(" at line ").next().unwrap_or(reason).trim();
    if let Some(field) = between(reason, "unknown field `", "`") {
        return ErrorBody::invalid_field(field, format!("{field} is not a known field."));
    }
    // A closed set (`contract/src/kinds.rs`): "unknown variant `x`, expected one of `a`, `b`".
    if !path.is_empty()
        && path != "."
        && let Some((_, expected)) = reason
            .split_once("unknown variant `")
            .and_then(|(_, rest)| rest.split_once("expected "))
    {
        let expected = expected.replace('`', "");
        return ErrorBody::invalid_field(path, format!("{path} must be {expected}."));
    }
    if path.is_empty() || path == "." {
        ErrorBody::with_detail(
            ErrorCode::Validation,
            format!("The request body is invalid: {reason}."),
        )
    } else {
        ErrorBody::invalid_field(path, format!("{path} field is invalid: {reason}."))
    }
}

fn parameter_error(text: &str) -> ErrorBody {
    let reason = text
        .split_once(": ")
        .map_or(text, |(_, rest)| rest)
        .trim_end_matches('.');
    if let Some(field) = between(reason, "missing field `", "`") {
        return ErrorBody::invalid_field(field, format!("{field} parameter is required."));
    }
    ErrorBody::with_detail(
        ErrorCode::BadParameter,
        format!("A query or path parameter is invalid: {reason}."),
    )
}

/// The text between the first `start` and the next `end` (no index arithmetic: the messages
/// quote client input).
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(start)?;
    rest.split_once(end).map(|(inside, _)| inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_field_sentences() {
        let b = describe_data_error(
            "Failed to deserialize the JSON body into the target type: missing field `query` at line 1 column 2",
        );
        assert_eq!(b.detail, "query field is required.");
        assert_eq!(b.error.param.as_deref(), Some("query"));

        let b = describe_data_error(
            "Failed to deserialize the JSON body into the target type: limit: invalid type: string \"x\", expected u32 at line 1 column 13",
        );
        assert_eq!(b.error.param.as_deref(), Some("limit"));
        assert!(
            b.detail.starts_with("limit field is invalid: invalid type"),
            "{}",
            b.detail
        );
        assert!(!b.detail.contains("line 1"));

        let b = describe_data_error(
            "Failed to deserialize the JSON body into the target type: role: unknown variant `root`, expected one of `member`, `admin`, `owner` at line 1 column 15",
        );
        assert_eq!(b.error.param.as_deref(), Some("role"));
        assert_eq!(b.detail, "role must be one of member, admin, owner.");
    }

    proptest::proptest! {
        /// Rejection texts quote what the client sent (field names, values): none panics, and
        /// each becomes a 400 in the contract shape.
        #[test]
        fn no_rejection_text_panics(
            raw in proptest::prelude::any::<String>(),
            field in "\\PC{0,8}",
            reason in "\\PC{0,12}",
        ) {
            let shaped = [
                raw.clone(),
                format!("Failed to deserialize the JSON body into the target type: missing field `{field}` at line 1 column 2"),
                format!("Failed to deserialize the JSON body into the target type: {field}: {reason} at line 1 column 9"),
                format!("Failed to deserialize the JSON body into the target type: unknown field `{field}`, expected {reason}"),
                format!("Failed to deserialize query string: {reason}`{field}"),
            ];
            for text in &shaped {
                let body = describe_data_error(text);
                proptest::prop_assert_eq!(body.status(), 400);
                let body = parameter_error(text);
                proptest::prop_assert_eq!(body.status(), 400);
            }
        }
    }
}
