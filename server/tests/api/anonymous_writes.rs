//! What unauthenticated requests can make the server write is bounded: refused single sign-on
//! callbacks, pick-ups and SAML posts with nothing real behind them are counted, not audited one
//! by one; sign-in flows are limited per client address; and audit events are purged after the
//! retention (`AERIE_AUDIT_RETENTION_DAYS`, 400 days by default).

use std::net::IpAddr;

use aerie_backend::config::DbKind;
use aerie_backend::services::maintenance;
use futures::StreamExt;
use reqwest::Method;
use rstest::rstest;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_contract_body, ok_listener};

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.ctx.db();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// The sum of a Prometheus counter's series whose labels include all of `labels`.
fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// A request nobody started: an OAuth callback with a made-up state, a made-up pick-up code, or
/// a SAML response that is not one (or answers no request made here).
fn bogus_request(app: &TestApp, i: usize) -> reqwest::RequestBuilder {
    let nonce = format!("{i:08}-{}", uuid::Uuid::new_v4().simple());
    match i % 5 {
        0 => app.client.get(app.url(&format!(
            "/auth/oidc/callback?state={nonce}&code=stolen-{i}"
        ))),
        1 => app
            .client
            .get(app.url(&format!("/auth/github/callback?state={nonce}&code=x"))),
        2 => app
            .client
            .get(app.url(&format!("/auth/login-pickup?code={nonce}"))),
        3 => app
            .client
            .post(app.url("/auth/saml/acs"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("SAMLResponse=not-base64-{nonce}")),
        _ => {
            use base64::Engine;
            let xml = format!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{nonce}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" InResponseTo="_{nonce}"><saml:Issuer>https://idp.invalid/{nonce}</saml:Issuer></samlp:Response>"#
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
            let form = crate::support::idp::form_body(&[("SAMLResponse", &encoded)]);
            app.client
                .post(app.url("/auth/saml/acs"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
        }
    }
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn ten_thousand_bogus_sso_requests_leave_few_audit_rows(#[case] kind: DbKind) {
    const REQUESTS: usize = 10_000;
    let app = TestApp::spawn(kind).await;
    app.setup().await;
    let before = count(&app, "SELECT COUNT(*) AS n FROM audit_events").await;

    let refused = futures::stream::iter(0..REQUESTS)
        .map(|i| {
            let request = bogus_request(&app, i);
            async move {
                let res = request.send().await.expect("request");
                let location = res
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                res.status().as_u16() == 303 && location.starts_with("/login?sso_error=")
            }
        })
        .buffer_unordered(16)
        .filter(|refused| std::future::ready(*refused))
        .count()
        .await;
    assert_eq!(refused, REQUESTS, "every bogus request is refused");

    let written = count(&app, "SELECT COUNT(*) AS n FROM audit_events").await - before;
    assert!(
        written < 100,
        "{written} audit rows for {REQUESTS} bogus requests"
    );
    assert!(written > 0, "a sample of the refusals is still audited");
    // All of them are counted.
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    let counted = metric_sum(
        &metrics,
        "aerie_sso_refusals_total",
        &["provider=\"unknown\""],
    );
    assert!(counted >= REQUESTS as f64, "counted {counted}:\n{metrics}");
    let unaudited = metric_sum(
        &metrics,
        "aerie_sso_refusals_total",
        &["provider=\"unknown\"", "audited=\"false\""],
    );
    assert!(unaudited >= (REQUESTS - 100) as f64, "{unaudited}");
    eprintln!("{REQUESTS} bogus requests: {written} audit rows, {counted} counted");
}

/// A client whose requests come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn sso_flow_starts_are_limited_per_client_address(#[case] kind: DbKind) {
    let app = TestApp::spawn_with(
        kind,
        |c| c.allow_private_sso_urls = true,
        axum::Router::new(),
    )
    .await;
    let email = app.setup().await;
    let (jwt, _) = app.login(&email, PASSWORD).await;
    let idp = ok_listener().await;
    let (status, provider) = app
        .authed(
            Method::POST,
            "/api/sso/providers",
            &jwt,
            Some(json!({"kind": "github", "issuer": format!("http://{idp}"),
                        "client_id": "gh-client", "client_secret": "gh-secret"})),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    let login = app.url(&format!(
        "/auth/github/login?provider={}",
        provider["id"].as_str().expect("id")
    ));

    // One address starts flows until it is refused: the burst (30) goes through first.
    let client = client_from("127.0.0.1");
    let mut started = 0;
    let refusal = loop {
        let res = client.get(&login).send().await.expect("login");
        match res.status().as_u16() {
            303 => started += 1,
            429 => break res,
            other => panic!("unexpected {other}"),
        }
        assert!(started <= 40, "no limit after {started} flow starts");
    };
    assert!(started >= 30, "refused after {started}");
    let retry_after: u64 = refusal
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after >= 1);
    let body: serde_json::Value = refusal.json().await.expect("json");
    assert_contract_body(&body, "RATE-001");
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM sso_flows").await,
        started,
        "a refused start stores no flow"
    );

    // Another address is not affected.
    let res = client_from("127.0.0.2")
        .get(&login)
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303);
}

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn audit_events_older_than_the_retention_are_purged(#[case] kind: DbKind) {
    use aerie_backend::testing::store;
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.ctx.config().audit_retention_days, 400, "the default");
    app.setup().await;
    let now = chrono::Utc::now();
    let event = |action: &'static str| store::audit::NewEvent {
        actor_user_id: None,
        actor_api_key_id: None,
        action,
        target_type: None,
        target_id: None,
        ip: None,
        details: json!({}),
    };
    for (action, age_days) in [
        ("test.ancient", 3000),
        ("test.old", 401),
        ("test.old", 401),
        ("test.kept", 399),
        ("test.kept", 10),
    ] {
        store::audit::insert(
            app.ctx.db(),
            None,
            event(action),
            now - chrono::Duration::days(age_days),
        )
        .await
        .expect("insert");
    }
    let recent = count(
        &app,
        "SELECT COUNT(*) AS n FROM audit_events WHERE action NOT LIKE 'test.%'",
    )
    .await;
    assert!(recent > 0, "setup is audited");

    let purged = maintenance::run_once(&app.ctx).await.expect("run");
    assert_eq!(purged.audit, 3);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'test.%'"
        )
        .await,
        2,
        "the events within the retention are kept"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'test.kept'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action NOT LIKE 'test.%'"
        )
        .await,
        recent
    );
    // Idempotent.
    assert_eq!(maintenance::run_once(&app.ctx).await.expect("run").audit, 0);
}

