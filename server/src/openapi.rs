//! The OpenAPI document: info and security schemes here; paths come from the routes themselves
//! (utoipa-axum), so no handler can be routed without being documented.

use aerie_contract::health::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aerie API",
        description = "Self-hosted AI agent platform. Every error uses one body: \
            `{\"detail\": ..., \"error\": {\"code\", \"message\", \"type\", \"param\", \"what\", \"why\", \"fix\"}}`.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    components(schemas(aerie_contract::ErrorBody)),
    modifiers(&SecurityAddon),
    tags(
        (name = "health", description = "Liveness, readiness and discovery"),
        (name = "operations", description = "Metrics for operators"),
        (name = "auth", description = "First-run setup, login and tokens"),
        (name = "api_keys", description = "API keys: create, list, expire, rotate, revoke"),
        (name = "billing", description = "Plans, the subscription and its credit quota (402 when a call does not fit)"),
        (name = "signup", description = "Signup, invitations, waitlist and signup settings"),
        (name = "organizations", description = "Organisations and their settings"),
        (name = "operator", description = "The instance operator: every organisation's lifecycle, and approval of the email domains organisations claim for single sign-on"),
        (name = "license", description = "The instance's licence tier: status for anyone signed in; applied and removed by the operator"),
        (name = "users", description = "User administration"),
        (name = "groups", description = "Groups and their members"),
        (name = "guardrails", description = "The organisation's guardrail policy (detectors and their actions on what goes to and comes from models) and its log of findings"),
        (name = "audit", description = "The organisation's audit trail, hash-chained (seed 003's GET /v1/audit)"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                aerie_backend::sessions::COOKIE,
            ))),
        );
        components.add_security_scheme(
            "bearer_jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "metrics_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The document's operations, flattened for the API reference page.
pub fn catalogue(doc: &utoipa::openapi::OpenApi) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
        ];
        for (method, op) in methods {
            if let Some(op) = op {
                out.push(Operation {
                    method: method.to_owned(),
                    path: path.clone(),
                    summary: op.summary.clone().unwrap_or_default(),
                    tag: op
                        .tags
                        .as_ref()
                        .and_then(|t| t.first().cloned())
                        .unwrap_or_default(),
                    operation_id: op.operation_id.clone().unwrap_or_default(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.tag, &a.path, &a.method).cmp(&(&b.tag, &b.path, &b.method)));
    out
}
