//! The tenancy walk, generated from the OpenAPI document: organisation A (Acme) holds one of
//! every kind of resource, organisation B (Globex) calls every documented operation that takes a
//! credential — with A's ids wherever a path (or an id-valued query parameter, or a request
//! body) names a resource — and must get 404 in the contract's error body (or the refusal of
//! its credential) and none of A's data: no answer may carry an id, name, email or secret of
//! A's that the request itself did not. A's own view is the same afterwards.
//!
//! Nothing here lists the routes: a new operation is walked as soon as it is documented. It
//! fails `the_walk_covers_every_operation` (and the walk) until the walk knows what each of its
//! path parameters names (`kind_of`, with organisation A seeded with one) and, when it takes a
//! request body, until `BODIES` has a row for it. Operations open to anyone are skipped by
//! `openapi::PUBLIC_OPERATIONS`; which credentials an operation accepts is read from its
//! `security`.

use std::collections::{BTreeMap, BTreeSet};

use aerie_backend::config::DbKind;
use aerie_bench::FakeUpstream;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::openapi::PUBLIC_OPERATIONS;
use crate::support::chat::parse_sse;
use crate::support::{PASSWORD, TestApp, ok_listener};

const THIS_FILE: &str = "server/tests/api/tenancy_walk.rs";

/// What a path (or query) parameter names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Agent,
    ApiKey,
    Conversation,
    Message,
    Group,
    User,
    Provider,
    SsoProvider,
    Identity,
    KnowledgeBase,
    Category,
    Document,
    /// An organisation's slug (`/v1/orgs/{slug}/`).
    OrgSlug,
    /// A knowledge base's slug (the `domain` of `/v1/query/`; in bodies only, no path names
    /// one yet).
    KnowledgeBaseSlug,
    /// A single sign-on kind, e.g. `github` (`/auth/{provider}/…`).
    SsoProtocol,
    /// An organisation's id (the operator's `/api/operator/organizations/{id}`).
    Organization,
    /// An email domain an organisation claims for single sign-on
    /// (`/api/operator/sso-domains/{domain}`).
    SsoDomain,
    /// A route (an organisation's policy for runs).
    Route,
    /// A governed run.
    Run,
}

/// The kind a parameter names, from its schema's `$ref` (ids are distinct types in the
/// contract, `contract/src/ids.rs`) or, for plain strings, from its name.
fn kind_of(param: &Value) -> Option<Kind> {
    let schema = &param["schema"];
    let reference = schema["$ref"].as_str().or_else(|| {
        schema["oneOf"]
            .as_array()?
            .iter()
            .find_map(|s| s["$ref"].as_str())
    });
    match reference {
        Some(r) => match r.strip_prefix("#/components/schemas/")? {
            "AgentId" => Some(Kind::Agent),
            "ApiKeyId" => Some(Kind::ApiKey),
            "ConversationId" => Some(Kind::Conversation),
            "MessageId" => Some(Kind::Message),
            "GroupId" => Some(Kind::Group),
            "UserId" => Some(Kind::User),
            "ProviderId" => Some(Kind::Provider),
            "SsoProviderId" => Some(Kind::SsoProvider),
            "IdentityId" => Some(Kind::Identity),
            "KbId" => Some(Kind::KnowledgeBase),
            "CategoryId" => Some(Kind::Category),
            "DocumentId" => Some(Kind::Document),
            "OrgId" => Some(Kind::Organization),
            "RouteId" => Some(Kind::Route),
            "RunId" => Some(Kind::Run),
            _ => None,
        },
        None => match param["name"].as_str()? {
            "slug" => Some(Kind::OrgSlug),
            "provider" => Some(Kind::SsoProtocol),
            "domain" => Some(Kind::SsoDomain),
            _ => None,
        },
    }
}

/// What one organisation holds: for each kind, `(label, value)` of every seeded one.
#[derive(Default)]
struct Org {
    ids: BTreeMap<Kind, Vec<(String, String)>>,
}

impl Org {
    fn add(&mut self, kind: Kind, label: &str, value: &str) {
        self.ids
            .entry(kind)
            .or_default()
            .push((label.to_owned(), value.to_owned()));
    }

    fn all(&self, kind: Kind) -> Vec<String> {
        self.ids
            .get(&kind)
            .map(|v| v.iter().map(|(_, id)| id.clone()).collect())
            .unwrap_or_default()
    }

    fn one(&self, kind: Kind) -> String {
        self.all(kind).into_iter().next().expect("a seeded id")
    }

    /// The value seeded under `label`.
    fn get(&self, kind: Kind, label: &str) -> String {
        self.ids
            .get(&kind)
            .and_then(|v| v.iter().find(|(l, _)| l == label))
            .map(|(_, id)| id.clone())
            .expect("a seeded id")
    }
}

/// Both organisations and the addresses the bodies need.
struct Seed {
    a: Org,
    b: Org,
    /// The fake upstream's base URL (for providers).
    upstream: String,
    /// A loopback identity provider that answers 200 to everything (for SSO providers).
    idp: String,
}

/// A request body. `refs` names the fields that carry organisation A's ids: a 400 that names
/// one of them is an acceptable refusal. A body without `refs` is B's own request when the path
/// names nothing of A's; it is then sent as is and its answer only checked for A's data.
struct Body {
    json: Value,
    refs: &'static [&'static str],
}

fn body(json: Value) -> Body {
    Body { json, refs: &[] }
}

fn naming(refs: &'static [&'static str], json: Value) -> Body {
    Body { json, refs }
}

type Bodies = fn(&Seed) -> Vec<Body>;

/// A body with this key is sent as `multipart/form-data` (document uploads), its other fields
/// as parts.
const MULTIPART: &str = "$multipart";

