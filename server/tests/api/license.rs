//! The instance's licence (seed 004; docs/LICENSING.md): Community until the operator applies a
//! licence signed by the licensor's key; a licence that does not verify is refused with the
//! reason and changes nothing; a feature of a higher tier answers 402 naming that tier;
//! `/api/health` tells the real tier; removing the licence, or its expiry, returns to Community;
//! a licence's limits hold.

use aerie_backend::config::DbKind;
use axum::Router;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::license::{PUBLIC_KEY, STRANGER, claims, sign, sign_with};
use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// An instance that verifies licences with the tests' licensor key; its operator's JWT.
async fn start(kind: DbKind) -> (TestApp, String) {
    let app = TestApp::spawn_with(
        kind,
        |c| c.license_public_key = PUBLIC_KEY.to_owned(),
        Router::new(),
    )
    .await;
    let owner = app.setup().await;
    let (op, _) = app.login(&owner, PASSWORD).await;
    (app, op)
}

async fn apply(app: &TestApp, jwt: &str, key: &str) -> (u16, Value) {
    app.authed(
        Method::POST,
        "/api/license/apply",
        jwt,
        Some(json!({"license_key": key})),
    )
    .await
}

async fn status(app: &TestApp, jwt: &str) -> Value {
    let (code, s) = app
        .authed(Method::GET, "/api/license/status", jwt, None)
        .await;
    assert_eq!(code, 200, "{s}");
    s
}

async fn health_tier(app: &TestApp) -> Value {
    let (code, h) = app.get_json("/api/health").await;
    assert_eq!(code, 200, "{h}");
    h["tier"].clone()
}

/// `GET /api/usage.csv`: the status and the body.
async fn export(app: &TestApp, jwt: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url("/api/usage.csv"))
        .bearer_auth(jwt)
        .send()
        .await
        .expect("request");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_pro_licence_unlocks_pro_features_until_it_is_removed(#[case] kind: DbKind) {
    let (app, op) = start(kind).await;
    let s = status(&app, &op).await;
    assert_eq!(s["tier"], "community");
    assert_eq!(s["state"], "none");
    assert_eq!(s["features"], json!([]));
    assert_eq!(s["verification_configured"], true);
    assert_eq!(health_tier(&app).await, "community");

    // The export is a Pro feature: 402 naming the tier, in the contract's body.
    let (code, body) = export(&app, &op).await;
    assert_eq!(code, 402, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_contract_body(&body, "BILL-002");
    assert_eq!(
        body["detail"],
        "Exporting usage as CSV needs the Pro licence tier or above; this instance runs Community."
    );

    let (code, s) = apply(&app, &op, &sign(&claims("pro", 3600))).await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["tier"], "pro");
    assert_eq!(s["state"], "active");
    assert_eq!(s["licensee"], "Acme Corp");
    assert_eq!(s["license_id"], "lic-0001");
    assert_eq!(s["features"], json!(["usage_export"]));
    assert_eq!(status(&app, &op).await["tier"], "pro");
    assert_eq!(health_tier(&app).await, "pro");
    let (code, csv) = export(&app, &op).await;
    assert_eq!(code, 200, "{csv}");
    assert!(
        csv.starts_with("id,created_at,user_id,user_email,"),
        "{csv}"
    );

    let (code, s) = app.authed(Method::DELETE, "/api/license", &op, None).await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["tier"], "community");
    assert_eq!(s["state"], "none");
    assert_eq!(health_tier(&app).await, "community");
    assert_eq!(export(&app, &op).await.0, 402);

    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"license.applied".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"license.removed".to_owned()),
        "{actions:?}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_licence_that_does_not_verify_is_refused_with_its_reason(#[case] kind: DbKind) {
    let (app, op) = start(kind).await;
    let mut wrong_audience = claims("enterprise", 3600);
    wrong_audience["aud"] = json!("someone-else");
    let mut no_licensee = claims("pro", 3600);
    no_licensee.as_object_mut().expect("claims").remove("sub");
    let mut unknown_tier = claims("platinum", 3600);
    unknown_tier["jti"] = json!("lic-9");
    // HS256 with the public key as the secret: the classic algorithm confusion.
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("enterprise", 3600),
        &jsonwebtoken::EncodingKey::from_secret(PUBLIC_KEY.as_bytes()),
    )
    .expect("signed");
    let cases = [
        (
            sign_with(STRANGER, &claims("enterprise", 3600)),
            "signature does not verify",
        ),
        (sign(&claims("pro", -60)), "has expired"),
        (sign(&wrong_audience), "another audience"),
        (sign(&no_licensee), "`sub`"),
        (sign(&unknown_tier), "claims are not valid"),
        (confused, "EdDSA"),
        ("not-a-licence".to_owned(), "not a licence key"),
        (String::new(), "license_key must be"),
    ];
    for (key, reason) in cases {
        let (code, body) = apply(&app, &op, &key).await;
        assert_eq!(code, 400, "{reason}: {body}");
        assert_contract_body(&body, "REQ-001");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{reason}: {detail}");
        assert_eq!(body["error"]["param"], "license_key");
    }
    // Nothing was stored.
    let s = status(&app, &op).await;
    assert_eq!(
        (s["tier"].clone(), s["state"].clone()),
        (json!("community"), json!("none"))
    );
    assert!(
        !app.audit_actions()
            .await
            .contains(&"license.applied".to_owned())
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn only_the_operator_applies_or_removes_a_licence(#[case] kind: DbKind) {
    let (app, op) = start(kind).await;
    let bob = app.second_org().await;
    let (bob, _) = app.login(&bob, PASSWORD).await;
    let licence = sign(&claims("pro", 3600));
    // Another organisation's owner reads the status (not whom the licence names), and may
    // change nothing.
    assert_eq!(status(&app, &bob).await["tier"], "community");
    let (code, body) = apply(&app, &bob, &licence).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["detail"], "Only the instance operator may do this.");
    // Nor may the operator's API key: the licence takes a person.
    let key = app.create_key(&op, "ops").await;
    assert_eq!(apply(&app, &key, &licence).await.0, 403);
    let (code, _) = app
        .authed(Method::GET, "/api/license/status", &key, None)
        .await;
    assert_eq!(code, 403);
    // Unauthenticated: 401.
    let res = app
        .client
        .get(app.url("/api/license/status"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);

    assert_eq!(apply(&app, &op, &licence).await.0, 200);
    let (code, _) = app.authed(Method::DELETE, "/api/license", &bob, None).await;
    assert_eq!(code, 403);
    let theirs = status(&app, &bob).await;
    assert_eq!(theirs["tier"], "pro");
    assert_eq!(theirs["licensee"], Value::Null);
    assert_eq!(theirs["license_id"], Value::Null);
    assert_eq!(status(&app, &op).await["licensee"], "Acme Corp");
}

#[tokio::test]
async fn without_a_licence_key_configured_nothing_applies() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let owner = app.setup().await;
    let (op, _) = app.login(&owner, PASSWORD).await;
    let s = status(&app, &op).await;
    assert_eq!(s["verification_configured"], false);
    let (code, body) = apply(&app, &op, &sign(&claims("pro", 3600))).await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("AERIE_LICENSE_PUBLIC_KEY"),
        "{body}"
    );
}

