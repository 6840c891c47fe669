//! Route families: each group of routes declares once who may call its operations and which
//! error responses they share, when its `OpenApiRouter` is built (`routes/mod.rs` and the
//! family modules). An operation's `#[utoipa::path]` states only an exception: `security(())`
//! for a public operation, or `security(("cookie" = []), ("bearer_jwt" = []))` for a people-only
//! one inside a family that takes API keys.
//!
//! What a family writes into the document is what the server does: the `security` is enforced by
//! `middleware/credentials.rs` (it reads it back from the document), and the shared responses are
//! the answers of the extractors (`extract.rs`), the body limit, the CSRF check and the
//! credentials check. Every one uses the contract's `ErrorBody`.

use aerie_backend::AppState;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;

use crate::middleware::credentials::{self, Access, EGRET_JWT_PREFIXES};

/// A family of routes: the default credentials of its operations, and whether every operation is
/// limited per client.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// The security schemes any one of which an operation accepts, in the order the document
    /// lists them; empty: public (the empty requirement).
    security: &'static [&'static str],
    /// Every operation counts attempts per client and answers 429 past the limit
    /// (`services/auth/limits.rs`, the password-hashing gate in `services/auth/password.rs`).
    rate_limited: bool,
}

impl Family {
    /// Anyone: credentials are ignored.
    pub const PUBLIC: Family = Family {
        security: &[],
        rate_limited: false,
    };
    /// Signing in and up: public, and limited per client (login limits, SSO flow starts, the
    /// password-hashing gate).
    pub const SIGN_IN: Family = Family {
        security: &[],
        rate_limited: true,
    };
    /// People: a browser session or a JWT. API keys are refused (403, or Egret's 401 under
    /// `credentials::EGRET_JWT_PREFIXES`).
    pub const PEOPLE: Family = Family {
        security: &["cookie", "bearer_jwt"],
        rate_limited: false,
    };
    /// The data plane: a person or an API key (as bearer or `X-API-Key`).
    pub const DATA_PLANE: Family = Family {
        security: &["cookie", "bearer_jwt", "api_key", "x_api_key"],
        rate_limited: false,
    };
    /// Egzora's gateway (`/v1/chat`, `/v1/agents`, …): the data plane, keys first as its
    /// reference lists them.
    pub const GATEWAY: Family = Family {
        security: &["api_key", "x_api_key", "bearer_jwt", "cookie"],
        rate_limited: false,
    };

    /// The family's routes, with its defaults written into their operations.
    pub fn routes(self, mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
        self.document(router.get_openapi_mut());
        router
    }

