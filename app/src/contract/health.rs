//! Health and discovery bodies.

use serde::{Deserialize, Serialize};

/// `GET /health/` (seed 000): liveness of the API and its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Liveness {
    /// `healthy` when the server and its database answer.
    #[cfg_attr(feature = "ssr", schema(example = "healthy"))]
    pub status: String,
    /// RFC 3339 time of the check.
    pub timestamp: String,
}

/// `GET /api/health` (seed 004).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Aerie's version.
    pub version: String,
    /// Licence tier of this instance.
    pub tier: String,
}

/// A link in the `GET /api` discovery document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Link {
    pub rel: String,
    pub href: String,
}

/// `GET /api`: what this server is and where to look next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
