//! The audit trail (docs/AUDIT.md): `GET /v1/audit` lists the organisation's events to its
//! admins with seed 003's filters; every event has its place and hash in the organisation's
//! chain; `audit::verify` names an event that was changed, removed, or cut from the end, and a
//! changed head; retention removes a whole prefix and what remains still verifies.

use aerie_backend::config::DbKind;
use aerie_backend::services::audit::{self, Problem};
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

async fn exec(app: &TestApp, sql: &str) {
    app.ctx.db().execute_unprepared(sql).await.expect(sql);
}

/// The places of the chain's events, oldest first.
async fn places(app: &TestApp) -> Vec<i64> {
    let db = app.ctx.db();
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT seq FROM audit_events WHERE seq IS NOT NULL ORDER BY seq",
    ))
    .await
    .expect("places")
    .iter()
    .map(|r| r.try_get::<i64>("", "seq").expect("seq"))
    .collect()
}

/// An organisation with a few events: setup, logins, a key, an invitation.
async fn busy(kind: DbKind) -> (TestApp, String) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    app.login(&email, PASSWORD).await;
    app.create_key(&jwt, "ci").await;
    app.join(&jwt, "mia@acme.test", "member").await;
    (app, jwt)
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn admins_read_the_trail_with_seed_003s_filters(#[case] kind: DbKind) {
    let (app, jwt) = busy(kind).await;
    let (status, all) = app.authed(Method::GET, "/v1/audit", &jwt, None).await;
    assert_eq!(status, 200, "{all}");
    let all = all.as_array().expect("list").clone();
    assert!(all.len() >= 5, "{all:?}");
    // Newest first, in chain order, each hashed.
    let seqs: Vec<i64> = all.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), all.len());
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "{seqs:?}");
    assert!(
        all.iter()
            .all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
    let actions: Vec<&str> = all.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"api_key.created"), "{actions:?}");

    // By principal: the owner's email or id; someone unknown has done nothing.
    let (_, mine) = app
        .authed(
            Method::GET,
            "/v1/audit?principal=owner@acme.test",
            &jwt,
            None,
        )
        .await;
    let mine = mine.as_array().expect("list").clone();
    assert!(!mine.is_empty());
    let owner_id = mine[0]["principal"]["user_id"].clone();
    assert!(mine.iter().all(|e| e["principal"]["user_id"] == owner_id));
    assert!(
        mine.iter()
            .all(|e| e["principal"]["email"] == "owner@acme.test")
    );
    let (_, by_id) = app
        .authed(
            Method::GET,
            &format!("/v1/audit?principal={}", owner_id.as_str().expect("id")),
            &jwt,
            None,
        )
        .await;
    assert_eq!(by_id.as_array().map(Vec::len), Some(mine.len()));
    let (_, nobody) = app
        .authed(
            Method::GET,
            "/v1/audit?principal=nobody@acme.test",
            &jwt,
            None,
        )
        .await;
    assert_eq!(nobody, Value::Array(vec![]));
    // By time and action; a limit.
    let (_, future) = app
        .authed(
            Method::GET,
            "/v1/audit?since=2999-01-01T00:00:00Z",
            &jwt,
            None,
        )
        .await;
    assert_eq!(future, Value::Array(vec![]));
    let (_, keys) = app
        .authed(Method::GET, "/v1/audit?action=api_key.created", &jwt, None)
        .await;
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    let (_, two) = app
        .authed(Method::GET, "/v1/audit?limit=2", &jwt, None)
        .await;
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    // Bad filters in the error contract.
    let (status, body) = app
        .authed(Method::GET, "/v1/audit?limit=0", &jwt, None)
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .authed(Method::GET, "/v1/audit?since=yesterday", &jwt, None)
        .await;
    assert_eq!(status, 400, "{body}");
    // A member may not read it; an admin's API key may.
    let (member, _) = app.login("mia@acme.test", PASSWORD).await;
    let (status, body) = app.authed(Method::GET, "/v1/audit", &member, None).await;
    assert_eq!(status, 403, "{body}");
    assert_contract_body(&body, "AUTH-005");
    let key = app.create_key(&jwt, "auditor").await;
    let (status, _) = app.authed(Method::GET, "/v1/audit", &key, None).await;
    assert_eq!(status, 200);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn verification_names_each_changed_or_removed_event(#[case] kind: DbKind) {
    let (app, _) = busy(kind).await;
    let clean = audit::verify(&app.ctx).await.expect("verify");
    assert_eq!(clean.problems, vec![], "a fresh trail is intact");
    assert!(clean.events >= 5);
    let seqs = places(&app).await;
    let last = *seqs.last().expect("events");
    let id_of = |seq: i64| {
        let app = &app;
        async move {
            let db = app.ctx.db();
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT id FROM audit_events WHERE seq = {seq}"),
                ))
                .await
                .expect("id")
                .expect("row");
            row.try_get::<uuid::Uuid>("", "id").expect("id")
        }
    };

    // Someone with the database but not the secret rewrites an event…
    let second = id_of(2).await;
    exec(
        &app,
        "UPDATE audit_events SET action = 'user.login' WHERE seq = 2",
    )
    .await;
    let v = audit::verify(&app.ctx).await.expect("verify");
    let chain = match v.problems.as_slice() {
        [Problem::Changed { chain, seq: 2, id }] if *id == second => *chain,
        other => panic!("{other:?}"),
    };
    // … removes one from the middle …
    exec(&app, "DELETE FROM audit_events WHERE seq = 4").await;
    // … and the newest.
    exec(
        &app,
        &format!("DELETE FROM audit_events WHERE seq = {last}"),
    )
    .await;
    let v = audit::verify(&app.ctx).await.expect("verify");
    assert!(
        v.problems.contains(&Problem::Missing {
            chain,
            from: 4,
            to: 4
        }),
        "{:?}",
        v.problems
    );
    assert!(
        v.problems.contains(&Problem::Truncated {
            chain,
            last: last - 1,
            head: last
        }),
        "{:?}",
        v.problems
    );
    // Moving the head back to hide the removal is noticed too.
    exec(&app, &format!("UPDATE audit_heads SET seq = {}", last - 1)).await;
    let v = audit::verify(&app.ctx).await.expect("verify");
    assert!(
        v.problems.contains(&Problem::HeadChanged { chain }),
        "{:?}",
        v.problems
    );
    let text = Problem::Changed {
        chain,
        seq: 2,
        id: second,
    }
    .to_string();
    assert!(
        text.contains("#2") && text.contains(&second.to_string()),
        "{text}"
    );
}