/// Unsolicited SAML responses that name a configured IdP's issuer (and fail its signature, or
/// answer no request of ours) are anonymous too: anyone can post them. They are sampled, still
/// attributed to that provider; a flood leaves a handful of rows.
#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn unsolicited_saml_posts_naming_a_real_idp_are_sampled(#[case] kind: DbKind) {
    use aerie_backend::testing::saml::craft::{self, Keypair, ResponseSpec};
    const POSTS: usize = 300;
    // The crafted metadata names a loopback sign-in URL that is never called.
    let app = TestApp::spawn_with(
        kind,
        |c| c.allow_private_sso_urls = true,
        axum::Router::new(),
    )
    .await;
    let email = app.setup().await;
    let (owner, _) = app.login(&email, PASSWORD).await;
    let entity = "https://crafted-idp.test/metadata";
    let idp_key = Keypair::rsa("Crafted IdP", 2048).expect("key");
    let forger = Keypair::rsa("Forger", 2048).expect("key");
    let metadata = craft::idp_metadata_xml(
        entity,
        "http://127.0.0.1:9/sso",
        Some(craft::REDIRECT),
        Some(&idp_key),
    );
    let (status, provider) = app
        .authed(
            Method::POST,
            "/api/sso/providers",
            &owner,
            Some(
                json!({"kind": "saml", "name": "Crafted", "metadata_xml": metadata,
                "allow_idp_initiated": true}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    let sp_entity = app.url("/auth/saml/metadata");
    let acs = app.url("/auth/saml/acs");
    let before = count(&app, "SELECT COUNT(*) AS n FROM audit_events").await;
    // Half forged IdP-initiated responses (bad signature), half answering unknown requests.
    let bodies: Vec<String> = (0..POSTS)
        .map(|i| {
            let mut spec = ResponseSpec::new(entity, &sp_entity, &acs, chrono::Utc::now());
            spec.name_id_xml = format!("mallory{i}@acme.test");
            if i % 2 == 0 {
                spec.in_response_to = None;
            } else {
                spec.in_response_to = Some(format!("_unknown{i}"));
            }
            let xml = spec.signed(&forger).expect("sign");
            crate::support::idp::form_body(&[("SAMLResponse", &craft::b64(&xml))])
        })
        .collect();
    let refused = futures::stream::iter(bodies)
        .map(|body| {
            let req = app
                .client
                .post(app.url("/auth/saml/acs"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            async move {
                let res = req.send().await.expect("acs");
                res.headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|l| l.starts_with("/login?sso_error="))
            }
        })
        .buffer_unordered(8)
        .filter(|refused| std::future::ready(*refused))
        .count()
        .await;
    assert_eq!(refused, POSTS);
    let written = count(&app, "SELECT COUNT(*) AS n FROM audit_events").await - before;
    assert!(
        written > 0 && written <= 30,
        "{written} audit rows for {POSTS} posts"
    );
}
