//! Organisation boundaries: writes by id are scoped by organisation in the statement itself.

use aerie_app::backend::config::DbKind;
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
