//! Organisations, signup modes, invitations, users admin, groups, roles, and a table-driven
//! tenancy walk over every identity route.

use aerie_backend::config::DbKind;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, assert_contract_body};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn organization_settings_over_both_families(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;

    let (status, list) = app.authed(Method::GET, "/v1/orgs/", &jwt, None).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["slug"], "acme");
    let (status, org) = app
        .authed(
            Method::PATCH,
            "/v1/orgs/acme/",
            &jwt,
            Some(json!({"name": "Acme Labs", "allowed_domains": ["Legal", "hr"]})),
        )
        .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["allowed_domains"], json!(["legal", "hr"]));
    let (status, body) = app
        .authed(
            Method::PATCH,
            "/v1/orgs/acme/",
            &jwt,
            Some(json!({"allowed_domains": ["bad domain!"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "allowed_domains");
    let (status, _) = app
        .authed(Method::GET, "/v1/orgs/globex/", &jwt, None)
        .await;
    assert_eq!(status, 404);

    let (status, org) = app
        .authed(Method::GET, "/api/organisation", &jwt, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(org["name"], "Acme Labs");
    let (status, body) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &jwt,
            Some(json!({"signup_mode": "anarchy"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "signup_mode");

    // Members read but do not write; API keys are refused where seed 000 wants a JWT.
    let member = app.join(&jwt, "mia@acme.test", "member").await;
    let (status, body) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &member,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, 403);
    assert_contract_body(&body, "AUTH-005");
    let (_, key) = app
        .authed(
            Method::POST,
            "/api/api-keys",
            &jwt,
            Some(json!({"name": "k"})),
        )
        .await;
    let (status, _) = app
        .authed(
            Method::GET,
            "/v1/orgs/",
            key["key"].as_str().expect("key"),
            None,
        )
        .await;
    assert_eq!(status, 401);

    // Listed publicly only once its admins say so (scoping.rs covers the default).
    let (status, _) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &jwt,
            Some(json!({"public": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, public) = app.get_json("/auth/organizations/public").await;
    assert_eq!(status, 200);
    assert_eq!(public, json!([{"slug": "acme", "name": "Acme Labs"}]));
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn signup_follows_the_organisation_mode(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let signup = |email: &str| json!({"email": email, "password": PASSWORD});

    // Default: invitation only.
    let (status, body) = app.post_json("/auth/signup", signup("eve@acme.test")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("invitation")
    );

    // An invitation: resolvable, single-use, bound to its email.
    let (status, invite) = app
        .authed(
            Method::POST,
            "/api/users",
            &jwt,
            Some(json!({"email": "ina@acme.test", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201);
    let token = invite["token"].as_str().expect("token").to_owned();
    let (status, info) = app.get_json(&format!("/auth/invite/{token}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (info["email"].as_str(), info["role"].as_str()),
        (Some("ina@acme.test"), Some("admin"))
    );
    let (status, body) = app
        .post_json(
            "/auth/signup",
            json!({"email": "other@acme.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "email");
    let (status, joined) = app
        .post_json(
            "/auth/signup",
            json!({"email": "ina@acme.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(
        (joined["status"].as_str(), joined["user"]["role"].as_str()),
        (Some("active"), Some("admin"))
    );
    let (status, body) = app
        .post_json(
            "/auth/signup",
            json!({"email": "ina2@acme.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(status, 400, "used invitations are refused: {body}");
    assert_eq!(app.get_json(&format!("/auth/invite/{token}")).await.0, 404);

    // Waitlist: the account waits for an admin.
    let (status, _) = app
        .authed(
            Method::PUT,
            "/auth/admin/signup-settings",
            &jwt,
            Some(json!({"mode": "waitlist", "default_role": "member"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, pending) = app
        .post_json("/auth/pending-signup", signup("wes@acme.test"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(pending["status"], "waitlisted");
    let (status, _) = app
        .post_json("/auth/jwt/create/", signup("wes@acme.test"))
        .await;
    assert_eq!(status, 401, "waitlisted accounts cannot sign in");
    let (_, list) = app
        .authed(Method::GET, "/auth/admin/waitlist", &jwt, None)
        .await;
    let wes = list[0]["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .authed(
            Method::POST,
            &format!("/auth/admin/waitlist/{wes}/approve"),
            &jwt,
            None,
        )
        .await;
    assert_eq!(status, 200);
    app.login("wes@acme.test", PASSWORD).await;
    let (_, rejected) = app.post_json("/auth/signup", signup("rex@acme.test")).await;
    let rex = rejected["user"]["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .authed(
            Method::POST,
            &format!("/auth/admin/waitlist/{rex}/reject"),
            &jwt,
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Open and closed.
    app.authed(
        Method::PUT,
        "/auth/admin/signup-settings",
        &jwt,
        Some(json!({"mode": "open"})),
    )
    .await;
    let (status, open) = app
        .post_json("/auth/signup", signup("olga@acme.test"))
        .await;
    assert_eq!((status, open["status"].as_str()), (201, Some("active")));
    let (status, _) = app
        .post_json("/auth/signup", signup("olga@acme.test"))
        .await;
    assert_eq!(status, 409);
    app.authed(
        Method::PUT,
        "/auth/admin/signup-settings",
        &jwt,
        Some(json!({"mode": "closed"})),
    )
    .await;
    let (status, _) = app
        .post_json("/auth/signup", signup("carl@acme.test"))
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .authed(
            Method::PUT,
            "/auth/admin/signup-settings",
            &jwt,
            Some(json!({"mode": "sometimes"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("mode"))
    );

    let actions = app.audit_actions().await;
    for a in [
        "user.invited",
        "signup.invited_accepted",
        "signup.waitlisted",
        "signup.approved",
        "signup.rejected",
        "signup.open",
        "signup_settings.updated",
    ] {
        assert!(
            actions.contains(&a.to_owned()),
            "{a} missing in {actions:?}"
        );
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn users_admin_roles_status_and_soft_delete(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let member = app.join(&jwt, "mia@acme.test", "member").await;

    let (status, body) = app.authed(Method::GET, "/api/users", &member, None).await;
    assert_eq!(status, 403, "members cannot administer users: {body}");
    let (status, users) = app.authed(Method::GET, "/api/users", &jwt, None).await;
    assert_eq!(status, 200);
    let id_of = |users: &Value, email: &str| {
        users
            .as_array()
            .and_then(|u| u.iter().find(|u| u["email"] == email))
            .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
    };
    let mia = id_of(&users, "mia@acme.test").expect("mia listed");
    let olive = id_of(&users, "owner@acme.test").expect("owner listed");

    let (status, body) = app
        .authed(
            Method::PATCH,
            &format!("/api/users/{mia}"),
            &jwt,
            Some(json!({"role": "emperor"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("role"))
    );
    let (status, body) = app
        .authed(
            Method::PATCH,
            &format!("/api/users/{mia}"),
            &jwt,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!((status, body["role"].as_str()), (200, Some("admin")));
    // An admin cannot touch the owner, and the last owner cannot step down.
    let (status, _) = app
        .authed(
            Method::PATCH,
            &format!("/api/users/{olive}"),
            &member,
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .authed(
            Method::PATCH,
            &format!("/api/users/{olive}"),
            &jwt,
            Some(json!({"role": "member"})),
        )
        .await;
    // The last active owner: refused because of the organisation's state (409, not 400).
    assert_eq!(status, 409);

    // Disabled accounts stop working at once, for every credential.
    let (_, key) = app
        .authed(
            Method::POST,
            "/api/api-keys",
            &member,
            Some(json!({"name": "mia"})),
        )
        .await;
    let key = key["key"].as_str().expect("key").to_owned();
    let (status, body) = app
        .authed(
            Method::PATCH,
            &format!("/api/users/{mia}"),
            &jwt,
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("disabled")));
    assert_eq!(
        app.authed(Method::GET, "/auth/user", &member, None).await.0,
        401
    );
    assert_eq!(
        app.authed(Method::GET, "/auth/user", &key, None).await.0,
        401
    );
    assert_eq!(
        app.post_json(
            "/auth/jwt/create/",
            json!({"email": "mia@acme.test", "password": PASSWORD})
        )
        .await
        .0,
        401
    );

    let res = app
        .client
        .delete(app.url(&format!("/api/users/{mia}")))
        .bearer_auth(&jwt)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    let (_, users) = app.authed(Method::GET, "/api/users", &jwt, None).await;
    assert!(
        id_of(&users, "mia@acme.test").is_none(),
        "soft-deleted users are not listed"
    );
    let actions = app.audit_actions().await;
    for a in ["user.role_changed", "user.status_changed", "user.deleted"] {
        assert!(actions.contains(&a.to_owned()), "{a} missing");
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn groups_and_membership(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let member = app.join(&jwt, "mia@acme.test", "member").await;
    let (_, me) = app.authed(Method::GET, "/auth/user", &member, None).await;
    let mia = me["id"].as_str().expect("id").to_owned();

    let (status, _) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &member,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &jwt,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("name"))
    );
    let (status, group) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &jwt,
            Some(json!({"name": "Legal", "description": "Counsel"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &jwt,
            Some(json!({"name": "Legal"})),
        )
        .await;
    assert_eq!(status, 409);

    let members_path = format!("/api/organisation/groups/{gid}/members");
    let (status, body) = app
        .authed(
            Method::POST,
            &members_path,
            &jwt,
            Some(json!({"user_id": mia})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["members"], json!([mia]));
    let (_, perms) = app
        .authed(Method::GET, "/auth/my-permissions", &member, None)
        .await;
    assert_eq!(perms["groups"], json!(["Legal"]));
    let (status, list) = app
        .authed(Method::GET, "/api/organisation/groups", &member, None)
        .await;
    assert_eq!((status, list[0]["name"].as_str()), (200, Some("Legal")));

    let (status, renamed) = app
        .authed(
            Method::PATCH,
            &format!("/api/organisation/groups/{gid}"),
            &jwt,
            Some(json!({"name": "Legal & Risk"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Legal & Risk"))
    );
    let (status, _) = app
        .authed(Method::DELETE, &format!("{members_path}/{mia}"), &jwt, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .authed(Method::DELETE, &format!("{members_path}/{mia}"), &jwt, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .authed(
            Method::DELETE,
            &format!("/api/organisation/groups/{gid}"),
            &jwt,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = app
        .authed(Method::GET, "/api/organisation/groups", &jwt, None)
        .await;
    assert_eq!(list, json!([]));
}

/// Every identity route that takes an id, walked with another organisation's JWT, API key and
/// browser session: each answers 404 (or 403 where the route is admin-only and the walker is
/// not), and no answer carries organisation A's data.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn tenancy_walk(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt_a, _) = app.login(&owner, PASSWORD).await;
    let (_, key_a) = app
        .authed(
            Method::POST,
            "/api/api-keys",
            &jwt_a,
            Some(json!({"name": "a-key"})),
        )
        .await;
    let key_a_id = key_a["id"].as_str().expect("id").to_owned();
    let (_, group) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &jwt_a,
            Some(json!({"name": "a-group"})),
        )
        .await;
    let group_a = group["id"].as_str().expect("id").to_owned();
    let _ = app.join(&jwt_a, "mia@acme.test", "member").await;
    let (_, users) = app.authed(Method::GET, "/api/users", &jwt_a, None).await;
    let user_a = users[0]["id"].as_str().expect("id").to_owned();
    let waitlisted_a = user_a.clone();

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
    let session_b = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let origin = format!("http://{}", app.addr);
    let res = session_b
        .post(app.url("/auth/admin-login"))
        .header("origin", &origin)
        .json(&json!({"email": bob, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);

    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PATCH,
            format!("/v1/billings/api-keys/{key_a_id}/update/"),
            Some(json!({"expires_at": null})),
        ),
        (
            Method::POST,
            format!("/v1/billings/api-keys/{key_a_id}/rotate/"),
            None,
        ),
        (Method::DELETE, format!("/api/api-keys/{key_a_id}"), None),
        (Method::GET, "/v1/orgs/acme/".to_owned(), None),
        (
            Method::PATCH,
            "/v1/orgs/acme/".to_owned(),
            Some(json!({"name": "pwned"})),
        ),
        (
            Method::PATCH,
            format!("/api/users/{user_a}"),
            Some(json!({"status": "disabled"})),
        ),
        (Method::DELETE, format!("/api/users/{user_a}"), None),
        (
            Method::PATCH,
            format!("/api/organisation/groups/{group_a}"),
            Some(json!({"name": "pwned"})),
        ),
        (
            Method::DELETE,
            format!("/api/organisation/groups/{group_a}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/organisation/groups/{group_a}/members"),
            Some(json!({"user_id": user_a})),
        ),
        (
            Method::DELETE,
            format!("/api/organisation/groups/{group_a}/members/{user_a}"),
            None,
        ),
        (
            Method::POST,
            format!("/auth/admin/waitlist/{waitlisted_a}/approve"),
            None,
        ),
        (
            Method::POST,
            format!("/auth/admin/waitlist/{waitlisted_a}/reject"),
            None,
        ),
    ];
    let jwt_only = |path: &str| path.starts_with("/v1/");
    for (method, path, body) in &routes {
        for (who, credential) in [
            ("jwt", Some(&jwt_b)),
            ("api key", Some(&key_b)),
            ("session", None),
        ] {
            let (status, answer) = match credential {
                Some(c) => app.authed(method.clone(), path, c, body.clone()).await,
                None => {
                    let mut req = session_b
                        .request(method.clone(), app.url(path))
                        .header("origin", &origin);
                    if let Some(b) = body {
                        req = req.json(b);
                    }
                    let res = req.send().await.expect("request");
                    (res.status().as_u16(), res.json().await.unwrap_or_default())
                }
            };
            // API keys do not reach key, member, group or organisation management at all
            // (server/tests/api/credentials.rs): refused before any lookup.
            let expected = if who == "api key" && jwt_only(path) {
                401
            } else if who == "api key" {
                403
            } else {
                404
            };
            assert_eq!(status, expected, "{who} {method} {path}: {answer}");
            let text = answer.to_string();
            for leak in [
                "Acme",
                "acme",
                "owner@acme.test",
                "mia@acme.test",
                "a-group",
                "a-key",
            ] {
                assert!(
                    !text.contains(leak),
                    "{who} {method} {path} leaked {leak}: {text}"
                );
            }
        }
    }
    // Lists show only organisation B's own data.
    for path in [
        "/api/api-keys",
        "/v1/billings/api-keys/",
        "/api/users",
        "/api/organisation/groups",
        "/v1/orgs/",
        "/api/organisation",
        "/auth/admin/waitlist",
    ] {
        let (status, answer) = app.authed(Method::GET, path, &jwt_b, None).await;
        assert_eq!(status, 200, "{path}");
        let text = answer.to_string();
        for leak in [
            "Acme",
            "owner@acme.test",
            "mia@acme.test",
            "a-group",
            "a-key",
            &key_a_id,
            &group_a,
        ] {
            assert!(!text.contains(leak), "{path} leaked {leak}: {text}");
        }
    }
    // Organisation A is untouched.
    let (_, org) = app
        .authed(Method::GET, "/api/organisation", &jwt_a, None)
        .await;
    assert_eq!(org["name"], "Acme");
    let (_, groups) = app
        .authed(Method::GET, "/api/organisation/groups", &jwt_a, None)
        .await;
    assert_eq!(groups[0]["name"], "a-group");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn expired_invitations_are_refused(#[case] kind: DbKind) {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let (_, invite) = app
        .authed(
            Method::POST,
            "/api/users",
            &jwt,
            Some(json!({"email": "late@acme.test"})),
        )
        .await;
    let token = invite["token"].as_str().expect("token").to_owned();
    let db = app.ctx.db();
    let past = match db.get_database_backend() {
        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
            "'2020-01-01T00:00:00+00:00'::timestamptz"
        }
        _ => "'2020-01-01T00:00:00+00:00'",
    };
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("UPDATE invitations SET expires_at = {past}"),
    ))
    .await
    .expect("expire");
    assert_eq!(app.get_json(&format!("/auth/invite/{token}")).await.0, 404);
    let (status, body) = app
        .post_json(
            "/auth/signup",
            json!({"email": "late@acme.test", "password": PASSWORD, "invite_token": token}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("invite_token"))
    );
}

/// Many writers at once (SQLite's classic `SQLITE_BUSY` trap): every signup lands, none fails.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn concurrent_writers_all_succeed(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    app.authed(
        Method::PUT,
        "/auth/admin/signup-settings",
        &jwt,
        Some(json!({"mode": "open"})),
    )
    .await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/auth/signup");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"email": format!("user{i}@acme.test"), "password": PASSWORD}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("request"), 201);
    }
    let keys: Vec<_> = (0..12)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/api/api-keys");
            let jwt = jwt.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(jwt)
                    .json(&json!({"name": format!("k{i}")}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for task in keys {
        assert_eq!(task.await.expect("task").expect("request"), 201);
    }
    let (_, users) = app.authed(Method::GET, "/api/users", &jwt, None).await;
    assert_eq!(users.as_array().map(Vec::len), Some(13));
}
