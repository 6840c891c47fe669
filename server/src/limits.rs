//! The limits the services enforce on request bodies, written into the OpenAPI document, so a
//! client (or Schemathesis, `scripts/schemathesis`) that follows the document is never refused
//! for a length, range or shape the document did not state.
//!
//! The numbers and patterns are the services' own constants (`services::validate` and the
//! service modules), never copied: a changed limit changes the document. The contract's types
//! (`aerie-contract`) stay free of server-only constants, so the limits are applied here, by
//! schema and property name; `every_limit_names_a_real_property` (below) fails when a row no
//! longer matches the document, and the property tests in `services::validate` tie each pattern
//! to its validator.

use aerie_backend::services::auth::password;
use aerie_backend::services::billing::terms;
use aerie_backend::services::chat::images::MAX_IMAGES;
use aerie_backend::services::guardrails::policy as guardrails;
use aerie_backend::services::runs::{self, routes};
use aerie_backend::services::validate::{self as v};
use utoipa::openapi::schema::{AllOfBuilder, ArrayItems, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// What a property may hold.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// A string of `min..=max` characters matching `pattern` (an ECMA/Python-compatible regex).
    Text {
        min: usize,
        max: usize,
        pattern: Option<&'static str>,
    },
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A number in `min..=max`.
    Number { min: f64, max: f64 },
    /// One of a closed list that lives in the backend (the tool catalogue).
    OneOf(fn() -> Vec<&'static str>),
    /// An array of at most `max` items.
    Items { max: usize },
}

/// A printable name of at most `max` characters (`validate::name`).
const fn name(max: usize) -> Limit {
    Limit::Text {
        min: 1,
        max,
        pattern: Some(v::NAME_PATTERN),
    }
}

/// Free text of at most `max` characters.
const fn text(max: usize) -> Limit {
    Limit::Text {
        min: 0,
        max,
        pattern: None,
    }
}

/// Free text of at least one non-blank character and at most `max` characters.
const fn not_blank(max: usize) -> Limit {
    Limit::Text {
        min: 1,
        max,
        pattern: Some(v::NOT_BLANK_PATTERN),
    }
}

const fn integer((min, max): (i64, i64)) -> Limit {
    Limit::Integer { min, max }
}

const fn number((min, max): (f64, f64)) -> Limit {
    Limit::Number { min, max }
}

const EMAIL_DOMAIN: Limit = Limit::Text {
    min: 1,
    max: v::EMAIL_DOMAIN_MAX,
    pattern: Some(v::EMAIL_DOMAIN_PATTERN),
};
const IMAGE: Limit = Limit::Text {
    min: 1,
    max: usize::MAX,
    pattern: Some(v::IMAGE_PATTERN),
};
/// A knowledge base's or category's slug (`validate::slug`).
const SLUG: Limit = Limit::Text {
    min: 1,
    max: v::DOMAIN_SLUG_MAX,
    pattern: Some(v::SLUG_PATTERN),
};
/// A route's name (`runs::routes`): a slug of at most 64 characters.
const ROUTE_NAME: Limit = Limit::Text {
    min: 1,
    max: routes::NAME_MAX,
    pattern: Some(v::SLUG_PATTERN),
};
/// A plan's slug (`billing::terms`).
const PLAN_SLUG: Limit = Limit::Text {
    min: 1,
    max: terms::PLAN_SLUG_MAX,
    pattern: Some(terms::PLAN_SLUG_PATTERN),
};
const EMAIL: Limit = Limit::Text {
    min: 3,
    max: v::EMAIL_MAX,
    pattern: Some(v::EMAIL_PATTERN),
};
const NEW_PASSWORD: Limit = Limit::Text {
    min: password::MIN_LEN,
    max: v::PASSWORD_MAX,
    pattern: None,
};
const ANY_PASSWORD: Limit = Limit::Text {
    min: 1,
    max: v::PASSWORD_MAX,
    pattern: None,
};

/// (component schema, property, limit). A property that is an array takes the limit for each
/// item.
pub const LIMITS: &[(&str, &str, Limit)] = &[
    // Sign-in and sign-up.
    ("SetupRequest", "email", EMAIL),
    ("SetupRequest", "password", NEW_PASSWORD),
    ("SetupRequest", "name", name(v::PERSON_NAME_MAX)),
    (
        "SetupRequest",
        "organization_name",
        name(v::PERSON_NAME_MAX),
    ),
    ("SignupRequest", "email", EMAIL),
    ("SignupRequest", "password", NEW_PASSWORD),
    ("SignupRequest", "name", name(v::PERSON_NAME_MAX)),
    ("Credentials", "email", not_blank(v::EMAIL_MAX)),
    ("Credentials", "password", ANY_PASSWORD),
    ("RefreshRequest", "refresh", not_blank(usize::MAX)),
    ("UpdateProfile", "name", name(v::PERSON_NAME_MAX)),
    (
        "UpdateProfile",
        "avatar_url",
        Limit::Text {
            min: 0,
            max: v::URL_MAX,
            pattern: Some(v::EMPTY_OR_HTTP_URL_PATTERN),
        },
    ),
    ("UpdateProfile", "language", Limit::OneOf(v::locales)),
    // The organisation and its people.
    ("UpdateOrganization", "name", name(v::PERSON_NAME_MAX)),
    (
        "UpdateOrganization",
        "allowed_domains",
        Limit::Text {
            min: 1,
            max: v::DOMAIN_SLUG_MAX,
            pattern: Some(v::DOMAIN_SLUG_PATTERN),
        },
    ),
    ("InviteUser", "email", EMAIL),
    ("InviteUser", "role", Limit::OneOf(v::invitable_roles)),
    (
        "SignupSettings",
        "default_role",
        Limit::OneOf(v::invitable_roles),
    ),
    ("GroupInput", "name", name(v::NAME_MAX)),
    ("GroupInput", "description", text(v::COMMENT_MAX)),
    ("NewApiKey", "name", name(v::NAME_MAX)),
    // Agents and providers.
    ("NewAgent", "name", name(v::NAME_MAX)),
    ("NewAgent", "model", name(v::TITLE_MAX)),
    ("NewAgent", "description", text(v::COMMENT_MAX)),
    ("NewAgent", "system_prompt", text(v::SYSTEM_PROMPT_MAX)),
    ("NewAgent", "tools", Limit::OneOf(v::tool_names)),
    ("UpdateAgent", "name", name(v::NAME_MAX)),
    ("UpdateAgent", "model", name(v::TITLE_MAX)),
    ("UpdateAgent", "description", text(v::COMMENT_MAX)),
    ("UpdateAgent", "system_prompt", text(v::SYSTEM_PROMPT_MAX)),
    ("UpdateAgent", "tools", Limit::OneOf(v::tool_names)),
    (
        "NewAgent",
        "knowledge_base_ids",
        Limit::Items {
            max: v::AGENT_KNOWLEDGE_BASES_MAX,
        },
    ),
    (
        "UpdateAgent",
        "knowledge_base_ids",
        Limit::Items {
            max: v::AGENT_KNOWLEDGE_BASES_MAX,
        },
    ),
    // Knowledge bases and their categories.
    ("NewKnowledgeBase", "name", name(v::NAME_MAX)),
    ("NewKnowledgeBase", "slug", SLUG),
    ("NewKnowledgeBase", "description", text(v::COMMENT_MAX)),
    ("UpdateKnowledgeBase", "name", name(v::NAME_MAX)),
    ("UpdateKnowledgeBase", "slug", SLUG),
    ("UpdateKnowledgeBase", "description", text(v::COMMENT_MAX)),
    ("ChunkingInput", "chunk_size", integer(v::CHUNK_SIZE)),
    ("ChunkingInput", "chunk_overlap", integer(v::CHUNK_OVERLAP)),
    ("EmbeddingInput", "model", name(v::TITLE_MAX)),
    ("NewCategory", "name", name(v::NAME_MAX)),
    ("NewCategory", "slug", SLUG),
    ("NewCategory", "description", text(v::COMMENT_MAX)),
    ("NewCategory", "position", integer(v::POSITION)),
    ("UpdateCategory", "name", name(v::NAME_MAX)),
    ("UpdateCategory", "slug", SLUG),
    ("UpdateCategory", "description", text(v::COMMENT_MAX)),
    ("UpdateCategory", "position", integer(v::POSITION)),
    ("DuplicateAgent", "name", name(v::NAME_MAX)),
    ("AgentParameters", "temperature", number(v::TEMPERATURE)),
    ("AgentParameters", "top_p", number(v::TOP_P)),
    ("AgentParameters", "max_tokens", integer(v::MAX_TOKENS)),
    ("NewProvider", "name", name(v::NAME_MAX)),
    ("NewProvider", "base_url", not_blank(v::URL_MAX)),
    ("NewProvider", "timeout_secs", integer(v::TIMEOUT_SECS)),
    ("UpdateProvider", "name", name(v::NAME_MAX)),
    ("UpdateProvider", "base_url", not_blank(v::URL_MAX)),
    ("UpdateProvider", "timeout_secs", integer(v::TIMEOUT_SECS)),
    ("ProviderModel", "id", name(v::TITLE_MAX)),
    // Conversations and chat.
    ("RenameConversation", "title", name(v::TITLE_MAX)),
    ("NewConversation", "title", name(v::TITLE_MAX)),
    // Blank with images is accepted too; the document states the stricter rule.
    ("ChatTurn", "message", not_blank(v::MESSAGE_MAX)),
    ("ChatTurn", "images", Limit::Items { max: MAX_IMAGES }),
    ("ChatTurn", "images", IMAGE),
    ("V1ChatRequest", "message", not_blank(v::MESSAGE_MAX)),
    ("V1ChatRequest", "images", Limit::Items { max: MAX_IMAGES }),
    ("V1ChatRequest", "images", IMAGE),
    ("Feedback", "comment", text(v::COMMENT_MAX)),
    ("Feedback", "rating", Limit::OneOf(|| vec!["up", "down"])),
    // The operator's plans and prices.
    ("PlanInput", "slug", PLAN_SLUG),
    ("PlanInput", "name", name(terms::PLAN_NAME_MAX)),
    ("PlanInput", "price_label", text(terms::PRICE_LABEL_MAX)),
    ("PlanInput", "monthly_credits", integer((0, i64::MAX))),
    (
        "PlanInput",
        "monthly_tokens_per_user",
        integer((0, i64::MAX)),
    ),
    (
        "PlanInput",
        "requests_per_minute",
        integer((0, i32::MAX as i64)),
    ),
    ("PlanInput", "tokens_per_minute", integer((0, i64::MAX))),
    (
        "PlanInput",
        "features",
        Limit::Items {
            max: terms::PLAN_FEATURES_MAX,
        },
    ),
    ("PlanInput", "features", text(terms::PLAN_FEATURES_MAX)),
    ("ModelPrice", "model", not_blank(terms::PRICED_MODEL_MAX)),
    ("ModelPrice", "input_per_mtok", integer((0, i64::MAX))),
    ("ModelPrice", "output_per_mtok", integer((0, i64::MAX))),
    ("ChangePlan", "plan", PLAN_SLUG),
    // Guardrails.
    ("GuardrailPolicy", "rules", Limit::Items { max: 6 }),
    (
        "GuardrailPolicy",
        "patterns",
        Limit::Items {
            max: guardrails::PATTERNS_MAX,
        },
    ),
    (
        "GuardrailPattern",
        "name",
        name(guardrails::PATTERN_NAME_MAX),
    ),
    (
        "GuardrailPattern",
        "pattern",
        Limit::Text {
            min: 1,
            max: guardrails::PATTERN_MAX,
            pattern: None,
        },
    ),
    // Routes and runs.
    ("NewRoute", "name", ROUTE_NAME),
    ("UpdateRoute", "name", ROUTE_NAME),
    ("NewRoute", "description", text(v::COMMENT_MAX)),
    ("UpdateRoute", "description", text(v::COMMENT_MAX)),
    ("NewRoute", "model", name(routes::MODEL_MAX)),
    ("UpdateRoute", "model", name(routes::MODEL_MAX)),
    ("NewRoute", "approval_cost_above", integer((0, i64::MAX))),
    ("UpdateRoute", "approval_cost_above", integer((0, i64::MAX))),
    (
        "NewRoute",
        "approval_timeout_minutes",
        integer((1, routes::TIMEOUT_MAX as i64)),
    ),
    (
        "UpdateRoute",
        "approval_timeout_minutes",
        integer((1, routes::TIMEOUT_MAX as i64)),
    ),
    ("NewRoute", "max_output_tokens", integer((1, 1_000_000))),
    ("UpdateRoute", "max_output_tokens", integer((1, 1_000_000))),
    (
        "NewRoute",
        "approver_user_ids",
        Limit::Items {
            max: routes::APPROVERS_MAX,
        },
    ),
    (
        "UpdateRoute",
        "approver_user_ids",
        Limit::Items {
            max: routes::APPROVERS_MAX,
        },
    ),
    (
        "NewRoute",
        "approver_group_ids",
        Limit::Items {
            max: routes::APPROVERS_MAX,
        },
    ),
    (
        "UpdateRoute",
        "approver_group_ids",
        Limit::Items {
            max: routes::APPROVERS_MAX,
        },
    ),
    (
        "CreateRun",
        "messages",
        Limit::Items {
            max: runs::MESSAGES_MAX,
        },
    ),
    ("RunMessage", "content", text(v::MESSAGE_MAX)),
    (
        "CreateRun",
        "approvers",
        Limit::Items {
            max: runs::APPROVERS_MAX,
        },
    ),
    ("ResumeRun", "comment", text(v::COMMENT_MAX)),
    // Single sign-on.
    ("SsoProviderInput", "name", name(v::NAME_MAX)),
    ("SsoPolicy", "email_domains", EMAIL_DOMAIN),
    ("SsoProviderInput", "trusted_email_domains", EMAIL_DOMAIN),
];

/// Properties an operation requires although its body's type, shared with another operation,
/// leaves them optional (creating takes what updating may leave out): (method, path, fields).
pub const REQUIRED: &[(&str, &str, &[Field])] = &[
    (
        "post",
        "/api/organisation/groups",
        &[("name", Present::Text)],
    ),
    (
        "post",
        "/api/sso/providers",
        &[("kind", Present::Schema("SsoKind"))],
    ),
    // `null` clears the expiry; leaving the field out is a mistake the service names.
    (
        "patch",
        "/v1/billings/api-keys/{id}/update/",
        &[("expires_at", Present::MayBeNull)],
    ),
];

/// A required field and what it must hold.
pub type Field = (&'static str, Present);

/// What a [`REQUIRED`] field must hold.
#[derive(Clone, Copy, Debug)]
pub enum Present {
    /// Any value, `null` included.
    MayBeNull,
    /// A string (not `null`).
    Text,
    /// A value of this component schema (not `null`).
    Schema(&'static str),
}

/// Writes every limit of [`LIMITS`] into `doc`. Returns the rows that matched no property (none,
/// unless a type or field was renamed; the test below fails then).
pub fn document(doc: &mut OpenApi) -> Vec<(&'static str, &'static str)> {
    let mut unmatched = Vec::new();
    for (method, path, fields) in REQUIRED {
        if !require(doc, method, path, fields) {
            unmatched.push((*path, *method));
        }
    }
    let Some(components) = doc.components.as_mut() else {
        return unmatched;
    };
    for (schema_name, property, limit) in LIMITS {
        let target = components
            .schemas
            .get_mut(*schema_name)
            .and_then(|schema| match schema {
                RefOr::T(Schema::Object(object)) => object.properties.get_mut(*property),
                _ => None,
            });
        match (target, limit) {
            // A closed list replaces whatever the property was (an enum of the contract, say,
            // of which the service accepts only some values).
            (Some(RefOr::T(Schema::Array(array))), Limit::OneOf(values)) => {
                if let ArrayItems::RefOrSchema(items) = &mut array.items {
                    **items = one_of(items, values());
                }
            }
            (Some(target), Limit::OneOf(values)) => *target = one_of(target, values()),
            (Some(RefOr::T(schema)), _) => {
                if !apply(schema, limit) {
                    unmatched.push((*schema_name, *property));
                }
            }
            _ => unmatched.push((*schema_name, *property)),
        }
    }
    unmatched
}

/// Makes `fields` required in the JSON body of `method path`: its schema becomes `allOf` the
/// shared type and the requirement. False when there is no such body.
fn require(doc: &mut OpenApi, method: &str, path: &str, fields: &[Field]) -> bool {
    let Some(item) = doc.paths.paths.get_mut(path) else {
        return false;
    };
    let operation = match method {
        "post" => item.post.as_mut(),
        "put" => item.put.as_mut(),
        "patch" => item.patch.as_mut(),
        _ => None,
    };
    let Some(content) = operation
        .and_then(|op| op.request_body.as_mut())
        .and_then(|body| body.content.get_mut("application/json"))
    else {
        return false;
    };
    let Some(shared) = content.schema.take() else {
        return false;
    };
    let mut requirement = ObjectBuilder::new();
    for (field, present) in fields {
        requirement = requirement.required(*field);
        requirement = match present {
            Present::MayBeNull => requirement,
            Present::Text => requirement.property(
                *field,
                ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)),
            ),
            Present::Schema(name) => requirement.property(*field, Ref::from_schema_name(*name)),
        };
    }
    content.schema = Some(RefOr::T(Schema::AllOf(
        AllOfBuilder::new()
            .item(shared)
            .item(requirement.build())
            .build(),
    )));
    true
}

/// A string property holding one of `values`, and `null` if `was` allowed it (an `Option<…>`
/// is `[type, "null"]`, or `oneOf` null and a reference).
fn one_of(was: &RefOr<Schema>, values: Vec<&'static str>) -> RefOr<Schema> {
    let nullable = match was {
        RefOr::T(Schema::Object(o)) => {
            matches!(&o.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
        }
        RefOr::T(Schema::OneOf(one)) => one.items.iter().any(|item| {
            matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
        }),
        _ => false,
    };
    let mut values: Vec<serde_json::Value> = values.into_iter().map(Into::into).collect();
    let schema_type = if nullable {
        values.push(serde_json::Value::Null);
        SchemaType::Array(vec![Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(schema_type)
            .enum_values(Some(values))
            .build(),
    ))
}

/// Writes `limit` into `schema` (into its items if it is an array); false if it has no place
/// for it (a reference, a `oneOf`), so a limit is never silently dropped.
fn apply(schema: &mut Schema, limit: &Limit) -> bool {
    if let (Schema::Array(array), Limit::Items { max }) = (&mut *schema, limit) {
        array.max_items = Some(*max);
        return true;
    }
    let Schema::Object(object) = schema else {
        return match schema {
            Schema::Array(array) => match &mut array.items {
                ArrayItems::RefOrSchema(items) => match items.as_mut() {
                    RefOr::T(item) => apply(item, limit),
                    RefOr::Ref(_) => false,
                },
                ArrayItems::False => false,
            },
            _ => false,
        };
    };
    match limit {
        Limit::Text { min, max, pattern } => {
            object.min_length = (*min > 0).then_some(*min);
            object.max_length = (*max < usize::MAX).then_some(*max);
            object.pattern = pattern.map(str::to_owned);
        }
        Limit::Integer { min, max } => {
            object.minimum = Some((*min).into());
            object.maximum = Some((*max).into());
        }
        Limit::Number { min, max } => {
            object.minimum = Some((*min).into());
            object.maximum = Some((*max).into());
        }
        Limit::OneOf(_) | Limit::Items { .. } => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_names_a_real_property() {
        let mut doc = crate::router::openapi_without_limits();
        let unmatched = document(&mut doc);
        assert!(
            unmatched.is_empty(),
            "limits for properties the document does not have: {unmatched:?}"
        );
    }
}