/// A licence that expires while applied stops counting at its expiry, with no one acting.
#[tokio::test]
async fn an_expired_licence_falls_back_to_community() {
    let (app, op) = start(DbKind::Sqlite).await;
    assert_eq!(apply(&app, &op, &sign(&claims("pro", 2))).await.0, 200);
    assert_eq!(export(&app, &op).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let s = status(&app, &op).await;
    assert_eq!(s["tier"], "community");
    assert_eq!(s["state"], "expired");
    assert_eq!(s["licensee"], "Acme Corp");
    assert_eq!(health_tier(&app).await, "community");
    assert_eq!(export(&app, &op).await.0, 402);
}

/// A licence for two organisations and three people: the third organisation and the fourth
/// person are refused with 402, by the operator's API and by invitation alike.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_licences_limits_hold(#[case] kind: DbKind) {
    let (app, op) = start(kind).await;
    let mut limited = claims("enterprise", 3600);
    limited["limits"] = json!({"users": 3, "organizations": 2});
    let (code, s) = apply(&app, &op, &sign(&limited)).await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["limits"], json!({"users": 3, "organizations": 2}));

    // Two organisations (Acme and Globex) fill the licence.
    app.second_org().await;
    let (code, body) = app
        .authed(
            Method::POST,
            "/api/operator/organizations",
            &op,
            Some(json!({"name": "Initech", "owner_email": "peter@initech.test"})),
        )
        .await;
    assert_eq!(code, 402, "{body}");
    assert_contract_body(&body, "BILL-002");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("allows 2 organisations"),
        "{body}"
    );

    // Three people: Acme's owner, Globex's owner and one member; the next invitee is refused.
    app.join(&op, "carol@acme.test", "member").await;
    let (code, invite) = app
        .authed(
            Method::POST,
            "/api/users",
            &op,
            Some(json!({"email": "dave@acme.test", "role": "member"})),
        )
        .await;
    assert_eq!(code, 201, "{invite}");
    let (code, body) = app
        .post_json(
            "/auth/signup",
            json!({"email": "dave@acme.test", "password": PASSWORD, "invite_token": invite["token"]}),
        )
        .await;
    assert_eq!(code, 402, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("allows 3 people"),
        "{body}"
    );
}
