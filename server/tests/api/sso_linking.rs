//! Account takeover through single sign-on (`docs/SSO.md`, "Linking to an existing account";
//! `docs/SECURITY.md`), against the real local
//! identity providers: an identity is linked to an existing account only with proof (the
//! account's password or session, or a provider the organisation marked authoritative for the
//! email's domain), owners never automatically; a provider never vouches for more than the role
//! of whoever last changed it; IdP-initiated SAML pick-ups stay in the browser that posted.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::sso::{Sso, browser, post_acs, saml_setup};
use crate::support::idp::{OidcIdp, SamlIdp, SamlIdpOptions, form_body};
use crate::support::{PASSWORD, assert_contract_body};

/// The details of audit events of `action`, oldest first.
async fn audited(sso: &Sso, action: &str) -> Vec<(Option<String>, Value)> {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
    let db = sso.app.ctx.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT actor_user_id, action, details FROM audit_events ORDER BY created_at, id"
                .to_owned(),
        ))
        .await
        .expect("audit");
    rows.iter()
        .filter(|r| r.try_get::<String>("", "action").is_ok_and(|a| a == action))
        .map(|r| {
            let actor = r
                .try_get::<Option<uuid::Uuid>>("", "actor_user_id")
                .expect("actor")
                .map(|u| u.to_string());
            let details = r
                .try_get::<Value>("", "details")
                .or_else(|_| {
                    r.try_get::<String>("", "details")
                        .map(|s| serde_json::from_str(&s).unwrap_or(Value::Null))
                })
                .expect("details");
            (actor, details)
        })
        .collect()
}

/// Signs in through the OIDC provider as `claims` in a new browser: the browser and where the
/// sign-in ended (`Ok(return path)`, or `Err` of the link page / the error).
async fn oidc_sign_in(
    sso: &Sso,
    idp: &OidcIdp,
    provider: &str,
    claims: Value,
) -> (reqwest::Client, Result<String, String>) {
    let b = browser();
    let authorize = sso.start_login(&b, "oidc", provider).await;
    let callback = idp.authorize(&authorize, &claims).await;
    let outcome = sso.finish(&b, &callback).await;
    (b, outcome)
}

async fn my_role(sso: &Sso, b: &reqwest::Client) -> Option<String> {
    let (status, me) = sso.whoami(b).await;
    (status == 200).then(|| me["role"].as_str().unwrap_or_default().to_owned())
}