/// A valid body for every operation that takes one (a new operation with a request body fails
/// the walk until it has a row here).
const BODIES: &[(&str, Bodies)] = &[
    ("POST /api/agents", |s| {
        vec![
            naming(
                &["provider_id"],
                json!({"name": "Walk agent", "model": "fake-model",
                       "provider_id": s.a.one(Kind::Provider)}),
            ),
            naming(
                &["group_ids"],
                json!({"name": "Walk agent", "model": "fake-model",
                       "provider_id": s.b.one(Kind::Provider),
                       "visibility": "groups", "group_ids": [s.a.one(Kind::Group)]}),
            ),
            naming(
                &["knowledge_base_ids"],
                json!({"name": "Walk agent", "model": "fake-model",
                       "provider_id": s.b.one(Kind::Provider),
                       "knowledge_base_ids": s.a.all(Kind::KnowledgeBase)}),
            ),
        ]
    }),
    ("PATCH /api/agents/{id}", |s| {
        vec![
            body(json!({"name": "Walk renamed"})),
            naming(
                &["provider_id"],
                json!({"provider_id": s.a.one(Kind::Provider)}),
            ),
            naming(
                &["group_ids"],
                json!({"visibility": "groups", "group_ids": [s.a.one(Kind::Group)]}),
            ),
            naming(
                &["knowledge_base_ids"],
                json!({"knowledge_base_ids": s.a.all(Kind::KnowledgeBase)}),
            ),
        ]
    }),
    ("POST /api/knowledge", |s| {
        vec![
            body(json!({"name": "Walk knowledge"})),
            naming(
                &["group_ids"],
                json!({"name": "Walk knowledge", "visibility": "groups",
                       "group_ids": [s.a.one(Kind::Group)]}),
            ),
            naming(
                &["embedding.provider_id"],
                json!({"name": "Walk knowledge", "embedding":
                       {"provider_id": s.a.one(Kind::Provider), "model": "fake-embed"}}),
            ),
        ]
    }),
    ("PATCH /api/knowledge/{id}", |s| {
        vec![
            body(json!({"name": "Walk knowledge renamed"})),
            naming(
                &["group_ids"],
                json!({"visibility": "groups", "group_ids": [s.a.one(Kind::Group)]}),
            ),
            naming(
                &["embedding.provider_id"],
                json!({"embedding": {"provider_id": s.a.one(Kind::Provider), "model": "m"}}),
            ),
        ]
    }),
    ("POST /api/knowledge/{id}/categories", |_| {
        vec![body(json!({"name": "Walk category"}))]
    }),
    ("PATCH /api/knowledge/{id}/categories/{category_id}", |_| {
        vec![body(json!({"name": "Walk category renamed"}))]
    }),
    ("POST /api/agents/{id}/duplicate", |_| {
        vec![body(json!({"name": "Walk copy"}))]
    }),
    ("POST /api/api-keys", |_| {
        vec![body(json!({"name": "Walk key"}))]
    }),
    ("POST /v1/billings/api-keys/", |_| {
        vec![body(json!({"name": "Walk key"}))]
    }),
    ("PATCH /v1/billings/api-keys/{id}/update/", |_| {
        vec![body(json!({"expires_at": null}))]
    }),
    ("POST /api/chat", |s| {
        let mut out: Vec<Body> =
            s.a.all(Kind::Agent)
                .into_iter()
                .map(|a| naming(&["agent_id"], json!({"agent_id": a, "message": "walk"})))
                .collect();
        out.extend(s.a.all(Kind::Conversation).into_iter().map(|c| {
            naming(
                &["conversation_id"],
                json!({"conversation_id": c, "message": "walk"}),
            )
        }));
        out
    }),
    ("POST /api/knowledge/{id}/documents", |s| {
        vec![
            body(json!({MULTIPART: true, "file": "Globex walk notes"})),
            naming(
                &["category_id"],
                json!({MULTIPART: true, "file": "Globex walk notes",
                       "category_id": s.a.one(Kind::Category)}),
            ),
        ]
    }),
    ("POST /api/knowledge/{id}/search", |s| {
        let mut out = vec![body(
            json!({"query": "secret knowledge handbook vault code"}),
        )];
        out.extend(
            s.a.all(Kind::Category)
                .into_iter()
                .map(|c| naming(&["category_id"], json!({"query": "walk", "category_id": c}))),
        );
        out.extend(s.a.all(Kind::Document).into_iter().map(|d| {
            naming(
                &["document_ids"],
                json!({"query": "walk", "document_ids": [d]}),
            )
        }));
        out
    }),
    ("POST /v1/rag/index", |s| {
        let mut out = vec![body(json!({"knowledge_base": s.b.one(Kind::KnowledgeBase),
                                       "documents": [{"text": "Globex walk notes"}]}))];
        out.extend(s.a.all(Kind::KnowledgeBase).into_iter().map(|k| {
            naming(
                &["knowledge_base"],
                json!({"knowledge_base": k, "documents": [{"text": "walk"}]}),
            )
        }));
        out
    }),
    ("POST /v1/rag/query", |s| {
        let mut out = vec![body(
            json!({"query": "secret knowledge handbook vault code"}),
        )];
        out.extend(s.a.all(Kind::KnowledgeBase).into_iter().map(|k| {
            naming(
                &["knowledge_base"],
                json!({"query": "walk", "knowledge_base": k}),
            )
        }));
        out
    }),
    ("POST /v1/query/", query_bodies),
    ("POST /v1/query", query_bodies),
    ("POST /api/chat/{msgId}/feedback", |_| {
        vec![body(json!({"rating": "up", "comment": "walk"}))]
    }),
    ("POST /api/chat/{msgId}/dlp-decision", |_| {
        vec![body(json!({"decision": "allow"}))]
    }),
    // B's own route: it may name A's agents or people only to be refused.
    ("POST /api/routes", |s| {
        let mut out = vec![body(json!({"name": "globex-walk"}))];
        out.extend(
            s.a.all(Kind::Agent)
                .into_iter()
                .map(|a| naming(&["agent_id"], json!({"name": "walk-agent", "agent_id": a}))),
        );
        out.extend(s.a.all(Kind::User).into_iter().map(|u| {
            naming(
                &["approver_user_ids"],
                json!({"name": "walk-approver", "approver_user_ids": [u]}),
            )
        }));
        out.extend(s.a.all(Kind::Group).into_iter().map(|g| {
            naming(
                &["approver_group_ids"],
                json!({"name": "walk-group", "approver_group_ids": [g]}),
            )
        }));
        out
    }),
    ("PATCH /api/routes/{id}", |_| {
        vec![body(json!({"description": "Walk"}))]
    }),
    ("POST /v1/runs", |s| {
        let mut out = vec![body(
            json!({"messages": [{"role": "user", "content": "Globex walk run"}]}),
        )];
        out.push(naming(
            &["route"],
            json!({"messages": [{"role": "user", "content": "walk"}], "route": "acme-reviewed"}),
        ));
        out.extend(s.a.all(Kind::User).into_iter().map(|u| {
            naming(
                &["approvers"],
                json!({"messages": [{"role": "user", "content": "walk"}], "approvers": [u]}),
            )
        }));
        out
    }),
    ("POST /v1/runs/{id}/resume", |_| {
        vec![body(json!({"decision": "approved"}))]
    }),
    // B's own policy: the operation names nothing of A.
    ("PUT /api/guardrails/policy", |_| {
        vec![body(
            json!({"rules": [{"detector": "email", "action": "allow"}], "patterns": [], "scan_output": false}),
        )]
    }),
    ("POST /api/conversations", |s| {
        s.a.all(Kind::Agent)
            .into_iter()
            .map(|a| naming(&["agent_id"], json!({"agent_id": a})))
            .collect()
    }),
    ("PATCH /api/conversations/{id}", |_| {
        vec![body(json!({"title": "Walk"}))]
    }),
    ("POST /api/conversations/{id}/branch", |s| {
        s.a.all(Kind::Message)
            .into_iter()
            .map(|m| naming(&["message_id"], json!({"message_id": m})))
            .collect()
    }),
    // The instance operator's: organisation B's owner is not the operator (403 for every one).
    ("POST /api/operator/organizations", |_| {
        vec![body(
            json!({"name": "Walk tenant", "owner_email": "walk@tenant.test"}),
        )]
    }),
    ("POST /api/operator/sso-domains/{domain}", |_| {
        vec![body(json!({"status": "rejected"}))]
    }),
    ("POST /api/operator/plans", |_| {
        vec![body(
            json!({"slug": "walk", "name": "Walk", "monthly_credits": 1}),
        )]
    }),
    ("POST /api/operator/prices", |_| {
        vec![body(
            json!({"model": "walk-model", "input_per_mtok": 1, "output_per_mtok": 1}),
        )]
    }),
    ("POST /api/operator/organizations/{id}/plan", |_| {
        vec![body(json!({"plan": "pro"}))]
    }),
    // The licence is the operator's too (403 for B's owner).
    ("POST /api/license/apply", |_| {
        vec![body(json!({"license_key": "eyJ.walk.licence"}))]
    }),
    ("PATCH /api/organisation", |_| {
        vec![body(json!({"public": false}))]
    }),
    ("POST /api/organisation/groups", |_| {
        vec![body(json!({"name": "Walk group"}))]
    }),
    ("PATCH /api/organisation/groups/{id}", |_| {
        vec![body(json!({"name": "Walk group renamed"}))]
    }),
    ("POST /api/organisation/groups/{id}/members", |s| {
        let mut out = vec![body(json!({"user_id": s.b.get(Kind::User, "member")}))];
        out.extend(
            s.a.all(Kind::User)
                .into_iter()
                .map(|u| naming(&["user_id"], json!({"user_id": u}))),
        );
        out
    }),
    ("POST /api/providers", |s| {
        vec![body(
            json!({"name": "Walk upstream", "base_url": s.upstream, "api_key": "sk-walk"}),
        )]
    }),
    ("PATCH /api/providers/{id}", |_| {
        vec![body(json!({"name": "Walk upstream renamed"}))]
    }),
    ("PUT /api/sso/policy", |_| {
        vec![
            body(json!({"email_domains": [], "jit_provisioning": false, "sso_only": false})),
            // A's domain: an email domain belongs to one organisation.
            naming(
                &["email_domains"],
                json!({"email_domains": ["acme.test"], "jit_provisioning": false,
                       "sso_only": false}),
            ),
        ]
    }),
    ("POST /api/sso/providers", |s| {
        vec![
            body(
                json!({"kind": "github", "name": "Walk GitHub", "issuer": s.idp,
                        "client_id": "walk", "client_secret": "walk-secret"}),
            ),
            naming(
                &["trusted_email_domains"],
                json!({"kind": "github", "name": "Walk GitHub 2", "issuer": s.idp,
                       "client_id": "walk", "client_secret": "walk-secret",
                       "trusted_email_domains": ["acme.test"]}),
            ),
        ]
    }),
    ("PATCH /api/sso/providers/{id}", |_| {
        vec![body(json!({"name": "Walk SSO renamed"}))]
    }),
    ("POST /api/users", |_| {
        vec![
            body(json!({"email": "walk@globex.test"})),
            // TODO(lead): B's admin inviting A's member answers 409 "email is already taken"
            // (emails are one namespace for the instance: `services::users::invite` looks the
            // email up with `find_by_email_global`), so an admin of any organisation can tell
            // which emails have an account here. Nothing of A's is in the answer; decide whether
            // the invitation should be created (or refused) without saying why.
            body(json!({"email": "mia@acme.test"})),
        ]
    }),
    ("PATCH /api/users/{id}", |_| {
        vec![
            body(json!({"status": "disabled"})),
            body(json!({"role": "member"})),
        ]
    }),
    ("PUT /auth/admin/signup-settings", |_| {
        vec![body(
            json!({"mode": "invite_only", "default_role": "member"}),
        )]
    }),
    ("POST /auth/update-profile", |_| {
        vec![body(json!({"name": "Bob"}))]
    }),
    ("POST /v1/chat", |s| {
        let mut out: Vec<Body> =
            s.a.all(Kind::Agent)
                .into_iter()
                .map(|a| naming(&["agent_id"], json!({"agent_id": a, "message": "walk"})))
                .collect();
        // A `session_id` is the caller's own tracking key: naming one of A's conversations
        // starts a conversation of B's (A's stays as it was, checked at the end).
        out.push(body(json!({"agent_id": s.b.one(Kind::Agent),
                             "session_id": s.a.one(Kind::Conversation), "message": "walk"})));
        out
    }),
    ("POST /v1/chat/completions", |s| {
        let mut out: Vec<Body> =
            s.a.all(Kind::Agent)
                .into_iter()
                .map(|a| {
                    naming(
                        &["model"],
                        json!({"model": a, "messages": [{"role": "user", "content": "walk"}]}),
                    )
                })
                .collect();
        // By name, too.
        out.push(naming(
            &["model"],
            json!({"model": ACME_ORG_AGENT, "messages": [{"role": "user", "content": "walk"}]}),
        ));
        out
    }),
    ("PATCH /v1/orgs/{slug}/", |_| {
        vec![body(json!({"name": "Walk org"}))]
    }),
    ("POST /v1/sessions/{id}/rename/", |_| {
        vec![body(json!({"title": "Walk"}))]
    }),
];

