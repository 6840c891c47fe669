//! The instance operator (docs/TENANTS.md): only the person first-run setup made the owner may
//! list, create, suspend, resume and delete organisations, and approve the email domains they
//! claim for single sign-on. Suspension refuses every credential of the organisation at once
//! (403 `AUTH-009`) and resuming restores the same ones; deletion takes a suspended
//! organisation only; a domain claim routes nobody until the operator approves it.

use aerie_backend::config::DbKind;
use aerie_backend::error::PERSON_REQUIRED;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, assert_contract_body};

const NOT_THE_OPERATOR: &str = "Only the instance operator may do this.";

/// An instance with its operator (Acme's owner, made by first-run setup) and a second
/// organisation (Globex, owner Bob), each signed in with a JWT.
struct Tenants {
    app: TestApp,
    op: String,
    bob: String,
}

impl Tenants {
    async fn start(kind: DbKind) -> Self {
        let app = TestApp::spawn(kind).await;
        let owner = app.setup().await;
        let (op, _) = app.login(&owner, PASSWORD).await;
        let bob = app.second_org().await;
        let (bob, _) = app.login(&bob, PASSWORD).await;
        Self { app, op, bob }
    }

    /// Every organisation, as the operator lists them.
    async fn organizations(&self) -> Vec<Value> {
        let (status, list) = self
            .app
            .authed(Method::GET, "/api/operator/organizations", &self.op, None)
            .await;
        assert_eq!(status, 200, "{list}");
        list.as_array().expect("a list").clone()
    }

    /// The organisation with `slug` in the operator's list (`Null` if it is not there).
    async fn organization(&self, slug: &str) -> Value {
        self.organizations()
            .await
            .into_iter()
            .find(|o| o["slug"] == slug)
            .unwrap_or(Value::Null)
    }

    /// The id of the organisation with `slug`.
    async fn id(&self, slug: &str) -> String {
        self.organization(slug).await["id"]
            .as_str()
            .expect("listed")
            .to_owned()
    }

    /// The operator acts on organisation `id`: `suspend`, `resume` or `delete`.
    async fn act(&self, what: &str, id: &str) -> (u16, Value) {
        let (method, path) = match what {
            "delete" => (Method::DELETE, format!("/api/operator/organizations/{id}")),
            _ => (
                Method::POST,
                format!("/api/operator/organizations/{id}/{what}"),
            ),
        };
        self.app.authed(method, &path, &self.op, None).await
    }

    /// The operator's list of domain claims with `status` (all of them for `None`).
    async fn claims(&self, status: Option<&str>) -> Vec<Value> {
        let path = match status {
            Some(s) => format!("/api/operator/sso-domains?status={s}"),
            None => "/api/operator/sso-domains".to_owned(),
        };
        let (code, list) = self.app.authed(Method::GET, &path, &self.op, None).await;
        assert_eq!(code, 200, "{list}");
        list.as_array().expect("a list").clone()
    }

    /// The operator decides the claim on `domain`.
    async fn decide(&self, domain: &str, status: &str) -> (u16, Value) {
        self.app
            .authed(
                Method::POST,
                &format!("/api/operator/sso-domains/{domain}"),
                &self.op,
                Some(json!({ "status": status })),
            )
            .await
    }

    /// The organisation the login page routes `email` to (`Null` for none).
    async fn routed(&self, email: &str) -> Value {
        let (status, options) = self
            .app
            .get_json(&format!("/auth/sso/discover?email={email}"))
            .await;
        assert_eq!(status, 200, "{options}");
        options["organization"].clone()
    }
}

fn slugs(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(|o| o["slug"].as_str()).collect()
}

fn domains(claims: &[Value]) -> Vec<&str> {
    claims.iter().filter_map(|c| c["domain"].as_str()).collect()
}

/// A policy's `awaiting_approval` (absent when nothing awaits).
fn awaiting(policy: &Value) -> Value {
    policy
        .get("awaiting_approval")
        .cloned()
        .unwrap_or_else(|| json!([]))
}