    /// Writes the family's defaults into every operation of `doc`: the security where the
    /// operation declares none, then the shared error responses it does not document itself.
    pub fn document(self, doc: &mut OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("OPTIONS", &mut item.options),
                ("HEAD", &mut item.head),
                ("PATCH", &mut item.patch),
                ("TRACE", &mut item.trace),
            ];
            for (method, op) in operations {
                if let Some(op) = op {
                    if op.security.is_none() {
                        op.security = Some(self.requirements());
                    }
                    self.shared_responses(method, path, op);
                }
            }
        }
    }

    fn requirements(self) -> Vec<SecurityRequirement> {
        if self.security.is_empty() {
            return vec![SecurityRequirement::default()];
        }
        self.security
            .iter()
            .map(|name| SecurityRequirement::new(*name, Vec::<String>::new()))
            .collect()
    }

    fn shared_responses(self, method: &str, path: &str, op: &mut Operation) {
        // The reading `credentials::enforce` applies.
        let access = credentials::access_of(&serde_json::to_value(&*op).unwrap_or_default());
        let params = |place: ParameterIn| {
            op.parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == place)
        };
        let (in_path, in_query) = (params(ParameterIn::Path), params(ParameterIn::Query));
        let body = op.request_body.as_ref();
        let mut shared: Vec<(&str, String)> = Vec::new();

        let mut malformed = Vec::new();
        if in_path {
            malformed.push("a path parameter is malformed (e.g. an id that is not a UUID)");
        }
        if in_query {
            malformed.push("a query parameter is malformed or out of range");
        }
        if body.is_some() {
            malformed.push("the body is malformed or a field is missing or invalid");
        }
        if !malformed.is_empty() {
            shared.push(("400", sentence(&malformed)));
        }
        if access != Access::Anyone {
            shared.push((
                "401",
                "Credentials are missing or invalid, or the request presents more than one \
                 credential and they do not agree"
                    .to_owned(),
            ));
        }
        let mut forbidden = Vec::new();
        if access == Access::People && !EGRET_JWT_PREFIXES.iter().any(|p| path.starts_with(p)) {
            forbidden.push("an API key is refused here: a person must sign in (session or JWT)");
        }
        if !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE") && path != CROSS_SITE_POST {
            forbidden
                .push("a cookie-authenticated request that is not same-origin (CSRF protection)");
        }
        if !forbidden.is_empty() {
            shared.push(("403", sentence(&forbidden)));
        }
        if let Some(body) = body {
            shared.push((
                "413",
                "The body is larger than the server accepts (`max_body_bytes`)".to_owned(),
            ));
            // An optional body (`POST /api/agents/{id}/duplicate`) is read whatever its type.
            if matches!(body.required, Some(Required::True)) {
                shared.push(("415", format!("The body is not {}", content_types(body))));
            }
        }
        let idempotent = takes_idempotency_key(method, access, op);
        if idempotent {
            shared.push((
                "409",
                "A request with the same `Idempotency-Key` is still being processed; retry \
                 after `Retry-After` seconds"
                    .to_owned(),
            ));
            shared.push((
                "422",
                "The `Idempotency-Key` was already used with a different request (method, path \
                 or body) within 24 hours"
                    .to_owned(),
            ));
        }
        if self.rate_limited {
            shared.push((
                "429",
                "Too many attempts from this client; retry after `Retry-After` seconds".to_owned(),
            ));
        }

        if idempotent {
            add_idempotency_key(op);
        }
        let responses = &mut op.responses.responses;
        for (status, description) in shared {
            match responses.get_mut(status) {
                // The operation's own 403 (a role, a setting) keeps its reason; the family's are
                // added to it.
                Some(RefOr::T(own)) if status == "403" && !own.description.is_empty() => {
                    own.description =
                        format!("{}; or: {}", own.description, lowercase_first(&description));
                }
                Some(RefOr::T(own)) if own.description.is_empty() => own.description = description,
                Some(_) => {}
                None => {
                    responses.insert(status.to_owned(), RefOr::T(error_response(description)));
                }
            }
        }
    }
}

/// Whether an operation takes `Idempotency-Key` (docs/IDEMPOTENCY.md): a POST that needs a
/// caller and creates something (its success is `201 Created` or `202 Accepted`).
/// `middleware/idempotency.rs` reads the parameter back from the document.
fn takes_idempotency_key(method: &str, access: Access, op: &Operation) -> bool {
    method == "POST"
        && access != Access::Anyone
        && ["201", "202"]
            .iter()
            .any(|s| op.responses.responses.contains_key(*s))
}

/// Declares the optional `Idempotency-Key` header on `op`.
fn add_idempotency_key(op: &mut Operation) {
    use aerie_backend::services::idempotency::{KEY_MAX, KEY_PATTERN};
    use utoipa::openapi::path::ParameterBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let declared = op.parameters.iter().flatten().any(|p| {
        p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("idempotency-key")
    });
    if declared {
        return;
    }
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(KEY_MAX))
        .pattern(Some(KEY_PATTERN))
        .build();
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first request with this key runs, and its success is \
             returned again (with `Idempotent-Replayed: true`) to every repeat of the same \
             request with the same key from the same credential for 24 hours.",
        ))
        .schema(Some(schema))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(parameter);
}

/// The SAML assertion consumer takes the identity provider's cross-site POST by design
/// (`middleware/csrf.rs`).
const CROSS_SITE_POST: &str = "/auth/saml/acs";

fn content_types(body: &RequestBody) -> String {
    let types: Vec<String> = body.content.keys().map(|t| format!("`{t}`")).collect();
    if types.is_empty() {
        "`application/json`".to_owned()
    } else {
        types.join(" or ")
    }
}

/// `["a", "b"]` → `"A, or b"`.
fn sentence(parts: &[&str]) -> String {
    let joined = parts.join(", or ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn error_response(description: String) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
