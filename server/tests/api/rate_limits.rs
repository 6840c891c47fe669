//! Rate limits behind a reverse proxy (`trusted_proxies`, right-most untrusted
//! `X-Forwarded-For` hop), IPv6 keyed by /64, the per-account lock-out that spares the
//! owner's known address, and the bound on concurrent password hashing.

use aerie_backend::config::DbKind;
use aerie_backend::services::auth::password;
use aerie_backend::testing::store;
use aerie_contract::ids::OrgId;
use rstest::rstest;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_contract_body};

/// The test client connects from 127.0.0.1: that is "the proxy".
async fn behind_proxy(kind: DbKind) -> TestApp {
    TestApp::spawn_with(
        kind,
        |c| {
            c.trusted_proxies =
                aerie_backend::client_addr::TrustedProxies::parse(["127.0.0.1/32"]).expect("cidr");
        },
        axum::Router::new(),
    )
    .await
}

/// `POST /auth/jwt/create/` as if forwarded for `xff`; returns the status.
async fn login_via(app: &TestApp, xff: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/jwt/create/"))
        .header("x-forwarded-for", xff)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
}

async fn audit_ips(app: &TestApp, action: &str) -> Vec<Option<String>> {
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
        .map(|e| e.ip)
        .collect()
}

/// `POST /auth/jwt/refresh/` with a made-up token as if forwarded for `xff`: counts against
/// the client's limit like a login, without the cost of a password hash. 401 or 429.
async fn refresh_via(app: &TestApp, xff: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/jwt/refresh/"))
        .header("x-forwarded-for", xff)
        .json(&json!({"refresh": "rt_made-up"}))
        .send()
        .await
        .expect("request")
}

