use aerie_backend::config::DbKind;
use aerie_backend::services::maintenance;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::support::{PASSWORD, TestApp};

async fn count(app: &TestApp, table: &str) -> i64 {
    let db = app.ctx.db();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn expired_sessions_and_refresh_tokens_are_purged(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let email = app.setup().await;
    app.login(&email, PASSWORD).await;
    app.login(&email, PASSWORD).await;
    let res = app
        .client
        .post(app.url("/auth/admin-login"))
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    assert_eq!(
        (
            count(&app, "sessions").await,
            count(&app, "refresh_tokens").await
        ),
        (1, 2)
    );

    // Nothing is due yet.
    assert_eq!(
        maintenance::run_once(&app.ctx).await.expect("run"),
        maintenance::Purged::default()
    );

    let db = app.ctx.db();
    let past = match db.get_database_backend() {
        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
            "'2020-01-01T00:00:00+00:00'::timestamptz"
        }
        _ => "'2020-01-01T00:00:00+00:00'",
    };
    for sql in [
        format!("UPDATE sessions SET expires_at = {past}"),
        format!(
            "UPDATE refresh_tokens SET expires_at = {past} WHERE id IN (SELECT id FROM refresh_tokens ORDER BY issued_at LIMIT 1)"
        ),
    ] {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("age");
    }
    let purged = maintenance::run_once(&app.ctx).await.expect("run");
    assert_eq!(
        purged,
        maintenance::Purged {
            sessions: 1,
            refresh_tokens: 1,
            sso: 0,
            audit: 0,
            idempotency_keys: 0,
            knowledge_deletions: 0,
            stale_runs: 0,
        }
    );
    assert_eq!(
        (
            count(&app, "sessions").await,
            count(&app, "refresh_tokens").await
        ),
        (0, 1)
    );
}