/// An admin adds an identity provider they control, marks it authoritative for the
/// organisation's domain, and signs in through it as the owner's verified email. No owner
/// session results, the refusal is audited, and the provider's changes are audited with who
/// made them. The same provider may still vouch for members (up to the admin's own role).
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn an_admins_own_identity_provider_cannot_become_the_owner(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let admin = sso.app.join(&sso.owner, "ada@acme.test", "admin").await;
    let member_jwt = sso.app.join(&sso.owner, "mo@acme.test", "member").await;
    assert!(!member_jwt.is_empty());
    let idp = OidcIdp::start().await;
    let (status, provider) = sso
        .app
        .authed(
            Method::POST,
            "/api/sso/providers",
            &admin,
            Some(
                json!({"kind": "oidc", "name": "Ada's IdP", "issuer": idp.issuer(),
                "client_id": "aerie-test", "client_secret": "oidc-client-secret-9921",
                "trusted_email_domains": ["acme.test"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    assert_eq!(provider["max_role"], "admin", "{provider}");
    assert_eq!(provider["trusted_email_domains"], json!(["acme.test"]));
    let id = provider["id"].as_str().expect("id").to_owned();

    // The owner's verified email, asserted by the admin's IdP: no session, a link page.
    let (b, outcome) = oidc_sign_in(
        &sso,
        &idp,
        &id,
        json!({"sub": "fake-owner", "email": "owner@acme.test", "email_verified": true}),
    )
    .await;
    let link_page = outcome.expect_err("no sign-in");
    assert!(link_page.starts_with("/link-account?code="), "{link_page}");
    assert_eq!(my_role(&sso, &b).await, None);
    let (status, perms) = {
        let res = b
            .get(sso.app.url("/auth/my-permissions"))
            .send()
            .await
            .expect("perms");
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    assert_eq!(status, 401, "{perms}");
    // Guessing the password on the link page does not help either.
    let back = sso.link(&b, &link_page, Some("not-the-password")).await;
    assert!(back.starts_with("/link-account?code="), "{back}");
    assert!(back.contains("error="), "{back}");
    assert_eq!(my_role(&sso, &b).await, None);

    // A member's email, which the admin's provider may vouch for (authoritative for the domain,
    // the member's role not above the admin's): linked without further proof.
    let (b2, outcome) = oidc_sign_in(
        &sso,
        &idp,
        &id,
        json!({"sub": "mo-1", "email": "mo@acme.test", "email_verified": true}),
    )
    .await;
    assert_eq!(outcome, Ok("/chat".to_owned()));
    assert_eq!(my_role(&sso, &b2).await.as_deref(), Some("member"));

    // The refusal is audited with its reason, against the provider.
    let refused = audited(&sso, "sso.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].1["reason"], "proof_required");
    assert_eq!(refused[0].1["provider"], id.as_str());
    assert_eq!(refused[0].1["email"], "owner@acme.test");
    // The wrong password on the link page is a failed login of the owner's account.
    let failed = audited(&sso, "login.failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1["method"], "sso_link");
    // The provider's creation names the admin who made it, and the role it is capped at.
    let (_, me) = sso
        .app
        .authed(Method::GET, "/auth/user", &admin, None)
        .await;
    let created = audited(&sso, "sso_provider.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0.as_deref(), me["id"].as_str(), "{created:?}");
    assert_eq!(created[0].1["max_role"], "admin");
    // The only single sign-on was the member's.
    let logins = audited(&sso, "sso.login").await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].1["account"], "linked_by_email");
}

/// Linking needs proof. A verified email of an existing member, from a provider that is
/// not authoritative for the domain, stops at the link page; the account's password (from the
/// same browser only) links it. The link then signs in directly, until the provider is changed
/// by someone ranking below the account: then the proof is asked again.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn linking_an_existing_account_needs_its_password(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    let idp = OidcIdp::start().await;
    let provider = sso.oidc_provider(&idp, json!({})).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let claims = json!({"sub": "olive-9", "email": "owner@acme.test", "email_verified": true});

    // The link page tells which provider and email wait, and nothing is linked yet.
    let (b, outcome) = oidc_sign_in(&sso, &idp, &provider, claims.clone()).await;
    let link_page = outcome.expect_err("the link page");
    let code = crate::sso::url_param(link_page.split_once('?').map_or("", |(_, q)| q), "code");
    let (status, pending) = sso
        .app
        .get_json(&format!("/auth/sso/link?code={code}"))
        .await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["email"], "owner@acme.test");
    assert_eq!(pending["provider_name"], "Local OIDC");
    assert_eq!(pending["signed_in_as_account"], false);
    let (status, ids) = sso.api(Method::GET, "/api/me/identities", None).await;
    assert_eq!((status, ids), (200, json!([])));

    // The link page renders for a person (server-side, with the form posting to the link).
    let html = b
        .get(sso.app.url(&link_page))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("/auth/sso/link"), "{html}");

    // Another browser holding the code cannot use it, even with the right password.
    let thief = browser();
    let back = sso.link(&thief, &link_page, Some(PASSWORD)).await;
    assert!(back.contains("another+browser"), "{back}");
    assert_eq!(my_role(&sso, &thief).await, None);
    // A missing password is a clear error; the right one links and signs in.
    let back = sso.link(&b, &link_page, None).await;
    assert!(back.contains("error=Enter+the+password"), "{back}");
    assert_eq!(sso.link(&b, &link_page, Some(PASSWORD)).await, "/chat");
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("owner"));
    // One use.
    let again = sso.link(&b, &link_page, Some(PASSWORD)).await;
    assert!(again.contains("error="), "{again}");
    let (_, ids) = sso.api(Method::GET, "/api/me/identities", None).await;
    assert_eq!(ids.as_array().map(Vec::len), Some(1), "{ids}");
    let linked = audited(&sso, "sso.linked").await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].1["proof"], "password");

    // The proven identity signs the owner in directly.
    let (b, outcome) = oidc_sign_in(&sso, &idp, &provider, claims.clone()).await;
    assert_eq!(outcome, Ok("/chat".to_owned()));
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("owner"));

    // An admin changes the provider (say, points it elsewhere): the owner's identity no longer
    // signs in without a new proof; a session of the owner in this browser is proof enough.
    let admin = sso.app.join(&sso.owner, "ada@acme.test", "admin").await;
    let (status, changed) = sso
        .app
        .authed(
            Method::PATCH,
            &format!("/api/sso/providers/{provider}"),
            &admin,
            Some(json!({"name": "Renamed by Ada"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["max_role"], "admin");
    let (b, outcome) = oidc_sign_in(&sso, &idp, &provider, claims.clone()).await;
    let link_page = outcome.expect_err("proof again");
    assert_eq!(my_role(&sso, &b).await, None);
    // Sign in with the password in this browser (the login form), then confirm.
    let res = b
        .post(sso.app.url("/auth/admin-login"))
        .header("origin", sso.app.url(""))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": "owner@acme.test", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 200);
    let code = crate::sso::url_param(link_page.split_once('?').map_or("", |(_, q)| q), "code");
    let pending: Value = b
        .get(sso.app.url(&format!("/auth/sso/link?code={code}")))
        .send()
        .await
        .expect("pending")
        .json()
        .await
        .expect("json");
    assert_eq!(pending["signed_in_as_account"], true, "{pending}");
    assert_eq!(sso.link(&b, &link_page, None).await, "/chat");
    let proven = audited(&sso, "sso.link_proven").await;
    assert_eq!(proven.len(), 1);
    assert_eq!(proven[0].1["proof"], "session");
    let (b, outcome) = oidc_sign_in(&sso, &idp, &provider, claims).await;
    assert_eq!(outcome, Ok("/chat".to_owned()));
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("owner"));

    // An identity provider may be authoritative only for the organisation's own domains.
    let (status, body) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{provider}"),
            Some(json!({"trusted_email_domains": ["globex.test"]})),
        )
        .await;
    // Refused because of the policy's present state (409), naming the field.
    assert_eq!(status, 409, "{body}");
    assert_contract_body(&body, "REQ-008");
    assert_eq!(body["error"]["param"], "trusted_email_domains");
}

/// The same for SAML (and, by the same rule, Nextcloud): an email attribute proves nothing. Unless
/// the organisation marked the IdP authoritative for the domain, a SAML user whose email is a
/// member's (or the owner's) lands on the link page, and newcomers are not provisioned; once
/// authoritative, members link automatically, the owner still never.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn saml_emails_link_only_where_the_idp_is_authoritative(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let _member = sso.app.join(&sso.owner, "mo@acme.test", "member").await;
    let (idp, provider) = saml_setup(&sso, SamlIdpOptions::default(), json!({})).await;
    let users_before = sso.user_count().await;

    let saml_sign_in = |email: &'static str| saml_sign_in(&sso, &idp, &provider, email);
    for email in ["owner@acme.test", "mo@acme.test"] {
        let (b, outcome) = saml_sign_in(email).await;
        let page = outcome.expect_err(email);
        assert!(page.starts_with("/link-account?code="), "{email}: {page}");
        assert_eq!(my_role(&sso, &b).await, None, "{email}");
    }
    let (b, outcome) = saml_sign_in("newcomer@acme.test").await;
    assert!(outcome.is_err());
    assert_eq!(my_role(&sso, &b).await, None);
    assert_eq!(sso.user_count().await, users_before, "nobody provisioned");
    assert_eq!(
        sso.refusals().await,
        vec!["proof_required", "proof_required", "unverified_email"]
    );

    // Authoritative for acme.test (shown to the admin): members link, newcomers are
    // provisioned, the owner still proves the account.
    let (status, changed) = sso
        .api(
            Method::PATCH,
            &format!("/api/sso/providers/{provider}"),
            Some(json!({"trusted_email_domains": ["acme.test"]})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let (b, outcome) = saml_sign_in("mo@acme.test").await;
    assert_eq!(outcome, Ok("/chat".to_owned()));
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("member"));
    let (b, outcome) = saml_sign_in("newcomer@acme.test").await;
    assert_eq!(outcome, Ok("/chat".to_owned()));
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("member"));
    let (b, outcome) = saml_sign_in("owner@acme.test").await;
    assert!(outcome.is_err_and(|p| p.starts_with("/link-account?code=")));
    assert_eq!(my_role(&sso, &b).await, None);
}