/// `POST /v1/query/` (and without the slash): B's own domain, A's domains by slug and by id,
/// and A's agents as the model.
fn query_bodies(s: &Seed) -> Vec<Body> {
    let own = s.b.one(Kind::KnowledgeBaseSlug);
    let mut out = vec![
        body(json!({"query": "secret knowledge handbook vault code", "domain": own})),
        // A `session_id` is the caller's own tracking key (as on `/v1/chat`): naming one of
        // A's conversations starts a session of B's.
        body(json!({"query": "walk", "domain": own,
                    "session_id": s.a.one(Kind::Conversation)})),
    ];
    // A's domains by slug, and by id (a domain is named by its slug only).
    out.extend(
        s.a.all(Kind::KnowledgeBaseSlug)
            .into_iter()
            .chain(s.a.all(Kind::KnowledgeBase))
            .map(|d| naming(&["domain"], json!({"query": "walk", "domain": d}))),
    );
    // A's agents as the model.
    out.extend(s.a.all(Kind::Agent).into_iter().map(|a| {
        naming(
            &["model"],
            json!({"query": "walk", "domain": own, "model": a}),
        )
    }));
    out
}

/// One documented operation the walk calls.
#[derive(Debug)]
struct Op {
    /// `METHOD /template`, as in `PUBLIC_OPERATIONS` and `BODIES`.
    key: String,
    method: Method,
    template: String,
    path_params: Vec<(String, Kind)>,
    /// Parameters outside the path template whose schema names a resource: sent as query
    /// parameters with A's ids (or left out).
    query_params: Vec<(String, Kind)>,
    /// The security schemes the operation accepts.
    schemes: BTreeSet<String>,
    bodies: Option<Bodies>,
}