/// Retention (`AERIE_AUDIT_RETENTION_DAYS`) removes the oldest events as a whole prefix of the
/// chain, and what remains still verifies from the anchor it leaves.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn retention_removes_a_prefix_and_the_rest_still_verifies(#[case] kind: DbKind) {
    let (app, jwt) = busy(kind).await;
    let before = places(&app).await;
    assert!(before.len() >= 5);
    // The first three events are a year old.
    let old = (chrono::Utc::now() - chrono::Duration::days(365)).to_rfc3339();
    exec(
        &app,
        &format!("UPDATE audit_events SET created_at = '{old}' WHERE seq <= 3"),
    )
    .await;
    let cutoff = chrono::Utc::now() - chrono::Duration::days(30);
    let purged = aerie_backend::testing::store::audit::purge_before(app.ctx.db(), cutoff)
        .await
        .expect("purge");
    assert_eq!(purged, 3);
    let after = places(&app).await;
    assert_eq!(after.first(), Some(&4));
    // The dates were edited above, so the three removed events would not verify; the rest does.
    let v = audit::verify(&app.ctx).await.expect("verify");
    assert_eq!(v.problems, vec![], "{v:?}");
    assert_eq!(v.events as usize, after.len());
    // The chain goes on after retention.
    app.create_key(&jwt, "after").await;
    let v = audit::verify(&app.ctx).await.expect("verify");
    assert_eq!(v.problems, vec![]);
}
