//! The instance's licence (seed 004 `GET /api/license/status`, `POST /api/license/apply`,
//! `DELETE /api/license`; docs/LICENSING.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kinds::{LicenseFeature, LicenseTier};

/// Where the instance's licence stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LicenseState {
    /// No licence is applied: the Community tier.
    None,
    /// A valid licence is applied.
    Active,
    /// The applied licence expired (or no longer verifies): the Community tier until another
    /// is applied.
    Expired,
}

/// What a licence allows beyond features. `null`: unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LicenseLimits {
    /// People with an account on the instance (active and invited seats).
    pub users: Option<i64>,
    /// Organisations on the instance.
    pub organizations: Option<i64>,
}

/// `GET /api/license/status`: the tier in force, its features and limits, and the licence
/// behind them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LicenseStatus {
    /// The tier in force: `community` unless an active licence names another.
    pub tier: LicenseTier,
    pub state: LicenseState,
    /// Features in force (the tier's, plus any the licence adds).
    pub features: Vec<LicenseFeature>,
    pub limits: LicenseLimits,
    /// Whom the licence was issued to (its `sub`; shown to the instance operator only).
    pub licensee: Option<String>,
    /// The licence's id (its `jti`; shown to the instance operator only).
    pub license_id: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Why an applied licence is not in force (`state: expired`).
    pub reason: Option<String>,
    /// Whether this instance can verify licences (a public key is configured).
    pub verification_configured: bool,
}

/// `POST /api/license/apply`: a licence key, a JWT signed by the licensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ApplyLicense {
    /// The signed licence (`eyJ…`).
    #[serde(alias = "license", alias = "key", alias = "token")]
    pub license_key: String,
}