async fn saml_sign_in(
    sso: &Sso,
    idp: &SamlIdp,
    provider: &str,
    email: &str,
) -> (reqwest::Client, Result<String, String>) {
    let b = browser();
    let redirect = sso.start_login(&b, "saml", provider).await;
    let post = idp.login_with(&redirect, email, "Someone", &[], &[]).await;
    let next = post_acs(sso, &b, post.form_body()).await;
    let outcome = sso.pickup(&b, &next).await;
    (b, outcome)
}

/// An unsolicited (IdP-initiated) response for sam, returning to `/agents`.
async fn unsolicited(idp: &SamlIdp) -> String {
    let (_, response, _) = idp
        .idp_initiated("sam@acme.test", "Sam", &[], Some("/agents"))
        .await;
    form_body(&[("SAMLResponse", &response), ("RelayState", "/agents")])
}

/// An IdP-initiated SAML sign-in binds its pick-up to the browser that posted the
/// response; the pick-up link opened in another browser signs nobody in.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn idp_initiated_pickups_stay_in_the_posting_browser(#[case] kind: DbKind) {
    let sso = Sso::start(kind).await;
    sso.policy(json!({"email_domains": ["acme.test"], "jit_provisioning": true}))
        .await;
    let (idp, _provider) = saml_setup(
        &sso,
        SamlIdpOptions::default(),
        json!({"allow_idp_initiated": true, "trusted_email_domains": ["acme.test"]}),
    )
    .await;
    // The attacker posts a response of their own and hands the pick-up link to a victim.
    let attacker = browser();
    let next = post_acs(&sso, &attacker, unsolicited(&idp).await).await;
    assert!(next.starts_with("/auth/login-pickup?code="), "{next}");
    let victim = browser();
    let err = sso.pickup(&victim, &next).await.expect_err("bound");
    assert!(err.contains("another browser"), "{err}");
    assert_eq!(my_role(&sso, &victim).await, None);
    // In the posting browser a fresh response signs in.
    let b = browser();
    let next = post_acs(&sso, &b, unsolicited(&idp).await).await;
    assert_eq!(sso.pickup(&b, &next).await, Ok("/agents".to_owned()));
    assert_eq!(my_role(&sso, &b).await.as_deref(), Some("member"));
}