/// The operations to walk, or what stops the walk from covering the document (each problem
/// says how to fix it).
fn plan(doc: &Value) -> Result<Vec<Op>, Vec<String>> {
    let mut ops = Vec::new();
    let mut problems = Vec::new();
    let mut used_bodies = BTreeSet::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("responses").is_none() {
                continue; // path-level fields (parameters, summary)
            }
            let key = format!("{} {template}", method.to_uppercase());
            if PUBLIC_OPERATIONS.contains(&key.as_str()) {
                continue;
            }
            let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
            let placeholders: Vec<&str> = template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let mut path_params = Vec::new();
            for name in &placeholders {
                let param = params.iter().find(|p| p["name"] == *name);
                match param.and_then(|p| kind_of(p)) {
                    Some(kind) => path_params.push(((*name).to_owned(), kind)),
                    None => problems.push(format!(
                        "{key}: the walk cannot tell what `{{{name}}}` names (schema {}). Add its \
                         schema's $ref (or its name) to `kind_of` in {THIS_FILE}, and seed \
                         organisation A with one in `seed_acme`.",
                        param.map_or(Value::Null, |p| p["schema"].clone())
                    )),
                }
            }
            let query_params = params
                .iter()
                .filter(|p| {
                    p["name"]
                        .as_str()
                        .is_some_and(|n| !placeholders.contains(&n))
                })
                .filter_map(|p| Some((p["name"].as_str()?.to_owned(), kind_of(p)?)))
                .collect();
            let mut schemes = BTreeSet::new();
            for requirement in op["security"].as_array().into_iter().flatten() {
                schemes.extend(
                    requirement
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone()),
                );
            }
            let row = BODIES.iter().find(|(k, _)| *k == key);
            let bodies = match (op.get("requestBody").is_some(), row) {
                (true, Some((k, f))) => {
                    used_bodies.insert(*k);
                    Some(*f)
                }
                (true, None) => {
                    problems.push(format!(
                        "{key} takes a request body: add a row to `BODIES` in {THIS_FILE} \
                         with a valid body (use `naming` for fields that carry another \
                         resource's id, so the walk sends A's ids there)."
                    ));
                    None
                }
                (false, _) => None,
            };
            ops.push(Op {
                key,
                method: Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                template: template.clone(),
                path_params,
                query_params,
                schemes,
                bodies,
            });
        }
    }
    for (k, _) in BODIES {
        if !used_bodies.contains(k) {
            problems.push(format!(
                "`BODIES` in {THIS_FILE} has a row for {k}, which is not a documented \
                 operation taking a body with a credential: remove or fix the row."
            ));
        }
    }
    if problems.is_empty() {
        Ok(ops)
    } else {
        Err(problems)
    }
}

/// Every operation of the generated document can be walked (no server needed): a new route
/// whose parameters or body the walk does not know fails here, saying what to add.
#[test]
fn the_walk_covers_every_operation() {
    let doc = serde_json::to_value(aerie_server::router::openapi()).expect("json");
    match plan(&doc) {
        Ok(ops) => assert!(ops.len() > 60, "only {} operations walked", ops.len()),
        Err(problems) => panic!("{}", problems.join("\n")),
    }
}

/// One way B presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cred {
    Jwt,
    Session,
    KeyAsBearer,
    KeyAsHeader,
}

impl Cred {
    const ALL: [Cred; 4] = [
        Cred::Jwt,
        Cred::Session,
        Cred::KeyAsBearer,
        Cred::KeyAsHeader,
    ];

    /// The security scheme of the document that covers this credential.
    fn scheme(self) -> &'static str {
        match self {
            Cred::Jwt => "bearer_jwt",
            Cred::Session => "cookie",
            Cred::KeyAsBearer => "api_key",
            Cred::KeyAsHeader => "x_api_key",
        }
    }
}

/// A person of organisation B, with their credentials (a browser session for the owner only:
/// each sign-in costs an argon2 hash).
struct Caller {
    jwt: String,
    key: String,
    browser: Option<reqwest::Client>,
}

impl Caller {
    fn has(&self, cred: Cred) -> bool {
        cred != Cred::Session || self.browser.is_some()
    }
}

/// Sends one request; answers the status and the body's text.
async fn send(
    app: &TestApp,
    caller: &Caller,
    cred: Cred,
    method: &Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let url = app.url(path);
    let mut req = match cred {
        Cred::Session => caller
            .browser
            .as_ref()
            .expect("a browser session")
            .request(method.clone(), url)
            .header("origin", format!("http://{}", app.addr)),
        Cred::Jwt => app
            .client
            .request(method.clone(), url)
            .bearer_auth(&caller.jwt),
        Cred::KeyAsBearer => app
            .client
            .request(method.clone(), url)
            .bearer_auth(&caller.key),
        Cred::KeyAsHeader => app
            .client
            .request(method.clone(), url)
            .header("x-api-key", &caller.key),
    };
    if let Some(b) = body {
        req = match b.get(MULTIPART) {
            // A multipart form: each string field a part, `file` as a file.
            Some(_) => {
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in b.as_object().into_iter().flatten() {
                    let text = v.as_str().unwrap_or_default().to_owned();
                    form = match k.as_str() {
                        MULTIPART => form,
                        "file" => form.part(
                            "file",
                            reqwest::multipart::Part::bytes(text.into_bytes())
                                .file_name("walk.txt"),
                        ),
                        other => form.text(other.to_owned(), text),
                    };
                }
                req.multipart(form)
            }
            None => req.json(b),
        };
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// The contract's error body (`ErrorBody`): its code and `param`, if `text` is one.
fn contract_error(text: &str) -> Option<(String, Option<String>)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let detail = v["detail"].as_str().filter(|d| !d.is_empty())?;
    let error = &v["error"];
    if error["message"] != detail
        || ["type", "what", "why", "fix"]
            .iter()
            .any(|f| error[*f].as_str().is_none_or(str::is_empty))
        || error.get("param").is_none()
    {
        return None;
    }
    Some((
        error["code"].as_str()?.to_owned(),
        error["param"].as_str().map(str::to_owned),
    ))
}

/// A's strings that must not reach B, besides A's ids and secrets: every name and email of A's
/// contains one of them.
const ACME_TEXT: &[&str] = &["Acme", "acme", "Olive Owner"];
const ACME_ORG_AGENT: &str = "Acme org agent";

/// `text` shows one of `markers` the request itself did not carry (an answer that echoes what
/// the caller sent tells them nothing).
fn leaked<'m>(markers: &'m [String], request: &str, text: &str) -> Option<&'m str> {
    markers
        .iter()
        .find(|m| !request.contains(m.as_str()) && text.contains(m.as_str()))
        .map(String::as_str)
}

