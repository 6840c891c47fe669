//! Health and discovery bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET /health/` (seed 000): liveness of the API and its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Liveness {
    /// `healthy` when the server and its database answer.
    #[cfg_attr(feature = "server", schema(example = "healthy"))]
    pub status: String,
    /// RFC 3339 time of the check.
    pub timestamp: String,
}

/// `GET /api/health` (seed 004).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Aerie's version.
    pub version: String,
    /// Licence tier of this instance (`community` without a licence).
    pub tier: crate::LicenseTier,
}

/// `GET /api/health/db` and `GET /api/health/redis` (seed 004): one dependency, checked now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DependencyHealth {
    /// `ok`, `unavailable`, or `not_configured` (no Redis URL is set).
    pub status: String,
    /// `sqlite`, `postgres` or `redis`.
    pub backend: String,
    /// Round trip of the check (connect and ping) in milliseconds; null when nothing was checked.
    pub latency_ms: Option<f64>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
}

/// `GET /api/health/integrations` (seed 004): the organisation's providers, checked now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct IntegrationsHealth {
    /// `ok` when every enabled provider answered, else `degraded`.
    pub status: String,
    pub checked_at: DateTime<Utc>,
    /// The LLM providers (their model list is fetched).
    pub llm_providers: Vec<IntegrationHealth>,
    /// The single sign-on providers (discovery, keys and redirect URI, or SAML metadata, as
    /// `POST /api/sso/providers/{id}/test` does); disabled ones are listed, not checked.
    pub sso_providers: Vec<IntegrationHealth>,
}

/// One provider of the integrations check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct IntegrationHealth {
    pub id: Uuid,
    pub name: String,
    /// `openai_compatible`, or the single sign-on kind (`oidc`, `saml`, `google`…).
    pub kind: String,
    /// `ok`, `error` or `disabled`.
    pub status: String,
    /// Round trip of the check in milliseconds; null when it was not checked.
    pub latency_ms: Option<f64>,
    /// What the check found, or what failed.
    pub detail: String,
    /// The last failure recorded for a single sign-on provider (sign-ins and tests), and when.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A link in the `GET /api` discovery document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Link {
    pub rel: String,
    pub href: String,
}

/// `GET /api`: what this server is and where to look next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ApiInfo {
    pub name: String,
    pub version: String,
    pub links: Vec<Link>,
}

/// What the home page shows about the server it talks to (a server function result).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub database_ok: bool,
    /// Seconds since this process started.
    pub uptime_seconds: u64,
    /// True when the server runs `aerie dev` (authentication off).
    pub dev_mode: bool,
}

/// One operation of the OpenAPI document, as listed on the API reference page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub tag: String,
    pub operation_id: String,
}
