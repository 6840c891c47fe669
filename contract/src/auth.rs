//! Identity wire types: first-run setup, login, tokens, the current user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{OrgId, UserId};
use super::kinds::{Role, SsoKind, UserStatus};

/// `GET /auth/setup-status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SetupStatus {
    /// True once the first organisation and its owner exist.
    pub bootstrapped: bool,
    /// The kinds of identity provider this instance offers at login.
    pub oauth_providers: Vec<SsoKind>,
    /// Interface languages available.
    pub locales: Vec<String>,
    /// Anyone may sign up and create an organisation of their own (`AERIE_ORG_SIGNUP`).
    #[serde(default)]
    pub organization_signup: bool,
}

/// `POST /auth/setup`: the first organisation and its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SetupRequest {
    pub email: String,
    pub password: String,
    /// The admin's display name (defaults to the part of the email before `@`).
    #[serde(default)]
    pub name: Option<String>,
    /// The organisation's name (defaults to "My organisation").
    #[serde(default, alias = "organisation_name", alias = "organization")]
    pub organization_name: Option<String>,
}

/// `POST /auth/jwt/create/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// `POST /auth/jwt/refresh/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh: String,
}

/// A JWT access token and its rotating refresh token (seed 000/001).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair { access: [REDACTED], refresh: [REDACTED] }")
    }
}

/// A user as the user and admins see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub language: String,
    /// The role in the current organisation.
    pub role: Role,
    pub status: UserStatus,
    pub org_id: OrgId,
    pub created_at: DateTime<Utc>,
}

/// The organisation in its short form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgSummary {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
}

/// `POST /auth/setup` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SetupResult {
    pub user: User,
    pub organization: OrgSummary,
}

/// One organisation the user belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgMembership {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// `GET /auth/my-permissions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Permissions {
    pub user: User,
    /// Role in the current organisation.
    pub role: Role,
    /// What that role allows, e.g. `api_keys:manage`, `users:manage`.
    pub permissions: Vec<String>,
    /// Names of the groups the user is in.
    pub groups: Vec<String>,
    pub orgs: Vec<OrgMembership>,
    pub beta_features: Vec<String>,
}

/// `POST /auth/update-profile`: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateProfile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}