/// One request of the walk.
struct Call {
    path: String,
    body: Option<Value>,
    /// Whether the request names one of A's resources (else it is B's own request).
    names_a: bool,
    /// Fields and query parameters that carry A's ids (a 400 naming one is a refusal).
    refs: Vec<String>,
}

/// Query parameters as `(name, value)`.
type Query = Vec<(String, String)>;

/// Every value of one slot: `(value, is A's)`.
fn options(seed: &Seed, kind: Kind, with_b: bool) -> Result<Vec<(String, bool)>, String> {
    let a = seed.a.all(kind);
    if a.is_empty() {
        return Err(format!(
            "organisation A has no {kind:?}: seed one in `seed_acme` ({THIS_FILE})"
        ));
    }
    let mut out: Vec<(String, bool)> = a.into_iter().map(|v| (v, true)).collect();
    if with_b {
        out.extend(seed.b.all(kind).into_iter().map(|v| (v, false)));
    }
    Ok(out)
}

/// The requests that walk `op`: each path parameter takes A's values and B's (B's group with
/// A's member, B's conversation branched at A's message), each id-valued query parameter is
/// left out or takes A's values, each body is sent; combinations naming nothing of A's are
/// kept only for operations without path parameters (B's own lists and writes).
fn calls(op: &Op, seed: &Seed) -> Result<Vec<Call>, String> {
    let mut paths: Vec<(String, bool)> = vec![(op.template.clone(), false)];
    for (name, kind) in &op.path_params {
        let values = options(seed, *kind, true)?;
        paths = paths
            .iter()
            .flat_map(|(p, a)| {
                values
                    .iter()
                    .map(move |(v, mine)| (p.replace(&format!("{{{name}}}"), v), *a || *mine))
            })
            .collect();
    }
    // (query parameters, the names of those that carry A's ids)
    let mut queries: Vec<(Query, Vec<String>)> = vec![(Vec::new(), Vec::new())];
    for (name, kind) in &op.query_params {
        let values = options(seed, *kind, false)?;
        let mut next = queries.clone();
        for (q, refs) in &queries {
            for (v, _) in &values {
                let mut q = q.clone();
                q.push((name.clone(), v.clone()));
                let mut refs = refs.clone();
                refs.push(name.clone());
                next.push((q, refs));
            }
        }
        queries = next;
    }
    let bodies: Vec<Option<Body>> = match op.bodies {
        Some(f) => f(seed).into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut out = Vec::new();
    for (path, path_names_a) in &paths {
        for (query, query_refs) in &queries {
            for b in &bodies {
                let body_refs = b.as_ref().map_or(&[][..], |b| b.refs);
                let names_a = *path_names_a || !query_refs.is_empty() || !body_refs.is_empty();
                if !names_a && !op.path_params.is_empty() {
                    continue;
                }
                let mut full = path.clone();
                for (i, (k, v)) in query.iter().enumerate() {
                    full.push(if i == 0 { '?' } else { '&' });
                    full.push_str(&format!("{k}={v}"));
                }
                let mut refs = query_refs.clone();
                refs.extend(body_refs.iter().map(|r| (*r).to_owned()));
                out.push(Call {
                    path: full,
                    body: b.as_ref().map(|b| b.json.clone()),
                    names_a,
                    refs,
                });
            }
        }
    }
    Ok(out)
}

/// `method path` as `jwt`, expecting `status`; answers the JSON body.
async fn expect(
    app: &TestApp,
    method: Method,
    path: &str,
    jwt: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (got, answer) = app.authed(method.clone(), path, jwt, body).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Uploads `text` as a document of knowledge base `kb`; answers its id.
async fn upload(app: &TestApp, jwt: &str, kb: &str, name: &str, text: &str) -> String {
    let res = app
        .client
        .post(app.url(&format!("/api/knowledge/{kb}/documents")))
        .bearer_auth(jwt)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name.to_owned()),
        ))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 201);
    let up: Value = res.json().await.expect("json");
    up[0]["document"]["id"].as_str().expect("id").to_owned()
}

/// One chat turn through `/api/chat` as `jwt`: `(conversation, user message, answer)`.
async fn chat(app: &TestApp, jwt: &str, body: Value) -> (String, String, String) {
    let res = app
        .client
        .post(app.url("/api/chat"))
        .bearer_auth(jwt)
        .json(&body)
        .send()
        .await
        .expect("chat");
    let status = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    let events = parse_sse(&text);
    assert_eq!(
        events.last().map(|e| e.0.as_str()),
        Some("done"),
        "{events:?}"
    );
    let start: Value = serde_json::from_str(&events[0].1).expect("start");
    let s = |k: &str| start[k].as_str().expect("start id").to_owned();
    (s("conversation_id"), s("user_message_id"), s("message_id"))
}

/// The id of the member with `email` in a `/api/users` list.
fn user_id(users: &Value, email: &str) -> String {
    users
        .as_array()
        .and_then(|u| u.iter().find(|u| u["email"] == email))
        .map(id)
        .expect("member listed")
}

/// Organisation A as seeded.
struct Acme {
    org: Org,
    /// Secrets of A's that must never reach B (its API key first).
    secrets: Vec<String>,
    owner_jwt: String,
    member_jwt: String,
}

