//! Health, discovery and instance status.

use chrono::{SecondsFormat, Utc};

use crate::backend::{AppContext, Error, Result};
use crate::contract::health::{ApiInfo, Health, Link, Liveness, ServerStatus};

/// The licence tier this build serves.
pub const TIER: &str = "community";

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
        version: crate::VERSION.to_owned(),
        tier: TIER.to_owned(),
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
        version: crate::VERSION.to_owned(),
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
        version: crate::VERSION.to_owned(),
        database: ctx.db_kind().as_str().to_owned(),
        database_ok: check_database(ctx).await.is_ok(),
        uptime_seconds: ctx.started_at().elapsed().as_secs(),
        dev_mode: ctx.dev_mode(),
    }
}

/// The operations of the generated OpenAPI document, provided to server functions as context by
/// the HTTP layer (which owns the document).
#[derive(Clone, Debug, Default)]
pub struct ApiCatalogue(pub std::sync::Arc<Vec<crate::contract::health::Operation>>);

impl ApiCatalogue {
    pub fn operations(&self) -> Vec<crate::contract::health::Operation> {
        self.0.as_ref().clone()
    }
}