/// Attempts from `xff(i)` until one answers 429; returns its index (None: never limited).
async fn attempts_until_limited(app: &TestApp, xff: impl Fn(usize) -> String) -> Option<usize> {
    for i in 0..30 {
        let res = refresh_via(app, &xff(i)).await;
        match res.status().as_u16() {
            401 => {}
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                let body: serde_json::Value = res.json().await.expect("json");
                assert_contract_body(&body, "RATE-001");
                return Some(i);
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    None
}

/// One client's budget is 20 attempts a minute, refilled one every 3 seconds: limited at the
/// 21st attempt, or a few later on a slow machine (never within 30 if it were many clients).
fn assert_limited_after_20(limited_at: Option<usize>, why: &str) {
    assert!(
        limited_at.is_some_and(|i| (20..30).contains(&i)),
        "{why}: {limited_at:?}"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit(#[case] kind: DbKind) {
    let app = behind_proxy(kind).await;
    let owner = app.setup().await;
    // 30 clients behind the proxy, one attempt each: nobody shares the proxy's budget of 20.
    assert_eq!(
        attempts_until_limited(&app, |i| format!("203.0.113.{i}")).await,
        None
    );
    // The audit trail names the client, not the proxy.
    for i in [1, 2] {
        let res = login_via(
            &app,
            &format!("203.0.113.{i}"),
            &format!("ghost{i}@acme.test"),
            "wrong-wrong-wrong",
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        audit_ips(&app, "login.failed").await,
        [
            Some("203.0.113.1".to_owned()),
            Some("203.0.113.2".to_owned())
        ]
    );

    // A client cannot escape its limit by forging hops to the left of what the proxy wrote.
    assert_limited_after_20(
        attempts_until_limited(&app, |i| format!("10.9.9.{i}, 198.51.100.7")).await,
        "the forged hops were believed",
    );
    let res = login_via(
        &app,
        "6.6.6.6, 198.51.100.8",
        "ghost@acme.test",
        "wrong-wrong-wrong",
    )
    .await;
    assert_eq!(res.status(), 401);
    let ips = audit_ips(&app, "login.failed").await;
    assert_eq!(
        ips.last().cloned().flatten().as_deref(),
        Some("198.51.100.8")
    );

    // The owner, from yet another address, is unaffected.
    let res = login_via(&app, "192.0.2.10", &owner, PASSWORD).await;
    assert_eq!(res.status(), 200);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored(#[case] kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let _ = app.setup().await;
    assert_limited_after_20(
        attempts_until_limited(&app, |i| format!("203.0.113.{i}")).await,
        "X-Forwarded-For of an untrusted peer was believed",
    );
    let app = TestApp::spawn(kind).await;
    let _ = app.setup().await;
    let res = login_via(&app, "203.0.113.1", "ghost@acme.test", "wrong-wrong-wrong").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        audit_ips(&app, "login.failed").await,
        [Some("127.0.0.1".to_owned())]
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn ipv6_clients_share_the_limit_of_their_64(#[case] kind: DbKind) {
    let app = behind_proxy(kind).await;
    let _ = app.setup().await;
    // Another address of the same /64 for every attempt.
    assert_limited_after_20(
        attempts_until_limited(&app, |i| format!("2001:db8:1:2:{i:x}::1")).await,
        "a /64 is one client",
    );
    // The next /64 is another client.
    let res = refresh_via(&app, "2001:db8:1:3::1").await;
    assert_eq!(res.status(), 401);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn an_attack_on_the_owner_account_does_not_lock_the_owner_out(#[case] kind: DbKind) {
    let app = behind_proxy(kind).await;
    let owner = app.setup().await;
    // The owner signed in from home before.
    let res = login_via(&app, "192.0.2.10", &owner, PASSWORD).await;
    assert_eq!(res.status(), 200);

    // An attacker sprays the owner's account from many addresses until it is locked.
    let mut locked = false;
    for i in 0..20 {
        let res = login_via(&app, &format!("203.0.113.{i}"), &owner, "guess-guess-guess").await;
        if res.status() == 429 {
            locked = true;
            break;
        }
        assert_eq!(res.status(), 401);
    }
    assert!(
        locked,
        "the per-account limit still holds for unknown addresses"
    );
    // Even the right password waits from an address the account never signed in from...
    let res = login_via(&app, "203.0.113.200", &owner, PASSWORD).await;
    assert_eq!(res.status(), 429);
    // ...but the owner's own address is not locked out by the attack.
    let res = login_via(&app, "192.0.2.10", &owner, PASSWORD).await;
    assert_eq!(
        res.status(),
        200,
        "the owner was locked out by someone else"
    );
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn a_flood_of_logins_is_refused_instead_of_queued(#[case] kind: DbKind) {
    let app = behind_proxy(kind).await;
    let _ = app.setup().await;
    // 100 simultaneous logins, each from its own client for its own account: no rate limit
    // applies, only the bound on concurrent password hashing.
    let attempts = (0..100).map(|i| {
        let app = &app;
        async move {
            let res = login_via(
                app,
                &format!("198.51.{}.{}", i / 200, i % 200),
                &format!("flood{i}@acme.test"),
                "wrong-wrong-wrong",
            )
            .await;
            let status = res.status().as_u16();
            let retry = res.headers().get("retry-after").cloned();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, retry, body)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!(
        answers.iter().all(|(s, _, _)| *s == 401 || *s == 429),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(!refused.is_empty(), "every login was queued for hashing");
    for (_, retry, body) in refused {
        assert!(retry.is_some());
        assert_contract_body(body, "RATE-001");
    }
    // Hashing still works afterwards (no permit leaked).
    let hash = password::hash(PASSWORD.to_owned()).await.expect("hash");
    store::users::insert_member(
        app.ctx.db(),
        OrgId(
            store::orgs::first_global(app.ctx.db())
                .await
                .expect("db")
                .expect("org")
                .id,
        ),
        store::users::NewUser {
            email: "late@acme.test",
            name: "Late",
            password_hash: Some(hash),
            role: aerie_backend::actor::Role::Member,
        },
        chrono::Utc::now(),
    )
    .await
    .expect("user");
    let res = login_via(&app, "192.0.2.99", "late@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 200);
}
