//! Health, discovery and instance status, and seed 004's operational checks (database, Redis,
//! integrations) for admins.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};

use super::{providers, sso};
use crate::actor::{Actor, Role};
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::health::{
    ApiInfo, DependencyHealth, Health, IntegrationHealth, IntegrationsHealth, Link, Liveness,
    ServerStatus,
};

/// Checks the database answers.
pub async fn check_database(ctx: &AppContext) -> Result<()> {
    ctx.db().ping().await.map_err(Error::Unavailable)
}

/// `GET /health/`.
pub async fn liveness(ctx: &AppContext) -> Result<Liveness> {
    check_database(ctx).await?;
    Ok(Liveness {
        status: "healthy".to_owned(),
        timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false),
    })
}

/// `GET /api/health`; the `Err` side still carries the version and tier for the 503 body.
pub async fn health(ctx: &AppContext) -> std::result::Result<Health, (Health, Error)> {
    let mut health = Health {
        status: "ok".to_owned(),
        version: aerie_contract::VERSION.to_owned(),
        tier: super::license::tier(ctx).await,
    };
    match check_database(ctx).await {
        Ok(()) => Ok(health),
        Err(e) => {
            health.status = "unavailable".to_owned();
            Err((health, e))
        }
    }
}

/// `GET /api`.
pub fn api_info() -> ApiInfo {
    let link = |rel: &str, href: &str| Link {
        rel: rel.to_owned(),
        href: href.to_owned(),
    };
    ApiInfo {
        name: "Aerie".to_owned(),
        version: aerie_contract::VERSION.to_owned(),
        links: vec![
            link("openapi", "/api/openapi.json"),
            link("reference", "/api-reference"),
            link("health", "/api/health"),
            link("liveness", "/health/"),
            link("metrics", "/metrics"),
        ],
    }
}

/// What the dashboard shows about this server.
pub async fn status(ctx: &AppContext) -> ServerStatus {
    ServerStatus {
        version: aerie_contract::VERSION.to_owned(),
        database: ctx.db_kind().as_str().to_owned(),
        database_ok: check_database(ctx).await.is_ok(),
        uptime_seconds: ctx.started_at().elapsed().as_secs(),
        dev_mode: ctx.dev_mode(),
    }
}

/// The operations of the generated OpenAPI document, provided to server functions as context by
/// the HTTP layer (which owns the document).
#[derive(Clone, Debug, Default)]
pub struct ApiCatalogue(pub std::sync::Arc<Vec<aerie_contract::health::Operation>>);

impl ApiCatalogue {
    pub fn operations(&self) -> Vec<aerie_contract::health::Operation> {
        self.0.as_ref().clone()
    }
}

/// How long one operational check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Seed 004 marks the operational checks "admin JWT": an admin, as a person (not an API key).
fn require_admin(actor: &Actor) -> Result<()> {
    actor.require_role(Role::Admin)?;
    actor.require_jwt()?;
    Ok(())
}

/// Runs `check` within [`CHECK_TIMEOUT`]; answers its outcome and round trip in milliseconds.
async fn timed<T>(
    check: impl Future<Output = std::result::Result<T, String>>,
) -> (std::result::Result<T, String>, f64) {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!(
            "No answer within {} seconds.",
            CHECK_TIMEOUT.as_secs()
        )),
    };
    (outcome, started.elapsed().as_secs_f64() * 1000.0)
}

/// A dependency's check: `Err` is the 503, whose body still says what was checked.
pub type Checked = std::result::Result<DependencyHealth, (DependencyHealth, Error)>;

/// The contract sentence of a failed service call (never its internal cause).
fn sentence(e: Error) -> String {
    aerie_contract::ErrorBody::from(e).detail
}

fn dependency(status: &str, backend: &str, latency_ms: Option<f64>) -> DependencyHealth {
    DependencyHealth {
        status: status.to_owned(),
        backend: backend.to_owned(),
        latency_ms,
        checked_at: Utc::now(),
    }
}

