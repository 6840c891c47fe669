//! Races: concurrent demotions and removals never leave an organisation without an owner.

use aerie_app::backend::actor::Role;
use aerie_app::backend::config::DbKind;
use aerie_app::backend::services::auth::jwt;
use aerie_app::backend::store;
use aerie_app::contract::ids::{OrgId, UserId};
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::TestApp;

/// A user of `org` with `role`, and an access token for them (no login: the per-IP limit
/// would count dozens of them).
async fn member(app: &TestApp, org: OrgId, email: &str, role: Role) -> (UserId, String) {
    let now = chrono::Utc::now();
    let (user, _) = store::users::insert_member(
        app.ctx.db(),
        org,
        store::users::NewUser {
            email,
            name: email,
            password_hash: None,
            role,
        },
        now,
    )
    .await
    .expect("user");
    let token = jwt::issue(&app.ctx.secrets().jwt_signing_key, user.id, org.0, now).expect("jwt");
    (UserId(user.id), token)
}

/// Takes a round's pair out of the organisation, so the next round starts with two owners.
async fn retire(app: &TestApp, org: OrgId, users: [UserId; 2]) {
    use aerie_app::backend::db::entities::memberships;
    use sea_orm_migration::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    memberships::Entity::delete_many()
        .filter(memberships::Column::OrgId.eq(org.0))
        .filter(memberships::Column::UserId.is_in(users.map(|u| u.0)))
        .exec(app.ctx.db())
        .await
        .expect("retire");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn concurrent_demotions_and_removals_keep_an_owner(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let _ = app.setup().await;
    // An organisation with exactly two owners, who try to remove each other.
    let org = store::orgs::insert(app.ctx.db(), "duo", "Duo", chrono::Utc::now())
        .await
        .expect("org");
    let org = OrgId(org.id);
    for round in 0..20 {
        let (a, token_a) = member(&app, org, &format!("a{round}@duo.test"), Role::Owner).await;
        let (b, token_b) = member(&app, org, &format!("b{round}@duo.test"), Role::Owner).await;
        let demote = |id: UserId| {
            (
                Method::PATCH,
                format!("/api/users/{}", id.0),
                Some(json!({"role": "admin"})),
            )
        };
        let remove = |id: UserId| (Method::DELETE, format!("/api/users/{}", id.0), None);
        let (first, second) = match round % 3 {
            0 => (demote(b), demote(a)),
            1 => (remove(b), remove(a)),
            _ => (demote(b), remove(a)),
        };
        let ((s1, b1), (s2, b2)) = tokio::join!(
            app.authed(first.0, &first.1, &token_a, first.2),
            app.authed(second.0, &second.1, &token_b, second.2),
        );
        let owners = store::users::count_active_owners(app.ctx.db(), org)
            .await
            .expect("count");
        assert!(
            owners >= 1,
            "round {round}: no owner left ({s1} {b1}; {s2} {b2})"
        );
        // One of the two was refused (the last owner, or a caller no longer owner or member).
        assert!(
            [s1, s2].iter().any(|s| [400, 401, 403].contains(s)),
            "round {round}: {s1} {s2}"
        );
        retire(&app, org, [a, b]).await;
        assert_eq!(
            store::users::count_active_owners(app.ctx.db(), org)
                .await
                .expect("count"),
            0
        );
    }
}