/// Organisation A with one of every resource, through the API (the linked identity through the
/// store: it comes from a sign-in at an identity provider).
async fn seed_acme(app: &TestApp, upstream: &str, idp: &str) -> Acme {
    use aerie_backend::testing::store;
    use aerie_contract::ids::{OrgId, SsoProviderId, UserId};

    let mut a = Org::default();
    let mut secrets = Vec::new();
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let member_jwt = app.join(&jwt, "mia@acme.test", "member").await;
    // An invitation nobody accepted yet.
    expect(
        app,
        Method::POST,
        "/api/users",
        &jwt,
        Some(json!({"email": "ivy@acme.test"})),
        201,
    )
    .await;
    let users = expect(app, Method::GET, "/api/users", &jwt, None, 200).await;
    for (label, email) in [("owner", "owner@acme.test"), ("member", "mia@acme.test")] {
        a.add(Kind::User, label, &user_id(&users, email));
    }
    // Someone on the waitlist.
    expect(
        app,
        Method::PUT,
        "/auth/admin/signup-settings",
        &jwt,
        Some(json!({"mode": "waitlist", "default_role": "member"})),
        200,
    )
    .await;
    let (status, pending) = app
        .post_json(
            "/auth/pending-signup",
            json!({"email": "wes@acme.test", "password": PASSWORD, "name": "Acme Waiting",
                   "organization": "acme"}),
        )
        .await;
    assert_eq!(status, 201, "{pending}");
    a.add(
        Kind::User,
        "waitlisted",
        pending["user"]["id"].as_str().expect("id"),
    );

    let group = expect(
        app,
        Method::POST,
        "/api/organisation/groups",
        &jwt,
        Some(json!({"name": "Acme Legal", "description": "Acme counsel"})),
        201,
    )
    .await;
    a.add(Kind::Group, "legal", &id(&group));
    expect(
        app,
        Method::POST,
        &format!("/api/organisation/groups/{}/members", id(&group)),
        &jwt,
        Some(json!({"user_id": a.get(Kind::User, "member")})),
        200,
    )
    .await;

    secrets.push("sk-acme-upstream-0001".to_owned());
    let provider = expect(
        app,
        Method::POST,
        "/api/providers",
        &jwt,
        Some(json!({"name": "Acme Upstream", "base_url": upstream,
                    "api_key": "sk-acme-upstream-0001"})),
        201,
    )
    .await;
    let provider = id(&provider);
    a.add(Kind::Provider, "upstream", &provider);
    for (label, name, visibility) in [
        ("private", "Acme private agent", "private"),
        ("organisation", ACME_ORG_AGENT, "organization"),
        ("groups", "Acme legal agent", "groups"),
        ("published", "Acme published agent", "organization"),
    ] {
        let agent = expect(
            app,
            Method::POST,
            "/api/agents",
            &jwt,
            Some(json!({"name": name, "model": "fake-model", "provider_id": provider,
                        "system_prompt": "Acme's secret prompt", "visibility": visibility,
                        "group_ids": if visibility == "groups" { json!([id(&group)]) } else { json!([]) }})),
            201,
        )
        .await;
        a.add(Kind::Agent, label, &id(&agent));
    }
    // Knowledge bases of every visibility but public (a public one is everyone's to read), a
    // category in each, and the organisation's agent using them.
    for (label, who, name, visibility) in [
        ("private", &jwt, "Acme private handbook", "private"),
        ("member's", &member_jwt, "Acme member notes", "private"),
        ("groups", &jwt, "Acme legal library", "groups"),
        ("organisation", &jwt, "Acme wiki", "organization"),
    ] {
        let kb = expect(
            app,
            Method::POST,
            "/api/knowledge",
            who,
            Some(json!({"name": name, "description": "Acme's secret knowledge",
                        "visibility": visibility,
                        "group_ids": if visibility == "groups" { json!([id(&group)]) } else { json!([]) }})),
            201,
        )
        .await;
        a.add(Kind::KnowledgeBase, label, &id(&kb));
        a.add(
            Kind::KnowledgeBaseSlug,
            label,
            kb["slug"].as_str().expect("slug"),
        );
        let category = expect(
            app,
            Method::POST,
            &format!("/api/knowledge/{}/categories", id(&kb)),
            who,
            Some(json!({"name": format!("{name} chapter")})),
            201,
        )
        .await;
        a.add(Kind::Category, label, &id(&category));
        let doc = upload(
            app,
            who,
            &id(&kb),
            &format!("{name} secret memo.md"),
            &format!("# {name}\n\nAcme secret knowledge: the {label} handbook says the vault code is 4711."),
        )
        .await;
        a.add(Kind::Document, label, &doc);
    }
    expect(
        app,
        Method::PATCH,
        &format!("/api/agents/{}", a.get(Kind::Agent, "organisation")),
        &jwt,
        Some(
            json!({"knowledge_base_ids": [a.get(Kind::KnowledgeBase, "organisation"),
                                           a.get(Kind::KnowledgeBase, "groups")]}),
        ),
        200,
    )
    .await;
    let published = expect(
        app,
        Method::POST,
        &format!("/api/agents/{}/publish", a.get(Kind::Agent, "published")),
        &jwt,
        None,
        200,
    )
    .await;
    assert_eq!(published["published"], true, "{published}");

    let key = expect(
        app,
        Method::POST,
        "/api/api-keys",
        &jwt,
        Some(json!({"name": "Acme key"})),
        201,
    )
    .await;
    a.add(Kind::ApiKey, "owner's", &id(&key));
    secrets.insert(0, key["key"].as_str().expect("key").to_owned());

    // Conversations of the owner and of a member, with messages and usage.
    let org_agent = a.get(Kind::Agent, "organisation");
    for (label, who, message) in [
        ("owner's", &jwt, "Acme question from the owner"),
        ("member's", &member_jwt, "Acme question from a member"),
    ] {
        let (conversation, question, answer) =
            chat(app, who, json!({"agent_id": org_agent, "message": message})).await;
        a.add(Kind::Conversation, label, &conversation);
        a.add(Kind::Message, &format!("{label} question"), &question);
        a.add(Kind::Message, &format!("{label} answer"), &answer);
    }
    aerie_backend::services::usage::flush(&app.ctx).await;
    let logs = expect(app, Method::GET, "/v1/logs", &jwt, None, 200).await;
    assert!(logs.to_string().contains("fake-model"), "{logs}");

    // Single sign-on: a provider, the organisation's domain, and the owner's linked identity.
    let sso = expect(
        app,
        Method::POST,
        "/api/sso/providers",
        &jwt,
        Some(
            json!({"kind": "github", "name": "Acme GitHub", "issuer": idp,
                    "client_id": "acme-github-client", "client_secret": "acme-github-secret"}),
        ),
        201,
    )
    .await;
    a.add(Kind::SsoProvider, "github", &id(&sso));
    a.add(Kind::SsoProtocol, "github", "github");
    secrets.push("acme-github-secret".to_owned());
    expect(
        app,
        Method::PUT,
        "/api/sso/policy",
        &jwt,
        Some(
            json!({"email_domains": ["acme.test"], "jit_provisioning": false,
                    "sso_only": false}),
        ),
        200,
    )
    .await;
    let acme = store::orgs::find_by_slug_global(app.ctx.db(), "acme")
        .await
        .expect("db")
        .expect("acme");
    let parse = |s: String| uuid::Uuid::parse_str(&s).expect("uuid");
    let identity = store::sso::insert_identity(
        app.ctx.db(),
        OrgId(acme.id),
        store::sso::NewIdentity {
            user: UserId(parse(a.get(Kind::User, "owner"))),
            provider: SsoProviderId(parse(id(&sso))),
            subject: "acme-subject-0001",
            email: Some("owner@acme.test"),
            email_verified: true,
            proven_at: None,
        },
        chrono::Utc::now(),
    )
    .await
    .expect("identity");
    a.add(Kind::Identity, "owner's", &identity.id.to_string());
    secrets.push("acme-subject-0001".to_owned());
    a.add(Kind::OrgSlug, "acme", "acme");
    a.add(Kind::Organization, "acme", &acme.id.to_string());
    a.add(Kind::SsoDomain, "acme's", "acme.test");

    // A route that needs approval, with an approver, and a member's run waiting on it.
    let route = expect(
        app,
        Method::POST,
        "/api/routes",
        &jwt,
        Some(
            json!({"name": "acme-reviewed", "description": "Acme reviewed route",
                    "agent_id": org_agent, "approval": "always",
                    "approver_user_ids": [a.get(Kind::User, "owner")]}),
        ),
        201,
    )
    .await;
    a.add(Kind::Route, "reviewed", &id(&route));
    let run = expect(
        app,
        Method::POST,
        "/v1/runs",
        &member_jwt,
        Some(
            json!({"messages": [{"role": "user", "content": "Acme run for review"}],
                    "route": "acme-reviewed"}),
        ),
        201,
    )
    .await;
    assert_eq!(run["status"], "paused", "{run}");
    a.add(Kind::Run, "member's", run["run_id"].as_str().expect("id"));
    Acme {
        org: a,
        secrets,
        owner_jwt: jwt,
        member_jwt,
    }
}

