//! Races: concurrent demotions and removals never leave an organisation without an owner, and
//! a revoked API key stops working as soon as the revocation answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aerie_backend::actor::Role;
use aerie_backend::config::DbKind;
use aerie_backend::services::auth::jwt;
use aerie_backend::testing::store;
use aerie_contract::ids::{OrgId, UserId};
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

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
    use aerie_backend::testing::entities::memberships;
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

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_revoked_key_fails_from_the_moment_the_revocation_answered(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let owner = app.setup().await;
    let (jwt, _) = app.login(&owner, PASSWORD).await;
    for round in 0..20 {
        let (status, created) = app
            .authed(
                Method::POST,
                "/api/api-keys",
                &jwt,
                Some(json!({"name": format!("k{round}")})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let key = created["key"].as_str().expect("key").to_owned();
        let id = created["id"].as_str().expect("id").to_owned();

        // Clients use the key continuously while the owner revokes it.
        let revoked = Arc::new(AtomicBool::new(false));
        let loops = (0..4).map(|_| {
            let (revoked, key, client, url) = (
                revoked.clone(),
                key.clone(),
                app.client.clone(),
                app.url("/v1/auth/profile"),
            );
            tokio::spawn(async move {
                let mut after = 0;
                let mut late_successes = 0;
                while after < 40 {
                    let sent_after_revoke = revoked.load(Ordering::SeqCst);
                    let status = client
                        .get(&url)
                        .header("x-api-key", &key)
                        .send()
                        .await
                        .expect("request")
                        .status()
                        .as_u16();
                    if sent_after_revoke {
                        after += 1;
                        if status == 200 {
                            late_successes += 1;
                        }
                    }
                }
                late_successes
            })
        });
        let loops: Vec<_> = loops.collect();
        // Let the loops warm the key cache first.
        let (status, _) = app
            .authed(Method::GET, "/v1/auth/profile", &key, None)
            .await;
        assert_eq!(status, 200);
        let (status, body) = app
            .authed(Method::DELETE, &format!("/api/api-keys/{id}"), &jwt, None)
            .await;
        assert_eq!(status, 204, "{body}");
        revoked.store(true, Ordering::SeqCst);
        for l in loops {
            let late = l.await.expect("loop");
            assert_eq!(late, 0, "round {round}: the revoked key still worked");
        }
    }
}