/// `GET /api/sso/policy` as `jwt`.
async fn policy_of(app: &TestApp, jwt: &str) -> Value {
    let (status, policy) = app.authed(Method::GET, "/api/sso/policy", jwt, None).await;
    assert_eq!(status, 200, "{policy}");
    policy
}

/// `GET path` from a signed-in browser (its session cookie).
async fn with_session(app: &TestApp, browser: &reqwest::Client, path: &str) -> (u16, Value) {
    let res = browser
        .get(app.url(path))
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Password login into a browser session (`/auth/admin-login`): `(status, body)`.
async fn session_login(app: &TestApp, email: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/auth/admin-login"))
        .header("origin", format!("http://{}", app.addr))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// One data-plane call (`GET /api/agents`) with an API key, a JWT and a session cookie.
async fn data_plane(
    app: &TestApp,
    key: &str,
    jwt: &str,
    browser: &reqwest::Client,
) -> [(u16, Value); 3] {
    [
        app.authed(Method::GET, "/api/agents", key, None).await,
        app.authed(Method::GET, "/api/agents", jwt, None).await,
        with_session(app, browser, "/api/agents").await,
    ]
}

/// Only the operator reaches `/api/operator/*`: another organisation's owner, an admin of the
/// operator's own organisation and the operator's own API key are refused with 403; the
/// operator, by JWT or by session, sees every organisation with its member count.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn only_the_operator_may_operate(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let admin = t.app.join(&t.op, "ada@acme.test", "admin").await;
    let key = t.app.create_key(&t.op, "operator's key").await;

    for path in ["/api/operator/organizations", "/api/operator/sso-domains"] {
        for (who, token, detail) in [
            ("another organisation's owner", &t.bob, NOT_THE_OPERATOR),
            (
                "an admin of the operator's organisation",
                &admin,
                NOT_THE_OPERATOR,
            ),
            ("the operator's own API key", &key, PERSON_REQUIRED),
        ] {
            let (status, body) = t.app.authed(Method::GET, path, token, None).await;
            assert_eq!(status, 403, "{who} on {path}: {body}");
            assert_contract_body(&body, "AUTH-005");
            assert_eq!(body["detail"], detail, "{who} on {path}");
        }
        let res = t.app.get(path).await;
        assert_eq!(res.status(), 401, "anonymous on {path}");
    }

    let list = t.organizations().await;
    assert_eq!(slugs(&list), ["acme", "globex"], "oldest first");
    assert_eq!(list[0]["members"], 2, "the owner and the admin: {list:?}");
    assert_eq!(list[1]["members"], 1, "Bob: {list:?}");
    for org in &list {
        assert_eq!(org["status"], "active", "{org}");
        assert!(org.get("suspended_at").is_none(), "{org}");
        assert_eq!(org["plan"], "community", "{org}");
    }
    // The same list through the operator's browser session.
    let browser = t.app.browser("owner@acme.test").await;
    let (status, by_session) = with_session(&t.app, &browser, "/api/operator/organizations").await;
    assert_eq!(status, 200, "{by_session}");
    assert_eq!(by_session, Value::Array(list));
}

/// The operator creates an organisation and an invitation for its owner; following the link
/// makes that person the new organisation's owner (and not an operator). A person who already
/// has an account, a taken address, a malformed email and an unknown plan are refused, and
/// none of them creates anything.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_operator_creates_an_organisation_and_invites_its_owner(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let (status, created) = t
        .app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &t.op,
            Some(json!({"name": "Initech", "owner_email": "ivy@initech.test"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let org = &created["organization"];
    assert_eq!(org["slug"], "initech");
    assert_eq!(org["name"], "Initech");
    assert_eq!(org["status"], "active");
    assert_eq!(org["plan"], "community", "the default plan");
    assert_eq!(org["members"], 0, "nobody until the owner accepts");
    let org_id = org["id"].as_str().expect("id").to_owned();
    let url = created["owner_invite_url"].as_str().expect("url");
    assert!(url.contains("/invite/inv_"), "{url}");
    let (_, token) = url.rsplit_once("/invite/").expect("a token");

    // The invitation names the new organisation and the owner's role.
    let (status, info) = t.app.get_json(&format!("/auth/invite/{token}")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["role"], "owner");
    assert_eq!(info["email"], "ivy@initech.test");
    assert_eq!(info["organization"]["slug"], "initech");

    // Following it makes Ivy Initech's owner.
    let (status, joined) = t
        .app
        .post_json(
            "/auth/signup",
            json!({"email": "ivy@initech.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["user"]["role"], "owner", "{joined}");
    assert_eq!(joined["user"]["org_id"], org_id.as_str());
    let (ivy, _) = t.app.login("ivy@initech.test", PASSWORD).await;
    let (status, me) = t.app.authed(Method::GET, "/auth/user", &ivy, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "owner");
    assert_eq!(me["org_id"], org_id.as_str());
    assert_eq!(t.organization("initech").await["members"], 1);
    // An owner, not an operator.
    let (status, body) = t
        .app
        .authed(Method::GET, "/api/operator/organizations", &ivy, None)
        .await;
    assert_eq!(status, 403, "{body}");
    // The link is single-use.
    let (status, body) = t
        .app
        .post_json(
            "/auth/signup",
            json!({"email": "ivy@initech.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // Refusals, each for its own reason.
    for (input, status, param) in [
        (
            json!({"name": "Hooli", "owner_email": "ivy@initech.test"}),
            409,
            "owner_email",
        ),
        (
            json!({"name": "Hooli", "owner_email": "bob@globex.test"}),
            409,
            "owner_email",
        ),
        (
            json!({"name": "Initech", "owner_email": "ian@initech.test"}),
            409,
            "name",
        ),
        (
            json!({"name": "GLOBEX", "owner_email": "gil@globex.test"}),
            409,
            "name",
        ),
        (
            json!({"name": "Hooli", "owner_email": "not an email"}),
            400,
            "owner_email",
        ),
        (
            json!({"name": "Hooli", "owner_email": "gavin@hooli.test", "plan": "platinum"}),
            400,
            "plan",
        ),
    ] {
        let (code, body) = t
            .app
            .authed(
                Method::POST,
                "/api/operator/organizations",
                &t.op,
                Some(input.clone()),
            )
            .await;
        assert_eq!(code, status, "{input}: {body}");
        assert_contract_body(&body, if status == 409 { "REQ-008" } else { "REQ-001" });
        assert_eq!(body["error"]["param"], param, "{input}: {body}");
    }
    assert_eq!(
        slugs(&t.organizations().await),
        ["acme", "globex", "initech"],
        "no refused request created anything"
    );

    // A plan that exists is taken.
    let (status, created) = t
        .app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &t.op,
            Some(json!({"name": "Hooli", "owner_email": "gavin@hooli.test", "plan": "pro"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["organization"]["plan"], "pro");
}

/// Suspending an organisation refuses its API key, its JWT and its browser session at once with
/// 403 `AUTH-009`, and its members' password logins too, while the operator's organisation goes
/// on; resuming makes the very same credentials work again. The operator cannot suspend the
/// organisation they are signed in to.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn suspension_stops_every_credential_and_resuming_restores_them(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let key = t.app.create_key(&t.bob, "globex key").await;
    let browser = t.app.browser("bob@globex.test").await;
    let globex = t.id("globex").await;
    let acme = t.id("acme").await;

    for (i, (status, body)) in data_plane(&t.app, &key, &t.bob, &browser)
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(*status, 200, "credential {i} before: {body}");
    }

    let (status, org) = t.act("suspend", &globex).await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["status"], "suspended");
    assert!(org["suspended_at"].is_string(), "{org}");

    // Key (as bearer), JWT and session: refused at once.
    for (i, (status, body)) in data_plane(&t.app, &key, &t.bob, &browser)
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(*status, 403, "credential {i} while suspended: {body}");
        assert_contract_body(body, "AUTH-009");
    }
    // The key in X-API-Key too.
    let res = t
        .app
        .client
        .get(t.app.url("/v1/models"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.expect("json");
    assert_contract_body(&body, "AUTH-009");
    // Nobody of Globex signs in, by either password form.
    let (status, body) = t
        .app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": "bob@globex.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_contract_body(&body, "AUTH-009");
    let (status, body) = session_login(&t.app, "bob@globex.test").await;
    assert_eq!(status, 403, "{body}");
    assert_contract_body(&body, "AUTH-009");
    // A wrong password still says only that the credentials are wrong.
    let (status, body) = t
        .app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": "bob@globex.test", "password": "not-his-password-123"}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_contract_body(&body, "AUTH-004");

    // The operator's organisation is unaffected.
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &t.op, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.organization("acme").await["status"], "active");
    assert_eq!(t.organization("globex").await["status"], "suspended");
    // Nor can the operator suspend it from under themselves.
    let (status, body) = t.act("suspend", &acme).await;
    assert_eq!(status, 409, "{body}");
    assert_contract_body(&body, "REQ-008");
    assert_eq!(t.organization("acme").await["status"], "active");
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &t.op, None).await;
    assert_eq!(status, 200, "{body}");
    // An unknown organisation.
    let (status, _) = t
        .act("suspend", "0190a0c4-1b8e-7c3a-9f4e-2d6b8a1c5e70")
        .await;
    assert_eq!(status, 404);

    let (status, org) = t.act("resume", &globex).await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["status"], "active");
    assert!(org.get("suspended_at").is_none(), "{org}");
    // The same key, JWT and session work again, and so does signing in.
    for (i, (status, body)) in data_plane(&t.app, &key, &t.bob, &browser)
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(*status, 200, "credential {i} after resuming: {body}");
    }
    t.app.login("bob@globex.test", PASSWORD).await;
    let (status, body) = session_login(&t.app, "bob@globex.test").await;
    assert_eq!(status, 200, "{body}");

    let actions = t.app.audit_actions().await;
    for action in ["organization.suspended", "organization.resumed"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// Only a suspended organisation is deleted, never the operator's own; once deleted it is gone
/// from the list, its API key and JWT name nobody (401), its people cannot sign in, a second
/// deletion answers 404, and its address is free again.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn only_a_suspended_organisation_is_deleted(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let key = t.app.create_key(&t.bob, "globex key").await;
    let globex = t.id("globex").await;
    let acme = t.id("acme").await;

    // Active: refused, and nothing is lost.
    let (status, body) = t.act("delete", &globex).await;
    assert_eq!(status, 409, "{body}");
    assert_contract_body(&body, "REQ-008");
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &key, None).await;
    assert_eq!(status, 200, "{body}");
    // The operator's own organisation: refused.
    let (status, body) = t.act("delete", &acme).await;
    assert_eq!(status, 409, "{body}");
    assert_contract_body(&body, "REQ-008");

    let (status, body) = t.act("suspend", &globex).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.act("delete", &globex).await;
    assert_eq!(status, 204, "{body}");

    assert_eq!(slugs(&t.organizations().await), ["acme"]);
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &key, None).await;
    assert_eq!(status, 401, "the key no longer exists: {body}");
    assert_contract_body(&body, "AUTH-002");
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &t.bob, None).await;
    assert_eq!(status, 401, "the JWT names no member: {body}");
    assert_contract_body(&body, "AUTH-003");
    let (status, body) = t
        .app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": "bob@globex.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_contract_body(&body, "AUTH-004");
    for what in ["delete", "suspend", "resume"] {
        let (status, body) = t.act(what, &globex).await;
        assert_eq!(status, 404, "{what} after deletion: {body}");
        assert_contract_body(&body, "RES-001");
    }

    // The operator's organisation goes on, and the address can be given again.
    let (status, body) = t.app.authed(Method::GET, "/api/agents", &t.op, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, created) = t
        .app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &t.op,
            Some(json!({"name": "Globex", "owner_email": "gil@globex.test"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_ne!(created["organization"]["id"], globex.as_str());
    assert!(
        t.app
            .audit_actions()
            .await
            .iter()
            .any(|a| a == "organization.deleted")
    );
}

/// Another organisation's owner can use none of the operator's endpoints, on the operator's
/// organisation or their own, and nothing they ask happens.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn an_organisation_owner_cannot_operate_other_tenants(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let acme = t.id("acme").await;
    let globex = t.id("globex").await;
    let mut attempts = vec![
        (Method::GET, "/api/operator/organizations".to_owned(), None),
        (
            Method::POST,
            "/api/operator/organizations".to_owned(),
            Some(json!({"name": "Hooli", "owner_email": "gavin@hooli.test"})),
        ),
        (Method::GET, "/api/operator/sso-domains".to_owned(), None),
        (
            Method::POST,
            "/api/operator/sso-domains/acme.test".to_owned(),
            Some(json!({"status": "rejected"})),
        ),
    ];
    for id in [&acme, &globex] {
        attempts.push((
            Method::POST,
            format!("/api/operator/organizations/{id}/suspend"),
            None,
        ));
        attempts.push((
            Method::POST,
            format!("/api/operator/organizations/{id}/resume"),
            None,
        ));
        attempts.push((
            Method::DELETE,
            format!("/api/operator/organizations/{id}"),
            None,
        ));
    }
    for (method, path, body) in attempts {
        let (status, answer) = t.app.authed(method.clone(), &path, &t.bob, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_contract_body(&answer, "AUTH-005");
        assert_eq!(answer["detail"], NOT_THE_OPERATOR, "{method} {path}");
    }

    let list = t.organizations().await;
    assert_eq!(
        slugs(&list),
        ["acme", "globex"],
        "nothing created or deleted"
    );
    assert!(list.iter().all(|o| o["status"] == "active"), "{list:?}");
    for jwt in [&t.op, &t.bob] {
        let (status, body) = t.app.authed(Method::GET, "/api/agents", jwt, None).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A domain another organisation's admin claims waits for the operator: it routes nobody and
/// its policy says it awaits approval; approved, the login page routes it to that
/// organisation; rejected, to nobody again. The operator's own claims are approved at once,
/// and a domain one organisation claims cannot be claimed by another.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn sso_domain_claims_route_nobody_until_the_operator_approves_them(#[case] kind: DbKind) {
    let t = Tenants::start(kind).await;
    let ann = t.app.join(&t.bob, "ann@globex.test", "admin").await;

    // Globex's admin claims b-corp.test: recorded, awaiting the operator, routing nobody.
    let (status, policy) = t
        .app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &ann,
            Some(json!({"email_domains": ["b-corp.test"]})),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["email_domains"], json!(["b-corp.test"]));
    assert_eq!(awaiting(&policy), json!(["b-corp.test"]));
    assert_eq!(
        awaiting(&policy_of(&t.app, &ann).await),
        json!(["b-corp.test"])
    );
    assert_eq!(t.routed("x@b-corp.test").await, Value::Null);
    let pending = t.claims(Some("pending")).await;
    assert_eq!(domains(&pending), ["b-corp.test"]);
    assert_eq!(pending[0]["org_slug"], "globex");
    assert_eq!(pending[0]["status"], "pending");
    assert!(t.claims(Some("approved")).await.is_empty());
    // Even pending, it is Globex's: Acme may not claim it.
    let (status, body) = t
        .app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &t.op,
            Some(json!({"email_domains": ["b-corp.test"]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["param"], "email_domains");

    // Approved: the login page routes it to Globex, and nothing awaits any more.
    let (status, claim) = t.decide("b-corp.test", "approved").await;
    assert_eq!(status, 200, "{claim}");
    assert_eq!(claim["status"], "approved");
    assert_eq!(claim["org_slug"], "globex");
    assert!(claim["decided_at"].is_string(), "{claim}");
    assert_eq!(t.routed("x@b-corp.test").await, "globex");
    assert_eq!(awaiting(&policy_of(&t.app, &ann).await), json!([]));
    assert!(t.claims(Some("pending")).await.is_empty());
    assert_eq!(domains(&t.claims(Some("approved")).await), ["b-corp.test"]);

    // Acme still cannot take it (nor lose its own domains trying).
    let (status, body) = t
        .app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &t.op,
            Some(json!({"email_domains": ["acme.test", "b-corp.test"]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(t.routed("x@b-corp.test").await, "globex");
    assert_eq!(t.routed("x@acme.test").await, Value::Null, "not claimed");

    // The operator's own claim is approved at once.
    let (status, policy) = t
        .app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &t.op,
            Some(json!({"email_domains": ["acme.test"]})),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(awaiting(&policy), json!([]), "{policy}");
    assert_eq!(t.routed("x@acme.test").await, "acme");
    let approved = t.claims(Some("approved")).await;
    let acme_claim = approved
        .iter()
        .find(|c| c["domain"] == "acme.test")
        .expect("acme.test approved");
    assert_eq!(acme_claim["org_slug"], "acme");
    assert!(t.claims(Some("pending")).await.is_empty());

    // Rejected: b-corp.test routes nobody again, and Globex's policy says it is not approved.
    let (status, claim) = t.decide("b-corp.test", "rejected").await;
    assert_eq!(status, 200, "{claim}");
    assert_eq!(claim["status"], "rejected");
    assert_eq!(t.routed("x@b-corp.test").await, Value::Null);
    assert_eq!(
        awaiting(&policy_of(&t.app, &ann).await),
        json!(["b-corp.test"])
    );
    assert_eq!(domains(&t.claims(Some("rejected")).await), ["b-corp.test"]);
    assert_eq!(t.routed("x@acme.test").await, "acme", "untouched");
    let mut all = domains(&t.claims(None).await)
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    all.sort();
    assert_eq!(all, ["acme.test", "b-corp.test"]);

    // A decision needs a claim, and is approved or rejected.
    let (status, body) = t.decide("nobody.test", "approved").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = t.decide("b-corp.test", "pending").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "status");
    assert_eq!(t.routed("x@b-corp.test").await, Value::Null);
}

/// "Chats stop at once": a turn streaming when its organisation is suspended ends there (what
/// it produced is stored and charged), and the next request of the same key is refused.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn suspension_stops_a_running_turn(#[case] kind: DbKind) {
    use aerie_backend::services::operator::{self, Operator};
    use aerie_bench::Reply;
    use futures::StreamExt;

    let t = crate::support::chat::Chat::start(kind).await;
    let words: Vec<String> = (0..60).map(|i| format!("word{i} ")).collect();
    t.fake.push(Reply::StreamSlow {
        chunks: words,
        interval_ms: 50,
    });
    let res = t
        .app
        .client
        .post(t.app.url("/api/chat"))
        .bearer_auth(&t.key)
        .json(&json!({"agent_id": t.agent_id, "message": "tell me a long story"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut text = String::new();
    while text.matches("word").count() < 3 {
        let chunk = stream.next().await.expect("more").expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let (_, me) = t
        .app
        .authed(Method::GET, "/api/organisation", &t.jwt, None)
        .await;
    let org: aerie_contract::ids::OrgId = serde_json::from_value(me["id"].clone()).expect("id");
    // From the command line: the operator may not suspend their own organisation on the API.
    operator::suspend(&t.app.ctx, &Operator::cli(), org)
        .await
        .expect("suspend");
    // The stream ends soon, long before the upstream's 60 words (3 s at 50 ms each).
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream did not end: {text}");
    assert!(
        !text.contains("word59"),
        "the whole answer streamed after the suspension: {text}"
    );
    let (status, body) = t.get("/api/agents").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "AUTH-009");
}

/// Deleting an organisation deletes the accounts of the people who belonged to it alone: their
/// email can be invited again, anywhere.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_deleted_organisations_people_can_be_invited_again(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (op, _) = app.login(&owner, PASSWORD).await;
    let (status, created) = app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &op,
            Some(json!({"name": "Umbrella", "owner_email": "una@umbrella.test"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["owner_invite_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_owned();
    let res = app
        .client
        .post(app.url("/auth/signup"))
        .json(&json!({"email": "una@umbrella.test", "password": PASSWORD, "invite_token": token}))
        .send()
        .await
        .expect("signup");
    assert!(
        res.status().is_success(),
        "{}",
        res.text().await.unwrap_or_default()
    );
    let id = created["organization"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = app
        .authed(
            Method::POST,
            &format!("/api/operator/organizations/{id}/suspend"),
            &op,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .authed(
            Method::DELETE,
            &format!("/api/operator/organizations/{id}"),
            &op,
            None,
        )
        .await;
    assert_eq!(status, 204);
    // Her account went with it: she can be the owner of a new organisation.
    let (status, again) = app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &op,
            Some(json!({"name": "Umbrella Two", "owner_email": "una@umbrella.test"})),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    // The operator's own people are untouched.
    let (status, _) = app.authed(Method::GET, "/api/users", &op, None).await;
    assert_eq!(status, 200);
}

/// A claim the operator rejected holds nothing: another organisation may claim the domain,
/// and it waits for the operator like any claim.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_rejected_claim_frees_its_domain(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (op, _) = app.login(&owner, PASSWORD).await;
    let bob = app.second_org().await;
    let (globex, _) = app.login(&bob, PASSWORD).await;
    let policy =
        json!({"email_domains": ["contested.test"], "jit_provisioning": false, "sso_only": false});
    let (status, body) = app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &globex,
            Some(policy.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // While Globex's claim is pending, nobody else may claim the domain.
    let (status, body) = app
        .authed(Method::PUT, "/api/sso/policy", &op, Some(policy.clone()))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .authed(
            Method::POST,
            "/api/operator/sso-domains/contested.test",
            &op,
            Some(json!({"status": "rejected"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Rejected, it is the operator's to claim (and, theirs, approved at once).
    let (status, body) = app
        .authed(Method::PUT, "/api/sso/policy", &op, Some(policy))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("awaiting_approval").is_none(), "{body}");
    let (status, found) = app
        .get_json("/auth/sso/discover?email=someone@contested.test")
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["organization"], "acme", "{found}");
}

/// Self-service: where the operator allows it (`AERIE_ORG_SIGNUP`), a newcomer signs up and
/// creates an organisation of their own as its owner; elsewhere, and for a taken address or a
/// request that also joins one, the answer says why and nothing is created.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn people_create_their_own_organisation_where_the_operator_allows_it(#[case] kind: DbKind) {
    let signup = |email: &str, org: &str| json!({"email": email, "password": PASSWORD, "name": "Nia", "new_organization": org});
    // Off by default.
    let closed = TestApp::spawn(kind).await;
    closed.setup().await;
    let (status, body) = closed
        .post_json("/auth/signup", signup("nia@newco.test", "NewCo"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_contract_body(&body, "AUTH-005");

    let app = TestApp::spawn_with(kind, |c| c.org_signup = true, axum::Router::new()).await;
    let owner = app.setup().await;
    let (op, _) = app.login(&owner, PASSWORD).await;
    let (status, body) = app
        .post_json("/auth/signup", signup("nia@newco.test", "NewCo"))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["role"], "owner", "{body}");
    assert_eq!(body["status"], "active", "{body}");
    let (nia, _) = app.login("nia@newco.test", PASSWORD).await;
    let (status, org) = app
        .authed(Method::GET, "/api/organisation", &nia, None)
        .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "NewCo");
    assert_eq!(org["slug"], "newco");
    // The operator sees it; the newcomer is no operator.
    let (_, list) = app
        .authed(Method::GET, "/api/operator/organizations", &op, None)
        .await;
    assert!(list.to_string().contains("newco"), "{list}");
    let (status, _) = app
        .authed(Method::GET, "/api/operator/organizations", &nia, None)
        .await;
    assert_eq!(status, 403);
    // A taken address, and creating while joining, are refused; nothing is created.
    let (status, body) = app
        .post_json("/auth/signup", signup("otto@newco.test", "NewCo"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["param"], "new_organization", "{body}");
    let mut both = signup("otto@newco.test", "Otto Ltd");
    both["organization"] = json!("newco");
    let (status, body) = app.post_json("/auth/signup", both).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "new_organization", "{body}");
    let (_, list) = app
        .authed(Method::GET, "/api/operator/organizations", &op, None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
}