/// Organisation B: an owner (with an API key and a browser session), an admin, a member, a
/// group, a provider, an agent and a conversation (for requests that mix B's ids with A's).
async fn seed_globex(app: &TestApp, upstream: &str) -> (Org, Vec<Caller>) {
    let mut b = Org::default();
    let owner = app.second_org().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let admin_jwt = app.join(&jwt, "gina@globex.test", "admin").await;
    let member_jwt = app.join(&jwt, "gus@globex.test", "member").await;
    let users = expect(app, Method::GET, "/api/users", &jwt, None, 200).await;
    for (label, email) in [
        ("owner", "bob@globex.test"),
        ("admin", "gina@globex.test"),
        ("member", "gus@globex.test"),
    ] {
        b.add(Kind::User, label, &user_id(&users, email));
    }
    let group = expect(
        app,
        Method::POST,
        "/api/organisation/groups",
        &jwt,
        Some(json!({"name": "Globex team"})),
        201,
    )
    .await;
    b.add(Kind::Group, "team", &id(&group));
    expect(
        app,
        Method::POST,
        &format!("/api/organisation/groups/{}/members", id(&group)),
        &jwt,
        Some(json!({"user_id": b.get(Kind::User, "member")})),
        200,
    )
    .await;
    let provider = expect(
        app,
        Method::POST,
        "/api/providers",
        &jwt,
        Some(json!({"name": "Globex upstream", "base_url": upstream})),
        201,
    )
    .await;
    b.add(Kind::Provider, "upstream", &id(&provider));
    let agent = expect(
        app,
        Method::POST,
        "/api/agents",
        &jwt,
        Some(json!({"name": "Globex agent", "model": "fake-model",
                    "provider_id": id(&provider), "visibility": "organization"})),
        201,
    )
    .await;
    b.add(Kind::Agent, "organisation", &id(&agent));
    let kb = expect(
        app,
        Method::POST,
        "/api/knowledge",
        &jwt,
        Some(json!({"name": "Globex wiki", "visibility": "organization"})),
        201,
    )
    .await;
    b.add(Kind::KnowledgeBase, "organisation", &id(&kb));
    b.add(
        Kind::KnowledgeBaseSlug,
        "organisation",
        kb["slug"].as_str().expect("slug"),
    );
    let category = expect(
        app,
        Method::POST,
        &format!("/api/knowledge/{}/categories", id(&kb)),
        &jwt,
        Some(json!({"name": "Globex chapter"})),
        201,
    )
    .await;
    b.add(Kind::Category, "organisation", &id(&category));
    let doc = upload(
        app,
        &jwt,
        &id(&kb),
        "globex.txt",
        "Globex notes about walking.",
    )
    .await;
    b.add(Kind::Document, "organisation", &doc);
    let (conversation, question, answer) = chat(
        app,
        &jwt,
        json!({"agent_id": id(&agent), "message": "Globex question"}),
    )
    .await;
    b.add(Kind::Conversation, "owner's", &conversation);
    b.add(Kind::Message, "question", &question);
    b.add(Kind::Message, "answer", &answer);
    b.add(Kind::OrgSlug, "globex", "globex");
    let globex = aerie_backend::testing::store::orgs::find_by_slug_global(app.ctx.db(), "globex")
        .await
        .expect("db")
        .expect("globex");
    b.add(Kind::Organization, "globex", &globex.id.to_string());

    let mut callers = Vec::new();
    for (i, (email, jwt)) in [
        ("bob@globex.test", jwt),
        ("gina@globex.test", admin_jwt),
        ("gus@globex.test", member_jwt),
    ]
    .into_iter()
    .enumerate()
    {
        let key = expect(
            app,
            Method::POST,
            "/api/api-keys",
            &jwt,
            Some(json!({"name": "Globex key"})),
            201,
        )
        .await;
        callers.push(Caller {
            key: key["key"].as_str().expect("key").to_owned(),
            browser: if i == 0 {
                Some(app.browser(email).await)
            } else {
                None
            },
            jwt,
        });
    }
    (b, callers)
}

/// Drops what changes between two reads of the same data (timings of health checks).
fn steady(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            map.remove("latency_ms");
            map.remove("checked_at");
            for x in map.values_mut() {
                *x = steady(x.take());
            }
        }
        Value::Array(items) => {
            for x in items.iter_mut() {
                *x = steady(x.take());
            }
        }
        _ => {}
    }
    v
}

/// What A's owner and member read through every documented GET that takes a credential, with
/// A's ids: `(who, path) → (status, body)`.
async fn acme_view(
    app: &TestApp,
    ops: &[Op],
    seed: &Seed,
    readers: &[(&str, &str)],
) -> BTreeMap<(String, String), (u16, Value)> {
    let mut view = BTreeMap::new();
    for op in ops.iter().filter(|o| o.method == Method::GET) {
        let mut paths = vec![op.template.clone()];
        for (name, kind) in &op.path_params {
            paths = paths
                .iter()
                .flat_map(|p| {
                    seed.a
                        .all(*kind)
                        .into_iter()
                        .map(move |v| p.replace(&format!("{{{name}}}"), &v))
                })
                .collect();
        }
        for path in paths {
            for (who, jwt) in readers {
                let (status, body) = app.authed(Method::GET, &path, jwt, None).await;
                view.insert(((*who).to_owned(), path.clone()), (status, steady(body)));
            }
        }
    }
    view
}

