//! Organisations, their signup settings, groups, and user administration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{GroupId, OrgId, UserId};
use super::kinds::{Role, SignupMode, UserStatus};

/// An organisation as its members see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    /// Knowledge domains members may query; empty means all.
    pub allowed_domains: Vec<String>,
    pub plan: String,
    pub signup_mode: SignupMode,
    /// Listed by `GET /auth/organizations/public` (off unless its admins turn it on).
    #[serde(default)]
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

/// `PATCH /v1/orgs/{slug}/` and `PATCH /api/organisation`: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateOrganization {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    pub signup_mode: Option<SignupMode>,
    /// List the organisation (name and slug) in `GET /auth/organizations/public`.
    #[serde(default)]
    pub public: Option<bool>,
}

/// `GET /auth/organizations/public`: what embedded chat may show, for the organisations whose
/// admins marked them public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PublicOrganization {
    pub slug: String,
    pub name: String,
}

/// `GET/PUT /auth/admin/signup-settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SignupSettings {
    pub mode: SignupMode,
    /// Role given to people who join (`member` or `admin`).
    #[serde(default = "member")]
    pub default_role: Role,
}

fn member() -> Role {
    Role::Member
}

/// `POST /auth/signup`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The invitation token, when joining by invitation.
    #[serde(default)]
    pub invite_token: Option<String>,
    /// The organisation to join (its slug); defaults to the instance's first one.
    #[serde(default)]
    pub organization: Option<String>,
    /// Instead of joining: create an organisation with this name, as its owner (only where the
    /// operator allows it, `AERIE_ORG_SIGNUP`).
    #[serde(default)]
    pub new_organization: Option<String>,
}

/// `POST /auth/signup` and `POST /auth/pending-signup` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SignupResult {
    /// `active` (signed up; log in) or `waitlisted` (an admin decides).
    pub status: UserStatus,
    pub user: super::auth::User,
}

/// `GET /auth/invite/{token}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    pub email: String,
    pub role: Role,
    pub organization: super::auth::OrgSummary,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/users`: invite someone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct InviteUser {
    pub email: String,
    /// `member` (default) or `admin`.
    #[serde(default)]
    pub role: Option<Role>,
}

/// An invitation; `token` and `invite_url` only in the answer that creates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
}

/// `PATCH /api/users/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateUser {
    #[serde(default)]
    pub role: Option<Role>,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<UserStatus>,
}

/// A group of users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    pub members: Vec<UserId>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/organisation/groups` and `PATCH …/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct GroupInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /api/organisation/groups/{id}/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AddMember {
    pub user_id: UserId,
}
