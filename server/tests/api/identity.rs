//! First-run setup, JWT login and refresh rotation, API keys over both API families, tenancy.

use aerie_backend::config::DbKind;
use aerie_backend::testing::store;
use aerie_contract::ids::OrgId;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

const SEED_KEY_MESSAGE: &str =
    "Invalid or expired API key. Check that the key is active and has not expired.";

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn setup_happens_exactly_once_and_validates_every_field(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, body) = app.get_json("/auth/setup-status").await;
    assert_eq!(status, 200);
    assert_eq!(body["bootstrapped"], false);
    assert_eq!(body["locales"], json!(["en"]));

    for (input, field) in [
        (json!({"password": PASSWORD}), "email"),
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "a@acme.test", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@acme.test", "password": PASSWORD, "organization_name": "  "}),
            "organization_name",
        ),
    ] {
        let (status, body) = app.post_json("/auth/setup", input.clone()).await;
        assert_eq!(status, 400, "{input}");
        assert_eq!(body["error"]["param"], field, "{body}");
        assert_contract_body(&body, "REQ-001");
    }
    // Nothing was half-written by the refusals.
    assert_eq!(
        app.get_json("/auth/setup-status").await.1["bootstrapped"],
        false
    );

    let (status, body) = app
        .post_json(
            "/auth/setup",
            json!({"email": " Owner@ACME.test ", "password": PASSWORD, "name": "Olive", "organization_name": "Acme Research"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], "owner@acme.test");
    assert_eq!(body["user"]["role"], "owner");
    assert_eq!(body["organization"]["slug"], "acme-research");
    assert!(body.to_string().find(PASSWORD).is_none());

    let (status, body) = app
        .post_json(
            "/auth/setup",
            json!({"email": "x@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 409);
    assert_contract_body(&body, "REQ-008");
    assert_eq!(
        app.get_json("/auth/setup-status").await.1["bootstrapped"],
        true
    );
    assert_eq!(app.audit_actions().await, ["setup.completed"]);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn login_does_not_reveal_which_emails_exist(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (s1, wrong_password) = app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": email, "password": "nope-nope-nope"}),
        )
        .await;
    let (s2, unknown_email) = app
        .post_json(
            "/auth/jwt/create/",
            json!({"email": "ghost@acme.test", "password": "nope-nope-nope"}),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong_password, unknown_email);
    assert_contract_body(&wrong_password, "AUTH-004");

    let (status, body) = app
        .post_json("/auth/jwt/create/", json!({"email": email}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "password field is required.");

    let (access, refresh) = app.login(&email, PASSWORD).await;
    assert!(access.starts_with("eyJ") && refresh.starts_with("rt_"));
    let actions = app.audit_actions().await;
    assert_eq!(
        actions,
        [
            "setup.completed",
            "login.failed",
            "login.failed",
            "login.succeeded"
        ]
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_its_family(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (_, first) = app.login(&email, PASSWORD).await;

    let (status, pair) = app
        .post_json("/auth/jwt/refresh/", json!({"refresh": first}))
        .await;
    assert_eq!(status, 200, "{pair}");
    let second = pair["refresh"].as_str().expect("refresh").to_owned();
    assert_ne!(second, first);
    let (status, _) = app
        .authed(
            Method::GET,
            "/v1/billings/api-keys/",
            pair["access"].as_str().expect("a"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Someone replays the first token: refused, and the whole family dies with it.
    let (status, body) = app
        .post_json("/auth/jwt/refresh/", json!({"refresh": first}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["messages"][0]["token_class"], "RefreshToken");
    let (status, _) = app
        .post_json("/auth/jwt/refresh/", json!({"refresh": second}))
        .await;
    assert_eq!(status, 401, "the rotated token was revoked with its family");
    assert!(
        app.audit_actions()
            .await
            .contains(&"token.reuse_detected".to_owned())
    );

    let (status, body) = app
        .post_json("/auth/jwt/refresh/", json!({"refresh": "rt_garbage"}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "token_not_valid");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn invalid_tokens_answer_token_not_valid(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.setup().await;
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let res = app
        .client
        .get(app.url("/v1/billings/api-keys/"))
        .bearer_auth(forged)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["detail"], "Given token not valid for any token type");
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["messages"][0]["token_class"], "AccessToken");

    let (status, body) = app.get_json("/v1/billings/api-keys/").await;
    assert_eq!(status, 401);
    assert_contract_body(&body, "AUTH-001");

    // Public endpoints do not care about bad credentials.
    let (status, _) = app.authed(Method::GET, "/api/health", forged, None).await;
    assert_eq!(status, 200);
}

/// Calls a data-plane endpoint (the profile) with `key`; API keys do not reach key management.
async fn key_status(app: &TestApp, key: &str, header: &str) -> (u16, serde_json::Value) {
    let req = app.client.get(app.url("/auth/user"));
    let req = if header == "bearer" {
        req.bearer_auth(key)
    } else {
        req.header("x-api-key", key)
    };
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn api_key_lifecycle(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;

    let (status, body) = app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &jwt,
            Some(json!({"name": "ci", "expires_at": "yesterday"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "expires_at");
    let (status, body) = app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &jwt,
            Some(json!({"expires_at": "30d"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "name field is required.");

    let (status, created) = app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &jwt,
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));

    // Listed without the secret, over both families.
    let (status, list) = app
        .authed(Method::GET, "/v1/billings/api-keys/", &jwt, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(!list.to_string().contains(&key));
    assert!(list[0].get("key").is_none());
    assert_eq!(list[0]["status"], "active");

    // The key authenticates as Bearer and as X-API-Key, and records its use.
    assert_eq!(key_status(&app, &key, "bearer").await.0, 200);
    let (status, me) = key_status(&app, &key, "x-api-key").await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "owner@acme.test");
    let (_, mine) = app.authed(Method::GET, "/api/api-keys", &jwt, None).await;
    assert!(mine[0]["last_used_at"].is_string(), "{mine}");

    // JWT-only endpoints refuse API keys.
    let (status, body) = app
        .authed(Method::GET, "/v1/billings/api-keys/", &key, None)
        .await;
    assert_eq!(status, 401);
    assert!(
        body["detail"].as_str().unwrap_or_default().contains("JWT"),
        "{body}"
    );

    // Expiry: set, malformed, cleared.
    let path = format!("/v1/billings/api-keys/{id}/update/");
    let (status, body) = app
        .authed(
            Method::PATCH,
            &path,
            &jwt,
            Some(json!({"expires_at": "2027-01-31"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_at"], "2027-02-01T00:00:00Z");
    let (status, body) = app
        .authed(
            Method::PATCH,
            &path,
            &jwt,
            Some(json!({"expires_at": "soonish"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "expires_at");
    let (status, body) = app
        .authed(
            Method::PATCH,
            &path,
            &jwt,
            Some(json!({"expires_at": null})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["expires_at"].is_null());

    // Rotation: the new secret works, the old one stops at once.
    let (status, rotated) = app
        .authed(
            Method::POST,
            &format!("/v1/billings/api-keys/{id}/rotate/"),
            &jwt,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let new_key = rotated["key"].as_str().expect("key").to_owned();
    assert_ne!(new_key, key);
    let (status, body) = key_status(&app, &key, "bearer").await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], SEED_KEY_MESSAGE);
    assert_eq!(key_status(&app, &new_key, "bearer").await.0, 200);

    // Revocation over the workspace API.
    let res = app
        .client
        .delete(app.url(&format!("/api/api-keys/{id}")))
        .bearer_auth(&jwt)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 204);
    let (status, body) = key_status(&app, &new_key, "x-api-key").await;
    assert_eq!(status, 401);
    assert_contract_body(&body, "AUTH-002");
    assert_eq!(body["detail"], SEED_KEY_MESSAGE);

    // An expired key is refused the same way.
    let (_, short) = app
        .authed(
            Method::POST,
            "/api/api-keys",
            &jwt,
            Some(json!({"name": "short", "expires_at": "1m"})),
        )
        .await;
    let short_key = short["key"].as_str().expect("key").to_owned();
    assert_eq!(key_status(&app, &short_key, "bearer").await.0, 200);
    expire_all_keys(&app).await;
    // A change made behind this instance's back is seen once the key cache forgets it (at most
    // KEY_CACHE_TTL later); the test does not wait for that.
    app.ctx.key_cache().clear();
    assert_eq!(
        key_status(&app, &short_key, "bearer").await.1["detail"],
        SEED_KEY_MESSAGE
    );

    let actions = app.audit_actions().await;
    for action in [
        "api_key.created",
        "api_key.expiry_changed",
        "api_key.rotated",
        "api_key.revoked",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} not audited: {actions:?}"
        );
    }
    // Nothing secret reached the audit trail or any key listing.
    let audit = audit_dump(&app).await;
    for secret in [&key, &new_key, &short_key] {
        assert!(!audit.contains(secret.as_str()));
    }
}

async fn expire_all_keys(app: &TestApp) {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
    let db = app.ctx.db();
    let past = "2020-01-01T00:00:00+00:00";
    let sql = match db.get_database_backend() {
        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
            format!("UPDATE api_keys SET expires_at = '{past}'::timestamptz")
        }
        _ => format!("UPDATE api_keys SET expires_at = '{past}'"),
    };
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("expire");
}

async fn audit_dump(app: &TestApp) -> String {
    let org = store::orgs::first_global(app.ctx.db())
        .await
        .expect("org")
        .expect("some org");
    let events = store::audit::list(app.ctx.db(), OrgId(org.id))
        .await
        .expect("events");
    events
        .iter()
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn keys_of_another_organisation_are_not_found(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt_a, _) = app.login(&email, PASSWORD).await;
    let (_, key_a) = app
        .authed(
            Method::POST,
            "/v1/billings/api-keys/",
            &jwt_a,
            Some(json!({"name": "a"})),
        )
        .await;
    let id_a = key_a["id"].as_str().expect("id").to_owned();

    // A second organisation with its own user.
    let bob = app.second_org().await;
    let (jwt_b, _) = app.login(&bob, PASSWORD).await;
    let (_, key_b) = app
        .authed(
            Method::POST,
            "/api/api-keys",
            &jwt_b,
            Some(json!({"name": "b"})),
        )
        .await;
    let key_b = key_b["key"].as_str().expect("key").to_owned();

    // Key management takes a person: org B's API key is refused before any lookup.
    let (status, body) = app
        .authed(
            Method::DELETE,
            &format!("/api/api-keys/{id_a}"),
            &key_b,
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    for credential in [&jwt_b] {
        let (status, list) = app
            .authed(Method::GET, "/api/api-keys", credential, None)
            .await;
        assert_eq!(status, 200);
        assert!(
            !list.to_string().contains(&id_a),
            "org A's key listed to org B"
        );
        let (status, body) = app
            .authed(
                Method::DELETE,
                &format!("/api/api-keys/{id_a}"),
                credential,
                None,
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_contract_body(&body, "RES-001");
    }
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/v1/billings/api-keys/{id_a}/update/"),
            Some(json!({"expires_at": null})),
        ),
        (
            Method::POST,
            format!("/v1/billings/api-keys/{id_a}/rotate/"),
            None,
        ),
    ] {
        let (status, answer) = app.authed(method, &path, &jwt_b, body).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(!answer.to_string().contains("Acme"), "{answer}");
    }
    // Org A's key still works: nothing crossed.
    let (status, _) = app
        .authed(
            Method::GET,
            "/auth/user",
            key_a["key"].as_str().expect("k"),
            None,
        )
        .await;
    assert_eq!(status, 200);
}