/// B walks every documented operation with A's ids, as its owner's JWT, browser session and API
/// key (as a bearer token and as `X-API-Key`): where the operation accepts the credential (its
/// `security`), a request naming A's resource answers 404 in the contract's error body (or a
/// 400 naming the field that carries A's id), B's own requests succeed or are refused, and no
/// answer carries A's ids, names, emails or secrets; other credentials are refused with 401 or
/// 403. B's admin and member then read every list. A's view is the same before and after.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_second_organisation_walks_every_operation_and_finds_nothing(#[case] kind: DbKind) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let fake = FakeUpstream::start().await;
    let app = TestApp::spawn_with(
        kind,
        |c| {
            c.allow_private_provider_urls = true;
            c.allow_private_sso_urls = true;
            c.embedding_model_dir = crate::documents::model_dir();
            c.license_public_key = crate::support::license::PUBLIC_KEY.to_owned();
        },
        axum::Router::new(),
    )
    .await;
    let idp = format!("http://{}", ok_listener().await);
    let upstream = fake.base_url();
    let acme = seed_acme(&app, &upstream, &idp).await;
    // An Enterprise licence (applied by A's owner, the operator), so the usage export and the
    // guardrail log are walked too.
    let (status, licence) = app
        .authed(
            Method::POST,
            "/api/license/apply",
            &acme.owner_jwt,
            Some(json!({"license_key": crate::support::license::sign(
                &crate::support::license::claims("enterprise", 3600)
            )})),
        )
        .await;
    assert_eq!(status, 200, "{licence}");
    let (b, callers) = seed_globex(&app, &upstream).await;
    let seed = Seed {
        a: acme.org,
        b,
        upstream,
        idp,
    };

    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    let ops = match plan(&doc) {
        Ok(ops) => ops,
        Err(problems) => panic!("{}", problems.join("\n")),
    };

    let readers = [
        ("owner", acme.owner_jwt.as_str()),
        ("member", acme.member_jwt.as_str()),
    ];
    let before = acme_view(&app, &ops, &seed, &readers).await;
    // The walk uses real ids: each of A's is in something A reads.
    let seen: String = before.values().map(|(_, v)| v.to_string()).collect();
    for (kind, values) in &seed.a.ids {
        for (label, value) in values {
            assert!(
                seen.contains(value.as_str()),
                "A's {label} {kind:?} ({value}) is in none of A's own answers"
            );
        }
    }

    let mut markers: Vec<String> = ACME_TEXT.iter().map(|s| (*s).to_owned()).collect();
    markers.extend(acme.secrets.iter().cloned());
    for values in seed.a.ids.values() {
        markers.extend(
            values
                .iter()
                .map(|(_, v)| v.clone())
                .filter(|v| v.len() > 20),
        );
    }

    let owner = &callers[0];
    let mut failures = Vec::new();
    let mut requests = 0;
    for op in &ops {
        let calls = match calls(op, &seed) {
            Ok(c) => c,
            Err(problem) => {
                failures.push(format!("{}: {problem}", op.key));
                continue;
            }
        };
        for call in &calls {
            for cred in Cred::ALL {
                requests += 1;
                let (status, text) = send(
                    &app,
                    owner,
                    cred,
                    &op.method,
                    &call.path,
                    call.body.as_ref(),
                )
                .await;
                let request = format!(
                    "{} {}",
                    call.path,
                    call.body.as_ref().map(Value::to_string).unwrap_or_default()
                );
                let what = format!("{} {} as {cred:?}", op.method, request);
                if let Some(m) = leaked(&markers, &request, &text) {
                    failures.push(format!("{what}: leaked {m}: {status} {text}"));
                }
                let accepted = op.schemes.contains(cred.scheme());
                let error = contract_error(&text);
                // The operator's operations refuse every organisation's people alike.
                let operator_only = op.template.starts_with("/api/operator/");
                let ok = if !accepted {
                    status == 401 || status == 403
                } else if operator_only {
                    status == 403 && error.as_ref().is_some_and(|(code, _)| code == "AUTH-005")
                } else if call.names_a {
                    match &error {
                        Some((code, _)) if status == 404 => code == "RES-001",
                        Some((code, Some(param))) if status == 400 => {
                            code == "REQ-001" && call.refs.contains(param)
                        }
                        // A's email domain, claimed: refused for the state, naming the field.
                        Some((code, Some(param))) if status == 409 => {
                            code == "REQ-008" && call.refs.contains(param)
                        }
                        _ => false,
                    }
                } else if op.method == Method::GET {
                    (200..300).contains(&status)
                } else {
                    status < 500
                };
                if !ok {
                    failures.push(format!(
                        "{what}: expected {}, got {status} {text}",
                        if !accepted {
                            "401 or 403 (credential refused)".to_owned()
                        } else if call.names_a && call.refs.is_empty() {
                            "404 RES-001".to_owned()
                        } else if call.names_a {
                            format!(
                                "404 RES-001, or 400 REQ-001 or 409 REQ-008 naming one of {:?}",
                                call.refs
                            )
                        } else {
                            "B's own request to succeed".to_owned()
                        }
                    ));
                }
            }
        }
    }
    // B's admin and member read every list (whatever their role lets them).
    for caller in &callers[1..] {
        for op in ops
            .iter()
            .filter(|o| o.method == Method::GET && o.path_params.is_empty())
        {
            for cred in Cred::ALL.into_iter().filter(|c| caller.has(*c)) {
                requests += 1;
                let (status, text) = send(&app, caller, cred, &op.method, &op.template, None).await;
                if let Some(m) = leaked(&markers, &op.template, &text) {
                    failures.push(format!(
                        "{} as {cred:?}: leaked {m}: {status} {text}",
                        op.key
                    ));
                }
                if status >= 500 {
                    failures.push(format!("{} as {cred:?}: {status} {text}", op.key));
                }
            }
        }
    }
    assert!(requests > 500, "only {requests} requests");

    // Organisation A is as it was, and its key still works.
    let after = acme_view(&app, &ops, &seed, &readers).await;
    for (key, was) in &before {
        let now = after.get(key);
        if now != Some(was) {
            failures.push(format!(
                "A's view of {key:?} changed during the walk:\n before {was:?}\n after  {now:?}"
            ));
        }
    }
    let (status, _) = app
        .authed(Method::GET, "/auth/user", &acme.secrets[0], None)
        .await;
    assert_eq!(status, 200, "A's API key stopped working");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
