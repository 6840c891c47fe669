//! The instance operator's view: every organisation and its lifecycle (create, suspend, resume,
//! delete), and the organisations' claims to email domains for single sign-on, which route
//! people only once the operator approves them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::OrgId;
use super::kinds::{DomainClaimStatus, OrgStatus};

/// An organisation as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TenantOrganization {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub status: OrgStatus,
    /// When it was suspended (absent while active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<DateTime<Utc>>,
    /// People with a membership, of any status.
    pub members: u64,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/operator/organizations`: a new organisation and an invitation for its first owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CreateTenant {
    pub name: String,
    /// Who is invited as its owner (the link in the answer, shown once).
    pub owner_email: String,
    /// A plan's slug (`GET /v1/billings/plans/`); the default plan when absent.
    #[serde(default)]
    pub plan: Option<String>,
}

/// The answer to [`CreateTenant`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CreatedTenant {
    pub organization: TenantOrganization,
    /// Where the owner sets a password and joins (shown once; valid for the invitation's
    /// lifetime).
    pub owner_invite_url: String,
}

/// An organisation's claim to an email domain (`GET /api/operator/sso-domains`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DomainClaim {
    pub domain: String,
    pub org_id: OrgId,
    pub org_slug: String,
    pub org_name: String,
    pub status: DomainClaimStatus,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// `POST /api/operator/sso-domains/{domain}`: the operator's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DecideDomainClaim {
    /// `approved` or `rejected`.
    pub status: DomainClaimStatus,
}

/// `POST /api/operator/plans`: a plan as the operator defines it, created or replaced by its
/// slug. `null` credits, tokens or limits mean unlimited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PlanInput {
    /// 1 to 32 lower-case letters, digits or dashes; a new slug makes a new plan.
    pub slug: String,
    pub name: String,
    /// What it costs, as people read it (`Free`, `$20 per user per month`).
    #[serde(default)]
    pub price_label: String,
    pub monthly_credits: Option<i64>,
    #[serde(default)]
    pub monthly_tokens_per_user: Option<i64>,
    #[serde(default)]
    pub requests_per_minute: Option<i32>,
    #[serde(default)]
    pub tokens_per_minute: Option<i64>,
    #[serde(default)]
    pub features: Vec<String>,
}

/// A model's price in credits per million tokens (`*`: every model without its own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ModelPrice {
    pub model: String,
    pub input_per_mtok: i64,
    pub output_per_mtok: i64,
}

/// `POST /api/operator/organizations/{id}/plan`: move the organisation to a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChangePlan {
    /// The plan's slug.
    pub plan: String,
}
