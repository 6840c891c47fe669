use std::time::Duration;

use aerie_app::backend::AppState;
use aerie_app::backend::config::DbKind;
use axum::Router;
use axum::routing::get;

use rstest::rstest;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn in_flight_requests_finish_and_new_ones_are_refused(#[case] kind: DbKind) {
    let slow: Router<AppState> = Router::new().route(
        "/__test/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "finished"
        }),
    );
    let app = TestApp::spawn_with(kind, |c| c.shutdown_grace_secs = 10, slow).await;
    let url = app.url("/__test/slow");
    let health = app.url("/api/health");
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;

    app.stop().await.expect("graceful stop");

    let res = in_flight
        .await
        .expect("task")
        .expect("the in-flight request completed");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "finished");

    let fresh = crate::support::http();
    assert!(
        fresh.get(health).send().await.is_err(),
        "no new connections after shutdown"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn the_grace_period_bounds_shutdown(#[case] kind: DbKind) {
    let stuck: Router<AppState> = Router::new().route(
        "/__test/stuck",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }),
    );
    let app = TestApp::spawn_with(kind, |c| c.shutdown_grace_secs = 1, stuck).await;
    let url = app.url("/__test/stuck");
    let client = app.client.clone();
    let _in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Returns (after the 1 s grace) instead of waiting an hour.
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("shutdown is bounded")
        .expect("clean stop");
}
