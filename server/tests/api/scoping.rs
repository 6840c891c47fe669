//! Organisation boundaries: writes by id are scoped by organisation in the statement itself,
//! failed logins of unknown emails stay out of every organisation's audit trail, and the
//! public organisation list shows only organisations marked public.

use aerie_backend::config::DbKind;
use aerie_backend::testing::store;
use aerie_contract::ids::OrgId;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn another_organisations_admin_cannot_empty_a_group(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt_a, _) = app.login(&owner, PASSWORD).await;
    let _ = app.join(&jwt_a, "mia@acme.test", "member").await;
    let (_, users) = app.authed(Method::GET, "/api/users", &jwt_a, None).await;
    let mia = users
        .as_array()
        .and_then(|u| u.iter().find(|u| u["email"] == "mia@acme.test"))
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .expect("mia");
    let (status, group) = app
        .authed(
            Method::POST,
            "/api/organisation/groups",
            &jwt_a,
            Some(json!({"name": "legal"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .authed(
            Method::POST,
            &format!("/api/organisation/groups/{group_id}/members"),
            &jwt_a,
            Some(json!({"user_id": mia})),
        )
        .await;
    assert!(status == 200 || status == 201, "{status}");

    // Globex's owner knows the id.
    let bob = app.second_org().await;
    let (jwt_b, _) = app.login(&bob, PASSWORD).await;
    let (status, _) = app
        .authed(
            Method::DELETE,
            &format!("/api/organisation/groups/{group_id}"),
            &jwt_b,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .authed(
            Method::PATCH,
            &format!("/api/organisation/groups/{group_id}"),
            &jwt_b,
            Some(json!({"name": "taken"})),
        )
        .await;
    assert_eq!(status, 404);

    let (_, groups) = app
        .authed(Method::GET, "/api/organisation/groups", &jwt_a, None)
        .await;
    let legal = groups
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == group_id.as_str()))
        .expect("the group survives");
    assert_eq!(legal["name"], "legal");
    assert_eq!(
        legal["members"].as_array().map(Vec::len),
        Some(1),
        "the members survive: {legal}"
    );
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<(Option<String>, String)> {
    use aerie_backend::testing::entities::audit_events;
    use sea_orm_migration::sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    audit_events::Entity::find()
        .filter(audit_events::Column::Action.eq(action))
        .order_by_asc(audit_events::Column::CreatedAt)
        .order_by_asc(audit_events::Column::Id)
        .all(app.ctx.db())
        .await
        .expect("audit query")
        .into_iter()
        .map(|e| (e.org_id.map(|o| o.to_string()), e.details.to_string()))
        .collect()
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn failed_logins_stay_out_of_other_organizations(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let bob = app.second_org().await;
    let acme = store::orgs::find_by_slug_global(app.ctx.db(), "acme")
        .await
        .expect("db")
        .expect("acme");
    let globex = store::orgs::find_by_slug_global(app.ctx.db(), "globex")
        .await
        .expect("db")
        .expect("globex");

    for (email, password) in [
        ("ghost@nowhere.test", "wrong-wrong-wrong"),
        (bob.as_str(), "wrong-wrong-wrong"),
        (owner.as_str(), "wrong-wrong-wrong"),
    ] {
        let (status, _) = app
            .post_json(
                "/auth/jwt/create/",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 401);
    }
    let rows = audit_rows(&app, "login.failed").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    // The unknown email is an instance-level event: no organisation sees it.
    assert_eq!(rows[0].0, None, "{rows:?}");
    assert!(rows[0].1.contains("ghost@nowhere.test"));
    // A member's failed login is their own organisation's business.
    let id = |o: &aerie_backend::testing::entities::organizations::Model| Some(o.id.to_string());
    assert_eq!(rows[1].0, id(&globex), "{rows:?}");
    assert_eq!(rows[2].0, id(&acme), "{rows:?}");
    for (org, other) in [(&acme, "bob@globex.test"), (&globex, "owner@acme.test")] {
        let seen = store::audit::list(app.ctx.db(), OrgId(org.id))
            .await
            .expect("audit");
        assert!(
            seen.iter().all(|e| {
                let d = e.details.to_string();
                !d.contains("ghost@nowhere.test") && !d.contains(other)
            }),
            "{} sees another organisation's failed logins",
            org.slug
        );
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn only_organisations_marked_public_are_listed(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    let bob = app.second_org().await;

    // Off by default.
    let (status, public) = app.get_json("/auth/organizations/public").await;
    assert_eq!(status, 200);
    assert_eq!(public, json!([]));
    let (_, org) = app
        .authed(Method::GET, "/api/organisation", &jwt, None)
        .await;
    assert_eq!(org["public"], false, "{org}");

    // Admins mark their organisation public (both API families).
    let (status, org) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &jwt,
            Some(json!({"public": true})),
        )
        .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["public"], true);
    let (_, public) = app.get_json("/auth/organizations/public").await;
    assert_eq!(public, json!([{"slug": "acme", "name": "Acme"}]));

    let (jwt_b, _) = app.login(&bob, PASSWORD).await;
    let (status, _) = app
        .authed(
            Method::PATCH,
            "/v1/orgs/globex/",
            &jwt_b,
            Some(json!({"public": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, public) = app.get_json("/auth/organizations/public").await;
    assert_eq!(public.as_array().map(Vec::len), Some(2));
    let (status, _) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &jwt_b,
            Some(json!({"public": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, public) = app.get_json("/auth/organizations/public").await;
    assert_eq!(public, json!([{"slug": "acme", "name": "Acme"}]));

    // A member cannot change it; a wrong type is a named validation error.
    let member = app.join(&jwt, "mia@acme.test", "member").await;
    let (status, _) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &member,
            Some(json!({"public": false})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .authed(
            Method::PATCH,
            "/api/organisation",
            &jwt,
            Some(json!({"public": "yes"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
