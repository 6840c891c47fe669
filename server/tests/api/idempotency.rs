//! `Idempotency-Key` (docs/IDEMPOTENCY.md): a repeat of a create gets the first answer and
//! creates nothing; the same key with another body is refused with 422; 50 concurrent retries
//! with one key create exactly one resource; keys are scoped per credential; a failed request
//! frees its key; a key whose holder died is taken over; keys expire after 24 hours.

use aerie_backend::config::DbKind;
use aerie_backend::services::maintenance;
use futures::future::join_all;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::assert_contract_body;
use crate::support::chat::Chat;

/// `POST path` with `token` and `Idempotency-Key: key`: status, whether it was a replay, body.
async fn post_keyed(
    t: &Chat,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (u16, bool, Value) {
    let res = t
        .app
        .client
        .post(t.app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, res.json().await.unwrap_or(Value::Null))
}

async fn conversations(t: &Chat, token: &str) -> usize {
    let (status, list) = t
        .app
        .authed(Method::GET, "/api/conversations", token, None)
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().map_or(0, Vec::len)
}

async fn exec(t: &Chat, sql: &str) {
    t.app.ctx.db().execute_unprepared(sql).await.expect(sql);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_repeat_gets_the_first_answer_and_creates_nothing(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let body = json!({"agent_id": t.agent_id});
    let (status, replayed, first) =
        post_keyed(&t, "/api/conversations", &t.key, "order-1", body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) =
        post_keyed(&t, "/api/conversations", &t.key, "order-1", body.clone()).await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again, first);
    assert_eq!(conversations(&t, &t.key).await, 1);

    // The same key with another body: 422, nothing created.
    let other = json!({"agent_id": t.agent_id, "title": "Other"});
    let (status, _, refused) = post_keyed(&t, "/api/conversations", &t.key, "order-1", other).await;
    assert_eq!(status, 422, "{refused}");
    assert_contract_body(&refused, "REQ-009");
    assert_eq!(conversations(&t, &t.key).await, 1);

    // Another key runs; a malformed key is refused before anything runs.
    let (status, replayed, _) =
        post_keyed(&t, "/api/conversations", &t.key, "order-2", body.clone()).await;
    assert_eq!((status, replayed), (201, false));
    let (status, _, bad) =
        post_keyed(&t, "/api/conversations", &t.key, "has space", body.clone()).await;
    assert_eq!(status, 400, "{bad}");
    assert_contract_body(&bad, "REQ-001");
    let long = "k".repeat(256);
    let (status, _, _) = post_keyed(&t, "/api/conversations", &t.key, &long, body.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(conversations(&t, &t.key).await, 2);

    // Scoped per credential: another API key, and the person's JWT, each run their own.
    let second = t.app.create_key(&t.jwt, "second").await;
    let (status, replayed, theirs) =
        post_keyed(&t, "/api/conversations", &second, "order-1", body.clone()).await;
    assert_eq!((status, replayed), (201, false));
    assert_ne!(theirs["id"], first["id"]);
    let (status, replayed, _) =
        post_keyed(&t, "/api/conversations", &t.jwt, "order-1", body.clone()).await;
    assert_eq!((status, replayed), (201, false));

    // The kept answer is sealed: the conversation's id is not readable in the table.
    let db = t.app.ctx.db();
    let rows = db
        .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT body FROM idempotency_keys WHERE body IS NOT NULL",
        ))
        .await
        .expect("rows");
    assert!(!rows.is_empty());
    let id = first["id"].as_str().expect("id");
    for row in rows {
        let sealed: String = row.try_get("", "body").expect("body");
        assert!(
            sealed.starts_with("v1:") && !sealed.contains(id),
            "{sealed}"
        );
    }

    // After 24 hours the key is free again, and housekeeping removes what expired.
    exec(
        &t,
        "UPDATE idempotency_keys SET expires_at = '2020-01-01T00:00:00+00:00'",
    )
    .await;
    let (status, replayed, fresh) =
        post_keyed(&t, "/api/conversations", &t.key, "order-1", body).await;
    assert_eq!((status, replayed), (201, false));
    assert_ne!(fresh["id"], first["id"]);
    let purged = maintenance::run_once(&t.app.ctx).await.expect("run");
    assert_eq!(purged.idempotency_keys, 3, "{purged:?}");
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn fifty_concurrent_retries_create_exactly_one(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    let body = json!({"agent_id": t.agent_id, "title": "Once"});
    let answers = join_all((0..50).map(|_| {
        post_keyed(
            &t,
            "/api/conversations",
            &t.key,
            "retry-storm",
            body.clone(),
        )
    }))
    .await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, _, c)| {
            assert_eq!(*status, 201, "{c}");
            c["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        answers.iter().filter(|(_, replayed, _)| !replayed).count(),
        1
    );
    assert_eq!(conversations(&t, &t.key).await, 1);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn failures_free_their_key_and_a_dead_holder_is_taken_over(#[case] kind: DbKind) {
    let t = Chat::start(kind).await;
    // A request that failed created nothing: its key runs the corrected request.
    let missing = json!({"agent_id": "00000000-0000-4000-8000-000000000000"});
    let (status, _, _) = post_keyed(&t, "/api/conversations", &t.key, "fix-me", missing).await;
    assert_eq!(status, 404);
    let body = json!({"agent_id": t.agent_id});
    let (status, replayed, first) =
        post_keyed(&t, "/api/conversations", &t.key, "fix-me", body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");

    // A key still held by a request whose process died (its hold lapsed): a repeat runs.
    exec(
        &t,
        "UPDATE idempotency_keys SET state = 'running', body = NULL, status_code = NULL, \
         locked_until = '2020-01-01T00:00:00+00:00'",
    )
    .await;
    let (status, replayed, second) =
        post_keyed(&t, "/api/conversations", &t.key, "fix-me", body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{second}");
    assert_ne!(second["id"], first["id"]);
    // And its answer is the one kept now.
    let (status, replayed, third) =
        post_keyed(&t, "/api/conversations", &t.key, "fix-me", body).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(third, second);

    // Operations that create nothing ignore the header.
    let res = t
        .app
        .client
        .get(t.app.url("/api/conversations"))
        .bearer_auth(&t.key)
        .header("Idempotency-Key", "has space")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}