/// `GET /api/health/db`: a round trip to the database.
pub async fn database_check(ctx: &AppContext, actor: &Actor) -> Result<Checked> {
    require_admin(actor)?;
    let backend = ctx.db_kind().as_str();
    let (outcome, ms) = timed(async { ctx.db().ping().await.map_err(|e| e.to_string()) }).await;
    match outcome {
        Ok(()) => Ok(Ok(dependency("ok", backend, Some(ms)))),
        Err(cause) => {
            tracing::warn!(error = %cause, "database health check failed");
            Ok(Err((
                dependency("unavailable", backend, Some(ms)),
                Error::detailed(ErrorCode::Unavailable, "The database is unreachable."),
            )))
        }
    }
}

/// `GET /api/health/redis`: `PING` to the Redis of `AERIE_REDIS_URL`, or `not_configured`.
pub async fn redis_check(ctx: &AppContext, actor: &Actor) -> Result<Checked> {
    require_admin(actor)?;
    let url = ctx.config().redis_url.0.as_str();
    if url.is_empty() {
        return Ok(Ok(dependency("not_configured", "redis", None)));
    }
    let (outcome, ms) = timed(async {
        let ping = async {
            let client = redis::Client::open(url)?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        ping.await.map_err(|e: redis::RedisError| e.to_string())
    })
    .await;
    match outcome {
        Ok(_) => Ok(Ok(dependency("ok", "redis", Some(ms)))),
        Err(cause) => {
            // Logged, not answered: the operator's URL may hold a password.
            tracing::warn!(error = %cause, "Redis health check failed");
            Ok(Err((
                dependency("unavailable", "redis", Some(ms)),
                Error::detailed(ErrorCode::Unavailable, "Redis is unreachable."),
            )))
        }
    }
}

/// `GET /api/health/integrations`: every LLM provider and enabled single sign-on provider of
/// the caller's organisation, checked at once (each within [`CHECK_TIMEOUT`]).
pub async fn integrations_check(ctx: &AppContext, actor: &Actor) -> Result<IntegrationsHealth> {
    require_admin(actor)?;
    let llm = providers::list(ctx, actor).await?;
    let llm_checks = futures::future::join_all(llm.iter().map(|p| async move {
        let (outcome, ms) =
            timed(async { providers::test(ctx, actor, p.id).await.map_err(sentence) }).await;
        let (status, detail) = match outcome {
            Ok(check) if check.ok => ("ok", check.detail),
            Ok(check) => ("error", check.detail),
            Err(e) => ("error", e),
        };
        IntegrationHealth {
            id: p.id.0,
            name: p.name.clone(),
            kind: p.kind.clone(),
            status: status.to_owned(),
            latency_ms: Some(ms),
            detail,
            last_error: None,
            last_error_at: None,
        }
    }));
    let idps = sso::list(ctx, actor).await?;
    let sso_checks = futures::future::join_all(idps.iter().map(|p| async move {
        let (status, latency_ms, detail) = if p.enabled {
            let (outcome, ms) =
                timed(async { sso::test(ctx, actor, p.id).await.map_err(sentence) }).await;
            match outcome {
                Ok(check) if check.ok => ("ok", Some(ms), check.detail),
                Ok(check) => ("error", Some(ms), check.detail),
                Err(e) => ("error", Some(ms), e),
            }
        } else {
            ("disabled", None, "The provider is disabled.".to_owned())
        };
        IntegrationHealth {
            id: p.id.0,
            name: p.name.clone(),
            kind: p.kind.as_str().to_owned(),
            status: status.to_owned(),
            latency_ms,
            detail,
            last_error: p.last_error.clone(),
            last_error_at: p.last_error_at,
        }
    }));
    let (llm_providers, sso_providers) = futures::join!(llm_checks, sso_checks);
    let healthy = llm_providers
        .iter()
        .chain(&sso_providers)
        .all(|i| i.status != "error");
    Ok(IntegrationsHealth {
        status: if healthy { "ok" } else { "degraded" }.to_owned(),
        checked_at: Utc::now(),
        llm_providers,
        sso_providers,
    })
}
