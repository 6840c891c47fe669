//! Single sign-on against real identity providers on loopback (server/tests/idp): an OpenID
//! Connect provider and a SAML 2.0 IdP, each started by the test. Browser flows are driven by a
//! cookie-keeping client that follows nothing by itself, so every redirect is checked. Attacks
//! are refused with a reason in the audit log, and none of them creates a session or an account.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::idp::{OidcIdp, OidcIdpOptions, SamlIdp, SamlIdpOptions, form_body};
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// A browser: keeps cookies, follows no redirect.
pub(crate) fn browser() -> reqwest::Client {
    aerie_backend::ensure_tls();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub(crate) struct Sso {
    pub(crate) app: TestApp,
    pub(crate) owner: String,
}

impl Sso {
    pub(crate) async fn start(kind: DbKind) -> Self {
        let app = TestApp::spawn_with(
            kind,
            |c| c.allow_private_sso_urls = true,
            axum::Router::new(),
        )
        .await;
        let email = app.setup().await;
        let (owner, _) = app.login(&email, PASSWORD).await;
        Self { app, owner }
    }

    pub(crate) async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.app.authed(method, path, &self.owner, body).await
    }

    pub(crate) async fn oidc_provider(&self, idp: &OidcIdp, extra: Value) -> String {
        let mut body = json!({"kind": "oidc", "name": "Local OIDC", "issuer": idp.issuer(),
            "client_id": "aerie-test", "client_secret": "oidc-client-secret-9921",
            "groups_attribute": "groups"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, provider) = self
            .api(Method::POST, "/api/sso/providers", Some(body))
            .await;
        assert_eq!(status, 201, "{provider}");
        provider["id"].as_str().expect("id").to_owned()
    }

    pub(crate) async fn policy(&self, policy: Value) {
        let (status, body) = self.api(Method::PUT, "/api/sso/policy", Some(policy)).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Starts an OIDC login in `browser` and answers the provider's authorization URL.
    pub(crate) async fn start_login(
        &self,
        browser: &reqwest::Client,
        kind: &str,
        provider: &str,
    ) -> String {
        let res = browser
            .get(self.app.url(&format!(
                "/auth/{kind}/login?provider={provider}&return_to=/chat"
            )))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status().as_u16(), 303);
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            set_cookie.contains("aerie_sso=")
                && set_cookie.contains("HttpOnly")
                && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        location(&res)
    }

    /// Follows the callback and the pick-up: `Ok(final location)` when signed in, `Err(sso_error)`
    /// (or `Err` of the link page's address when linking needs the account's proof).
    pub(crate) async fn finish(
        &self,
        browser: &reqwest::Client,
        callback: &str,
    ) -> Result<String, String> {
        let res = browser.get(callback).send().await.expect("callback");
        assert_eq!(res.status().as_u16(), 303, "{callback}");
        let next = location(&res);
        self.pickup(browser, &next).await
    }

    pub(crate) async fn pickup(
        &self,
        browser: &reqwest::Client,
        next: &str,
    ) -> Result<String, String> {
        if let Some(error) = next.strip_prefix("/login?") {
            return Err(url_param(error, "sso_error"));
        }
        if next.starts_with("/link-account?") {
            return Err(next.to_owned());
        }
        assert!(next.starts_with("/auth/login-pickup?code="), "{next}");
        let res = browser
            .get(self.app.url(next))
            .send()
            .await
            .expect("pickup");
        assert_eq!(res.status().as_u16(), 303);
        let done = location(&res);
        match done.strip_prefix("/login?") {
            Some(error) => Err(url_param(error, "sso_error")),
            None => Ok(done),
        }
    }

    pub(crate) async fn whoami(&self, browser: &reqwest::Client) -> (u16, Value) {
        let res = browser
            .get(self.app.url("/auth/user"))
            .send()
            .await
            .expect("user");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn user_count(&self) -> i64 {
        use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
        let db = self.app.ctx.db();
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM users".to_owned(),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Proves the account on the link page `next` (`/link-account?code=…`) with `password`
    /// (`None`: this browser's session), as the page's form posts: the final location.
    pub(crate) async fn link(
        &self,
        browser: &reqwest::Client,
        next: &str,
        password: Option<&str>,
    ) -> String {
        let code = url_param(next.split_once('?').map_or("", |(_, q)| q), "code");
        let mut pairs = vec![("code", code.as_str())];
        if let Some(p) = password {
            pairs.push(("password", p));
        }
        let res = browser
            .post(self.app.url("/auth/sso/link"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.app.url(""))
            .header("sec-fetch-site", "same-origin")
            .body(form_body(&pairs))
            .send()
            .await
            .expect("link");
        assert_eq!(res.status().as_u16(), 303);
        location(&res)
    }

    /// The reasons of refused sign-ins, oldest first.
    pub(crate) async fn refusals(&self) -> Vec<String> {
        use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
        let db = self.app.ctx.db();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT details FROM audit_events WHERE action = 'sso.refused' ORDER BY created_at, id"
                    .to_owned(),
            ))
            .await
            .expect("audit");
        rows.iter()
            .map(|r| {
                let details = r
                    .try_get::<Value>("", "details")
                    .or_else(|_| {
                        r.try_get::<String>("", "details")
                            .map(|s| serde_json::from_str(&s).unwrap_or(Value::Null))
                    })
                    .expect("details");
                details["reason"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }
}

pub(crate) fn url_param(query: &str, name: &str) -> String {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default()
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn oidc_login_provisions_links_and_syncs_groups(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let idp = OidcIdp::start().await;
    let provider = sso.oidc_provider(&idp, json!({})).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let (status, group) = sso
        .api(
            Method::POST,
            "/api/organisation/groups",
            Some(json!({"name": "Engineering"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");

    // The secret never comes back, and is sealed in the database.
    let (_, list) = sso.api(Method::GET, "/api/sso/providers", None).await;
    assert!(
        !list.to_string().contains("oidc-client-secret-9921"),
        "{list}"
    );
    assert_eq!(list[0]["has_client_secret"], true);
    assert!(
        list[0]["callback_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/auth/oidc/callback")),
        "{list}"
    );
    {
        use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
        let db = sso.app.ctx.db();
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT client_secret_enc FROM sso_providers".to_owned(),
            ))
            .await
            .expect("query")
            .expect("row");
        let sealed: String = row.try_get("", "client_secret_enc").expect("sealed");
        assert!(!sealed.contains("oidc-client-secret-9921"));
    }
    let (_, status_body) = sso.app.get_json("/auth/setup-status").await;
    assert_eq!(status_body["oauth_providers"], json!(["oidc"]));

    // A newcomer of an allowed domain is provisioned, lands where they started, joins the
    // group named in the claim.
    let alice = browser();
    let authorize = sso.start_login(&alice, "oidc", &provider).await;
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    let callback = idp
        .authorize(
            &authorize,
            &json!({"sub": "alice-1", "email": "Alice@Acme.test", "email_verified": true,
                    "name": "Alice Liddell", "groups": ["engineering", "unknown-group"]}),
        )
        .await;
    assert_eq!(sso.finish(&alice, &callback).await, Ok("/chat".to_owned()));
    let (status, me) = sso.whoami(&alice).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "alice@acme.test");
    assert_eq!(me["name"], "Alice Liddell");
    assert_eq!(me["role"], "member");
    let res = alice
        .get(sso.app.url("/auth/my-permissions"))
        .send()
        .await
        .expect("perms");
    let perms: Value = res.json().await.expect("json");
    assert_eq!(perms["groups"], json!(["Engineering"]), "{perms}");

    // Next login: the claim no longer names the group, so the sync takes it away.
    let again = browser();
    let authorize = sso.start_login(&again, "oidc", &provider).await;
    let callback = idp
        .authorize(
            &authorize,
            &json!({"sub": "alice-1", "email": "alice@acme.test", "email_verified": true, "groups": []}),
        )
        .await;
    assert!(sso.finish(&again, &callback).await.is_ok());
    let res = again
        .get(sso.app.url("/auth/my-permissions"))
        .send()
        .await
        .expect("perms");
    let perms: Value = res.json().await.expect("json");
    assert_eq!(perms["groups"], json!([]), "{perms}");

    // The owner (a password account) links by verified email, once they prove the account
    // with its password (owners are never linked automatically), and keeps one identity.
    let owner = browser();
    let authorize = sso.start_login(&owner, "oidc", &provider).await;
    let callback = idp
        .authorize(
            &authorize,
            &json!({"sub": "olive-7", "email": "owner@acme.test", "email_verified": true}),
        )
        .await;
    let link_page = sso
        .finish(&owner, &callback)
        .await
        .expect_err("the link page");
    assert_eq!(
        sso.whoami(&owner).await.0,
        401,
        "no session before the proof"
    );
    assert_eq!(sso.link(&owner, &link_page, Some(PASSWORD)).await, "/chat");
    let (_, me) = sso.whoami(&owner).await;
    assert_eq!(me["role"], "owner");
    let (status, ids) = sso.api(Method::GET, "/api/me/identities", None).await;
    assert_eq!(status, 200);
    assert_eq!(ids.as_array().map(Vec::len), Some(1), "{ids}");
    assert_eq!(ids[0]["provider_name"], "Local OIDC");

    // Alice has no password: her only identity cannot be unlinked.
    let res = alice
        .get(sso.app.url("/api/me/identities"))
        .send()
        .await
        .expect("ids");
    let alice_ids: Value = res.json().await.expect("json");
    let alice_identity = alice_ids[0]["id"].as_str().expect("id").to_owned();
    let res = alice
        .delete(sso.app.url(&format!("/api/me/identities/{alice_identity}")))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("unlink");
    assert_eq!(res.status().as_u16(), 409);
    // The owner has a password: unlinking works.
    let owner_identity = ids[0]["id"].as_str().expect("id").to_owned();
    let (status, _) = sso
        .api(
            Method::DELETE,
            &format!("/api/me/identities/{owner_identity}"),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let actions = sso.app.audit_actions().await;
    for action in [
        "sso_provider.created",
        "sso.provisioned",
        "sso.linked",
        "sso.login",
        "sso.identity_unlinked",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(sso.refusals().await, vec!["proof_required"]);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn oidc_attacks_are_refused_without_a_session(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let idp = OidcIdp::start_with(OidcIdpOptions {
        require_pkce: true,
        require_nonce: true,
        ..OidcIdpOptions::default()
    })
    .await;
    let provider = sso.oidc_provider(&idp, json!({})).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let users_before = sso.user_count().await;
    let good = json!({"sub": "mallory", "email": "mallory@acme.test", "email_verified": true});

    // Each case: what the attacker does, and the audited reason.
    let mut expected = Vec::new();

    // 1. A tampered state.
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", &provider).await;
    let callback = idp.authorize(&authorize, &good).await;
    let state = url_param(callback.split_once('?').map_or("", |(_, q)| q), "state");
    let forged = callback.replace(&state, "forged-state");
    assert!(sso.finish(&b, &forged).await.is_err());
    expected.push("state_mismatch");
    // The genuine callback still fails afterwards? No: the forged one did not consume it.
    // 2. The genuine callback opened in another browser (login CSRF / stolen callback).
    let other = browser();
    let err = sso
        .finish(&other, &callback)
        .await
        .expect_err("other browser");
    assert!(err.contains("another browser"), "{err}");
    expected.push("state_mismatch");
    // 3. Replaying a callback whose state was consumed.
    assert!(sso.finish(&b, &callback).await.is_err());
    expected.push("state_mismatch");

    // 4. A code redeemed without the PKCE verifier (a stolen code) is refused by the provider.
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", &provider).await;
    let callback = idp.authorize(&authorize, &good).await;
    let code = url_param(callback.split_once('?').map_or("", |(_, q)| q), "code");
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.issuer()))
        .basic_auth("aerie-test", Some("oidc-client-secret-9921"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &sso.app.url("/auth/oidc/callback")),
        ]))
        .send()
        .await
        .expect("token");
    assert_eq!(
        res.status().as_u16(),
        400,
        "a code without its verifier is refused"
    );

    // 5-10. ID tokens that must not be accepted.
    for (spec, reason) in [
        (
            json!({"claims": {"nonce": "replayed-nonce"}}),
            "nonce_mismatch",
        ),
        (json!({"sign": "other"}), "bad_signature"),
        (json!({"sign": "none"}), "alg_not_allowed"),
        (json!({"sign": "hs256"}), "alg_not_allowed"),
        (
            json!({"claims": {"aud": ["someone-else"]}}),
            "wrong_audience",
        ),
        (
            json!({"claims": {"iss": "http://127.0.0.1:1/evil"}}),
            "wrong_issuer",
        ),
        (json!({"claims": {"exp": 1_000_000_000}}), "expired"),
    ] {
        let b = browser();
        let authorize = sso.start_login(&b, "oidc", &provider).await;
        let callback = idp.authorize(&authorize, &good).await;
        idp.set_next_id_token(&spec).await;
        let err = sso.finish(&b, &callback).await.expect_err(reason);
        assert!(!err.is_empty());
        assert_eq!(sso.whoami(&b).await.0, 401, "{reason}");
        expected.push(reason);
    }

    // 11. An unverified email, 12. an email outside the allowed domains.
    for (claims, reason) in [
        (
            json!({"sub": "eve", "email": "eve@acme.test", "email_verified": false}),
            "unverified_email",
        ),
        (
            json!({"sub": "trudy", "email": "trudy@evil.test", "email_verified": true}),
            "domain_not_allowed",
        ),
        // An unverified address of an existing account must not take it over either.
        (
            json!({"sub": "eve2", "email": "owner@acme.test", "email_verified": false}),
            "unverified_email",
        ),
    ] {
        let b = browser();
        let authorize = sso.start_login(&b, "oidc", &provider).await;
        let callback = idp.authorize(&authorize, &claims).await;
        assert!(sso.finish(&b, &callback).await.is_err(), "{reason}");
        assert_eq!(sso.whoami(&b).await.0, 401);
        expected.push(reason);
    }

    // 13. The provider itself refused (user pressed Deny).
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", &provider).await;
    let state = url_param(authorize.split_once('?').map_or("", |(_, q)| q), "state");
    let denied = sso.app.url(&format!(
        "/auth/oidc/callback?error=access_denied&state={state}"
    ));
    assert!(sso.finish(&b, &denied).await.is_err());
    expected.push("provider_error");

    assert_eq!(sso.refusals().await, expected);
    assert_eq!(
        sso.user_count().await,
        users_before,
        "no account was created"
    );
    // The admin sees the last failure on the provider.
    let (_, p) = sso
        .api(Method::GET, &format!("/api/sso/providers/{provider}"), None)
        .await;
    assert!(
        p["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("provider_error")),
        "{p}"
    );
    // And the real thing still works afterwards.
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", &provider).await;
    let callback = idp.authorize(&authorize, &good).await;
    assert_eq!(sso.finish(&b, &callback).await, Ok("/chat".to_owned()));
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn provider_configuration_is_checked_when_saved(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let callback = sso.app.url("/auth/oidc/callback");
    let idp = OidcIdp::start_with(OidcIdpOptions {
        client: Some((
            "registered".to_owned(),
            "registered-secret".to_owned(),
            vec!["http://127.0.0.1:9/elsewhere".to_owned()],
        )),
        ..OidcIdpOptions::default()
    })
    .await;
    for (body, field, needle) in [
        (
            json!({"kind": "oidc", "issuer": "http://127.0.0.1:9", "client_id": "x"}),
            "issuer",
            "discovery failed",
        ),
        (
            json!({"kind": "oidc", "client_id": "x"}),
            "issuer",
            "issuer is required",
        ),
        (
            json!({"kind": "carrier-pigeon"}),
            "kind",
            "kind must be one of",
        ),
        (
            json!({"kind": "github", "client_id": "x"}),
            "client_secret",
            "client_secret is required",
        ),
        (
            json!({"kind": "oidc", "issuer": idp.issuer()}),
            "client_id",
            "client_id is required",
        ),
        (
            json!({"kind": "oidc", "issuer": idp.issuer(), "client_id": "registered", "client_secret": "registered-secret"}),
            "client_id",
            &format!("register {callback}"),
        ),
        (
            json!({"kind": "saml", "metadata_xml": "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://idp.test\"><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.test/sso\"/></IDPSSODescriptor></EntityDescriptor>"}),
            "metadata_xml",
            "no signing certificate",
        ),
        (json!({"kind": "saml"}), "metadata_xml", "metadata"),
    ] {
        let (status, err) = sso
            .api(Method::POST, "/api/sso/providers", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} → {err}");
        assert_contract_body(&err, "REQ-001");
        assert_eq!(err["error"]["param"], field, "{err}");
        assert!(
            err["detail"].as_str().is_some_and(|d| d.contains(needle)),
            "{needle:?} in {err}"
        );
    }
    // Without the operator's permission, loopback issuers are refused (SSRF).
    let strict = TestApp::spawn(kind).await;
    let email = strict.setup().await;
    let (jwt, _) = strict.login(&email, PASSWORD).await;
    let (status, err) = strict
        .authed(
            Method::POST,
            "/api/sso/providers",
            &jwt,
            Some(json!({"kind": "oidc", "issuer": idp.issuer(), "client_id": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("AERIE_ALLOW_PRIVATE_SSO_URLS")),
        "{err}"
    );

    // A good one saves; its test answers ok; a second one of the same name conflicts.
    let (status, created) = sso
        .api(
            Method::POST,
            "/api/sso/providers",
            Some(
                json!({"kind": "oidc", "name": "Ok", "issuer": idp.issuer(), "client_id": "aerie"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, test) = sso
        .api(Method::POST, &format!("/api/sso/providers/{id}/test"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(test["ok"], true, "{test}");
    let (status, _) = sso
        .api(
            Method::POST,
            "/api/sso/providers",
            Some(
                json!({"kind": "oidc", "name": "Ok", "issuer": idp.issuer(), "client_id": "aerie"}),
            ),
        )
        .await;
    assert_eq!(status, 409);
    // A provider that went down can still be renamed, disabled or get a new secret; a change
    // of how it is reached is checked again (and refused while it is down).
    let down = OidcIdp::start().await;
    let (status, flaky) = sso
        .api(
            Method::POST,
            "/api/sso/providers",
            Some(
                json!({"kind": "oidc", "name": "Flaky", "issuer": down.issuer(), "client_id": "f"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{flaky}");
    drop(down);
    let flaky = flaky["id"].as_str().expect("id");
    let (status, body) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{flaky}"),
            Some(json!({"name": "Flaky (off)", "enabled": false, "client_secret": "new-secret"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["enabled"].as_bool(),
            body["has_client_secret"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let (status, body) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{flaky}"),
            Some(json!({"client_id": "g"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // SSO-only needs an enabled provider; the policy validates domains.
    let (status, err) = sso
        .api(
            Method::PUT,
            "/api/sso/policy",
            Some(json!({"email_domains": ["not a domain"]})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn sso_only_policy_routing_and_tenant_isolation(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let idp = OidcIdp::start().await;
    let provider = sso.oidc_provider(&idp, json!({})).await;
    let member_jwt = sso.app.join(&sso.owner, "mia@acme.test", "member").await;
    assert!(!member_jwt.is_empty());
    sso.policy(json!({"sso_only": true, "email_domains": ["acme.test"]}))
        .await;

    // Domain routing for the login page.
    let (status, options) = sso
        .app
        .get_json("/auth/sso/discover?email=mia@acme.test")
        .await;
    assert_eq!(status, 200);
    assert_eq!(options["organization"], "acme");
    assert_eq!(options["password_allowed"], false);
    assert_eq!(options["providers"][0]["id"], provider.as_str());
    assert_eq!(
        options["providers"][0]["login_url"],
        format!("/auth/oidc/login?provider={provider}")
    );
    let (_, none) = sso
        .app
        .get_json("/auth/sso/discover?email=x@elsewhere.test")
        .await;
    assert_eq!(none["providers"], json!([]));
    // Login by email domain, without naming the provider.
    let b = browser();
    let res = b
        .get(sso.app.url("/auth/oidc/login?email=mia@acme.test"))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        location(&res).starts_with(idp.issuer()),
        "{}",
        location(&res)
    );
    assert!(location(&res).contains("login_hint=mia%40acme.test"));

    // Passwords are refused for members, not for the owner (break-glass), and both are audited.
    let (status, err) = sso
        .app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": "mia@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("single sign-on"))
    );
    sso.app.login("owner@acme.test", PASSWORD).await;
    let actions = sso.app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "login.refused"), "{actions:?}");
    assert!(
        actions.iter().any(|a| a == "login.break_glass"),
        "{actions:?}"
    );

    // Another organisation sees none of it.
    let bob = sso.app.second_org().await;
    let (bob_jwt, _) = sso.app.login(&bob, PASSWORD).await;
    let (status, list) = sso
        .app
        .authed(Method::GET, "/api/sso/providers", &bob_jwt, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]));
    for (method, path, body) in [
        (Method::GET, format!("/api/sso/providers/{provider}"), None),
        (
            Method::PATCH,
            format!("/api/sso/providers/{provider}"),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            format!("/api/sso/providers/{provider}/test"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/sso/providers/{provider}"),
            None,
        ),
    ] {
        let (status, body) = sso.app.authed(method.clone(), &path, &bob_jwt, body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(!body.to_string().contains("Local OIDC"));
    }
    let (_, policy) = sso
        .app
        .authed(Method::GET, "/api/sso/policy", &bob_jwt, None)
        .await;
    assert_eq!(policy["sso_only"], false, "{policy}");
    // Bob's organisation may not claim acme.test.
    let (status, err) = sso
        .app
        .authed(
            Method::PUT,
            "/api/sso/policy",
            &bob_jwt,
            Some(json!({"email_domains": ["acme.test"]})),
        )
        .await;
    // Claimed by another organisation: a conflict with the state, not a malformed request.
    assert_eq!(status, 409, "{err}");
    // Members cannot read the configuration.
    let (status, _) = sso
        .app
        .authed(Method::GET, "/api/sso/providers", &member_jwt, None)
        .await;
    assert_eq!(status, 403);
    // An SSO login through acme's provider cannot land in Bob's organisation's account.
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", &provider).await;
    let callback = idp
        .authorize(
            &authorize,
            &json!({"sub": "bob", "email": "bob@globex.test", "email_verified": true}),
        )
        .await;
    assert!(sso.finish(&b, &callback).await.is_err());
    assert_eq!(sso.refusals().await, vec!["domain_not_allowed"]);
}

/// Starts a SAML IdP for this app and configures it as acme's provider.
pub(crate) async fn saml_setup(sso: &Sso, opts: SamlIdpOptions, extra: Value) -> (SamlIdp, String) {
    let idp = SamlIdp::start(&sso.app.url("/auth/saml/metadata"), opts).await;
    let mut body = json!({"kind": "saml", "name": "Local SAML", "metadata_url": idp.metadata_url,
        "groups_attribute": "groups"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, provider) = sso
        .api(Method::POST, "/api/sso/providers", Some(body))
        .await;
    assert_eq!(status, 201, "{provider}");
    assert!(
        provider["certificate_fingerprints"][0]
            .as_str()
            .is_some_and(|f| f.len() == 95),
        "{provider}"
    );
    (idp, provider["id"].as_str().expect("id").to_owned())
}

pub(crate) async fn post_acs(sso: &Sso, browser: &reqwest::Client, body: String) -> String {
    let res = browser
        .post(sso.app.url("/auth/saml/acs"))
        .header("content-type", "application/x-www-form-urlencoded")
        // The IdP's page posts cross-site.
        .header("origin", "http://idp.example")
        .header("sec-fetch-site", "cross-site")
        .body(body)
        .send()
        .await
        .expect("acs");
    assert_eq!(res.status().as_u16(), 303);
    location(&res)
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn saml_login_through_a_real_idp(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    // Our metadata: entity id, ACS, one certificate for signing and encryption, kept.
    let res = sso.app.get("/auth/saml/metadata").await;
    assert_eq!(res.status().as_u16(), 200);
    let metadata = res.text().await.expect("xml");
    assert!(
        metadata.contains(&sso.app.url("/auth/saml/acs")),
        "{metadata}"
    );
    assert!(
        metadata.contains("WantAssertionsSigned=\"true\""),
        "{metadata}"
    );
    let again = sso
        .app
        .get("/auth/saml/metadata")
        .await
        .text()
        .await
        .expect("xml");
    assert_eq!(metadata, again, "the SP certificate is generated once");

    // SAML attributes say nothing of verification: the IdP is made authoritative for the
    // organisation's domain, so its emails count.
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let (idp, provider) = saml_setup(
        &sso,
        SamlIdpOptions::default(),
        json!({"trusted_email_domains": ["acme.test"]}),
    )
    .await;
    let (status, _) = sso
        .api(
            Method::POST,
            "/api/organisation/groups",
            Some(json!({"name": "Finance"})),
        )
        .await;
    assert_eq!(status, 201);

    let b = browser();
    let redirect = sso.start_login(&b, "saml", &provider).await;
    assert!(redirect.starts_with(&idp.base), "{redirect}");
    let post = idp
        .login_with(&redirect, "sam@acme.test", "Sam Saml", &["finance"], &[])
        .await;
    assert_eq!(post.acs, sso.app.url("/auth/saml/acs"));
    let next = post_acs(&sso, &b, post.form_body()).await;
    assert_eq!(sso.pickup(&b, &next).await, Ok("/chat".to_owned()));
    let (status, me) = sso.whoami(&b).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "sam@acme.test");
    assert_eq!(me["name"], "Sam Saml");
    let perms: Value = b
        .get(sso.app.url("/auth/my-permissions"))
        .send()
        .await
        .expect("perms")
        .json()
        .await
        .expect("json");
    assert_eq!(perms["groups"], json!(["Finance"]));

    // Replaying the same POST: its request was answered already, so it is refused.
    let replayer = browser();
    let next = post_acs(&sso, &replayer, post.form_body()).await;
    assert!(sso.pickup(&replayer, &next).await.is_err());
    assert_eq!(sso.whoami(&replayer).await.0, 401);

    // IdP-initiated: off by default; allowed once the admin turns it on.
    let (_, unsolicited, relay) = idp
        .idp_initiated("sam@acme.test", "Sam", &[], Some("/agents"))
        .await;
    let mut pairs = vec![("SAMLResponse", unsolicited.as_str())];
    if let Some(r) = &relay {
        pairs.push(("RelayState", r.as_str()));
    }
    let b2 = browser();
    let next = post_acs(&sso, &b2, form_body(&pairs)).await;
    assert!(sso.pickup(&b2, &next).await.is_err());
    let (status, _) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{provider}"),
            Some(json!({"allow_idp_initiated": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, unsolicited, relay) = idp
        .idp_initiated("sam@acme.test", "Sam", &[], Some("/agents"))
        .await;
    let mut pairs = vec![("SAMLResponse", unsolicited.as_str())];
    if let Some(r) = &relay {
        pairs.push(("RelayState", r.as_str()));
    }
    let next = post_acs(&sso, &b2, form_body(&pairs)).await;
    assert_eq!(sso.pickup(&b2, &next).await, Ok("/agents".to_owned()));
    // An unsolicited response has no request to consume: the replay cache refuses it.
    let b3 = browser();
    let next = post_acs(&sso, &b3, form_body(&pairs)).await;
    assert!(sso.pickup(&b3, &next).await.is_err());
    assert_eq!(sso.whoami(&b3).await.0, 401);

    assert_eq!(
        sso.refusals().await,
        vec!["wrong_in_response_to", "idp_initiated_disabled", "replayed"]
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn saml_attacks_are_refused_without_a_session(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let (idp, provider) = saml_setup(
        &sso,
        SamlIdpOptions::default(),
        json!({"trusted_email_domains": ["acme.test"]}),
    )
    .await;
    let users_before = sso.user_count().await;
    let mut expected = Vec::new();
    for (extra, reason) in [
        (
            vec![("request_id", "_not-our-request")],
            "wrong_in_response_to",
        ),
        (
            vec![("sp", "https://another-sp.test/metadata")],
            "wrong_audience",
        ),
        (
            vec![("acs", "https://another-sp.test/acs")],
            "wrong_destination",
        ),
        (vec![("lifetime", "-600")], "expired"),
        (
            vec![("sign_assertion", "0"), ("sign_response", "1")],
            "unsigned_assertion",
        ),
        (vec![("sign_assertion", "0")], "unsigned_assertion"),
        (vec![("key", "alt")], "bad_signature"),
    ] {
        let b = browser();
        let redirect = sso.start_login(&b, "saml", &provider).await;
        let post = idp
            .login_with(&redirect, "sam@acme.test", "Sam", &[], &extra)
            .await;
        let next = post_acs(&sso, &b, post.form_body()).await;
        assert!(sso.pickup(&b, &next).await.is_err(), "{reason}");
        assert_eq!(sso.whoami(&b).await.0, 401, "{reason}");
        expected.push(reason);
    }
    // An address outside the allowed domains.
    let b = browser();
    let redirect = sso.start_login(&b, "saml", &provider).await;
    let post = idp
        .login_with(&redirect, "sam@evil.test", "Sam", &[], &[])
        .await;
    let next = post_acs(&sso, &b, post.form_body()).await;
    assert!(sso.pickup(&b, &next).await.is_err());
    expected.push("domain_not_allowed");
    assert_eq!(
        sso.user_count().await,
        users_before,
        "no account was created"
    );

    // A genuine response that another browser carries to the pick-up: the IdP did vouch for
    // sam (so the account exists now), but the thief's browser gets no session.
    let b = browser();
    let redirect = sso.start_login(&b, "saml", &provider).await;
    let post = idp
        .login_with(&redirect, "sam@acme.test", "Sam", &[], &[])
        .await;
    let thief = browser();
    let next = post_acs(&sso, &thief, post.form_body()).await;
    assert!(sso.pickup(&thief, &next).await.is_err());
    assert_eq!(sso.whoami(&thief).await.0, 401);
    expected.push("state_mismatch");
    assert_eq!(sso.refusals().await, expected);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn google_microsoft_and_configured_providers_sign_in(#[case] kind: DbKind) {
    let idp = OidcIdp::start().await;
    let issuer = idp.issuer().to_owned();
    let app = TestApp::spawn_with(
        kind,
        |c| {
            c.allow_private_sso_urls = true;
            c.oidc_issuer = issuer.clone();
            c.oidc_client_id = "configured-client".to_owned();
            c.oidc_client_secret = aerie_backend::config::Redacted("configured-secret".to_owned());
            c.oidc_name = "Corp SSO".to_owned();
        },
        axum::Router::new(),
    )
    .await;
    let email = app.setup().await;
    let (owner, _) = app.login(&email, PASSWORD).await;
    let sso = Sso { app, owner };
    // Setup applies the AERIE_OIDC_* provider in the background; applying again is idempotent.
    aerie_backend::services::sso::apply_configured(&sso.app.ctx)
        .await
        .expect("apply");
    aerie_backend::services::sso::apply_configured(&sso.app.ctx)
        .await
        .expect("apply again");
    let (_, list) = sso.api(Method::GET, "/api/sso/providers", None).await;
    let configured: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["name"] == "Corp SSO")
        .collect();
    assert_eq!(configured.len(), 1, "{list}");
    assert_eq!(configured[0]["client_id"], "configured-client");
    assert_eq!(configured[0]["has_client_secret"], true);
    assert!(!list.to_string().contains("configured-secret"));

    // Google and Microsoft presets, their endpoints pointed at the local provider.
    let (status, google) = sso
        .api(Method::POST, "/api/sso/providers",
            Some(json!({"kind": "google", "issuer": issuer, "client_id": "g", "client_secret": "gs"})))
        .await;
    assert_eq!(status, 201, "{google}");
    assert_eq!(google["name"], "Google");
    let (status, microsoft) = sso
        .api(
            Method::POST,
            "/api/sso/providers",
            Some(
                json!({"kind": "microsoft", "tenant": "contoso.test", "issuer": issuer,
                        "client_id": "m", "client_secret": "ms"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{microsoft}");
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    for (kind, provider, sub) in [
        ("google", google["id"].as_str().expect("id"), "g-1"),
        ("microsoft", microsoft["id"].as_str().expect("id"), "m-1"),
        ("oidc", configured[0]["id"].as_str().expect("id"), "c-1"),
    ] {
        let b = browser();
        let authorize = sso.start_login(&b, kind, provider).await;
        assert!(
            authorize.contains(&format!(
                "redirect_uri=http%3A%2F%2F127.0.0.1%3A{}%2Fauth%2F{kind}%2Fcallback",
                sso.app.addr.port()
            )),
            "{authorize}"
        );
        let callback = idp
            .authorize(
                &authorize,
                &json!({"sub": sub, "email": format!("{sub}@acme.test"), "email_verified": true}),
            )
            .await;
        assert_eq!(
            sso.finish(&b, &callback).await,
            Ok("/chat".to_owned()),
            "{kind}"
        );
        let (_, me) = sso.whoami(&b).await;
        assert_eq!(me["email"], format!("{sub}@acme.test"));
    }
}

/// Responses crafted and signed with `xmlsec1` (the attacks listed in `docs/SECURITY.md`, "SAML"),
/// posted to the assertion consumer as an IdP-initiated login would be: each is refused with its
/// reason in the audit log, and none signs anybody in.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn crafted_saml_attacks_are_refused_and_audited(#[case] kind: DbKind) {
    use aerie_backend::testing::saml::craft::{self, Attr, Keypair, ResponseSpec, SigAlg};
    let sso = Sso::start(kind).await;
    let idp_key = Keypair::rsa("Crafted IdP", 2048).expect("key");
    let entity = "https://crafted-idp.test/metadata";
    let metadata = craft::idp_metadata_xml(
        entity,
        "http://127.0.0.1:9/sso",
        Some(craft::REDIRECT),
        Some(&idp_key),
    );
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let (status, provider) = sso
        .api(
            Method::POST,
            "/api/sso/providers",
            Some(
                json!({"kind": "saml", "name": "Crafted", "metadata_xml": metadata,
                "allow_idp_initiated": true, "trusted_email_domains": ["acme.test"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    let sp_entity = sso.app.url("/auth/saml/metadata");
    let acs = sso.app.url("/auth/saml/acs");
    let spec = |email: &str| {
        let mut s = ResponseSpec::new(entity, &sp_entity, &acs, chrono::Utc::now());
        s.in_response_to = None;
        s.name_id_xml = email.to_owned();
        s.attributes = vec![Attr {
            name: "email".to_owned(),
            friendly_name: None,
            values: vec![email.to_owned()],
        }];
        s
    };
    // A genuine response signs carol in (the IdP and its certificate are right).
    let genuine = spec("carol@acme.test").signed(&idp_key).expect("sign");
    let (outcome, (status, me)) = post_crafted(&sso, genuine.clone()).await;
    assert_eq!(outcome, Ok("/".to_owned()));
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("carol@acme.test"))
    );

    let mut expected = Vec::new();
    // Replayed.
    let (outcome, (status, _)) = post_crafted(&sso, genuine.clone()).await;
    assert!(outcome.is_err() && status == 401);
    expected.push("replayed");

    // Signature wrapping: an unsigned assertion naming the owner next to the signed one.
    let signed = spec("carol@acme.test").signed(&idp_key).expect("sign");
    let start = signed.find("<saml:Assertion").expect("assertion");
    let end = signed.rfind("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    let mut evil = spec("owner@acme.test");
    evil.sign_assertion = None;
    let wrapped = format!(
        "{}{}{}",
        &signed[..start],
        evil.assertion_xml(),
        &signed[start..]
    );
    assert!(wrapped.len() > signed.len() && end > start);
    let (outcome, (status, _)) = post_crafted(&sso, wrapped).await;
    assert!(outcome.is_err() && status == 401);
    expected.push("signature_wrapping");

    // A comment inside the NameID: the IdP vouched for owner@acme.test.evil.test, not the owner.
    let mut s = spec("owner@acme.test.evil.test");
    s.attributes.clear();
    let signed = s.signed(&idp_key).expect("sign");
    let commented = signed.replace(
        ">owner@acme.test.evil.test<",
        ">owner@acme.test<!---->.evil.test<",
    );
    assert_ne!(signed, commented);
    let (outcome, (status, _)) = post_crafted(&sso, commented).await;
    assert!(outcome.is_err() && status == 401, "{outcome:?}");
    expected.push("domain_not_allowed");

    for (mutate, reason) in [
        (
            Box::new(|s: &mut ResponseSpec| s.sign_assertion = None)
                as Box<dyn Fn(&mut ResponseSpec)>,
            "unsigned_assertion",
        ),
        (
            Box::new(|s: &mut ResponseSpec| {
                s.sign_assertion = None;
                s.sign_response = Some(SigAlg::RsaSha256);
            }),
            "unsigned_assertion",
        ),
        (
            Box::new(|s: &mut ResponseSpec| s.sign_assertion = Some(SigAlg::RsaSha1)),
            "weak_algorithm",
        ),
        (
            Box::new(|s: &mut ResponseSpec| s.audiences = vec!["https://other-sp.test".to_owned()]),
            "wrong_audience",
        ),
        (
            Box::new(|s: &mut ResponseSpec| {
                let past = chrono::Utc::now() - chrono::Duration::hours(2);
                s.issue_instant = past;
                s.not_before = Some(past);
                s.not_on_or_after = Some(past + chrono::Duration::minutes(5));
                s.confirmation_not_on_or_after = Some(past + chrono::Duration::minutes(5));
            }),
            "expired",
        ),
    ] {
        let mut s = spec("owner@acme.test");
        mutate(&mut s);
        let xml = s.signed(&idp_key).expect("sign");
        let (outcome, (status, _)) = post_crafted(&sso, xml).await;
        assert!(outcome.is_err() && status == 401, "{reason}: {outcome:?}");
        expected.push(reason);
    }
    // Signed by a key the IdP's metadata does not have.
    let stranger = Keypair::rsa("Stranger", 2048).expect("key");
    let (outcome, (status, _)) = post_crafted(
        &sso,
        spec("owner@acme.test").signed(&stranger).expect("sign"),
    )
    .await;
    assert!(outcome.is_err() && status == 401);
    expected.push("bad_signature");

    assert_eq!(sso.refusals().await, expected);
}

async fn post_crafted(sso: &Sso, xml: String) -> (Result<String, String>, (u16, Value)) {
    use aerie_backend::testing::saml::craft;
    let body = form_body(&[("SAMLResponse", &craft::b64(&xml))]);
    let b = browser();
    let next = post_acs(sso, &b, body).await;
    let outcome = sso.pickup(&b, &next).await;
    let who = sso.whoami(&b).await;
    (outcome, who)
}

/// The IdP encrypts the assertion to our SP certificate (from our metadata); an invited newcomer
/// (no JIT provisioning) signs in and gets the invitation's role.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[tokio::test]
async fn encrypted_saml_assertions_and_invitations(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let (idp, provider) = saml_setup(
        &sso,
        SamlIdpOptions {
            encrypt_assertion: true,
            sign_response: true,
            ..SamlIdpOptions::default()
        },
        json!({}),
    )
    .await;
    // No domains, no JIT: only invitations let newcomers in.
    let b = browser();
    let redirect = sso.start_login(&b, "saml", &provider).await;
    let post = idp
        .login_with(&redirect, "ivy@acme.test", "Ivy", &[], &[])
        .await;
    assert!(
        post.xml().contains("EncryptedAssertion"),
        "the IdP encrypted it"
    );
    let next = post_acs(&sso, &b, post.form_body()).await;
    assert!(sso.pickup(&b, &next).await.is_err());
    assert_eq!(sso.refusals().await, vec!["invitation_required"]);
    // The invitation below goes only to an address the IdP is authoritative for.
    sso.policy(json!({"email_domains": ["acme.test"]})).await;
    let (status, _) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{provider}"),
            Some(json!({"trusted_email_domains": ["acme.test"]})),
        )
        .await;
    assert_eq!(status, 200);

    let (status, invite) = sso
        .api(
            Method::POST,
            "/api/users",
            Some(json!({"email": "ivy@acme.test", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{invite}");
    let b = browser();
    let redirect = sso.start_login(&b, "saml", &provider).await;
    let post = idp
        .login_with(&redirect, "ivy@acme.test", "Ivy", &[], &[])
        .await;
    let next = post_acs(&sso, &b, post.form_body()).await;
    assert_eq!(sso.pickup(&b, &next).await, Ok("/chat".to_owned()));
    let (_, me) = sso.whoami(&b).await;
    assert_eq!(me["email"], "ivy@acme.test");
    assert_eq!(me["role"], "admin");
}

/// Kinds read back from the store typed: a linked identity answers its provider's kind, or `""`
/// once the provider is gone; a provider whose stored kind this build does not know is an
/// internal error wherever it is read (never a guess), and can still be deleted.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn stored_kinds_read_back_typed_and_an_unknown_one_is_an_internal_error(
    #[case] kind: DbKind,
) {
    use aerie_backend::testing::{entities::sso_providers, store};
    use aerie_contract::SsoKind;
    use aerie_contract::ids::{OrgId, SsoProviderId, UserId};
    use sea_orm_migration::sea_orm::sea_query::Expr;
    use sea_orm_migration::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let db = app.ctx.db();
    let now = chrono::Utc::now();
    let org = store::orgs::first_global(db)
        .await
        .expect("query")
        .expect("org");
    let user = store::users::find_by_email_global(db, &owner)
        .await
        .expect("query")
        .expect("owner");
    let new = store::sso::NewProvider {
        kind: SsoKind::Oidc,
        name: "Pigeon".to_owned(),
        enabled: true,
        issuer: None,
        config: json!({}),
        client_secret_enc: None,
    };
    let row = store::sso::insert(db, OrgId(org.id), new, now)
        .await
        .expect("provider");
    let gone = SsoProviderId::new();
    for (n, (provider, subject)) in [(SsoProviderId(row.id), "linked"), (gone, "orphan")]
        .into_iter()
        .enumerate()
    {
        let identity = store::sso::NewIdentity {
            user: UserId(user.id),
            provider,
            subject,
            email: None,
            email_verified: false,
            proven_at: None,
        };
        let at = now + chrono::Duration::seconds(i64::try_from(n).expect("small"));
        store::sso::insert_identity(db, OrgId(org.id), identity, at)
            .await
            .expect("identity");
    }
    let (status, ids) = app
        .authed(Method::GET, "/api/me/identities", &jwt, None)
        .await;
    assert_eq!(status, 200, "{ids}");
    let kinds: Vec<_> = ids
        .as_array()
        .expect("list")
        .iter()
        .map(|i| (i["provider_name"].clone(), i["kind"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (json!("Pigeon"), json!("oidc")),
            (json!(gone.0.to_string()), json!(""))
        ]
    );
    let (status, body) = app.get_json("/auth/setup-status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["oauth_providers"], json!(["oidc"]));

    sso_providers::Entity::update_many()
        .col_expr(sso_providers::Column::Kind, Expr::value("carrier-pigeon"))
        .filter(sso_providers::Column::Id.eq(row.id))
        .exec(db)
        .await
        .expect("an unknown kind");
    let path = format!("/api/sso/providers/{}", row.id);
    for (status, body) in [
        app.authed(Method::GET, "/api/sso/providers", &jwt, None)
            .await,
        app.authed(Method::GET, &path, &jwt, None).await,
        app.authed(Method::GET, "/api/me/identities", &jwt, None)
            .await,
        app.get_json("/auth/setup-status").await,
        app.get_json(&format!("/auth/sso/discover?org={}", org.slug))
            .await,
    ] {
        assert_eq!(status, 500, "{body}");
        assert_contract_body(&body, "SRV-001");
    }
    let (status, body) = app.authed(Method::DELETE, &path, &jwt, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app
        .authed(Method::GET, "/api/sso/providers", &jwt, None)
        .await;
    assert_eq!((status, body), (200, json!([])));
}
