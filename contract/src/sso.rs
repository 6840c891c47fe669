//! Single sign-on: identity providers an organisation configures (OpenID Connect, OAuth 2,
//! SAML 2.0), its SSO policy, what the login page offers, and a user's linked identities.
//! Client secrets go in, never out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{IdentityId, SsoProviderId};
use super::kinds::{Role, SsoKind};

/// A configured identity provider, as answered (never its client secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SsoProvider {
    pub id: SsoProviderId,
    pub kind: SsoKind,
    /// Shown on the login button ("Sign in with …").
    pub name: String,
    pub enabled: bool,
    /// OAuth client id (OIDC/OAuth kinds).
    pub client_id: Option<String>,
    /// True when a client secret is stored.
    pub has_client_secret: bool,
    /// OIDC issuer (generic OIDC; for Google and Microsoft derived), Nextcloud base URL, or the
    /// SAML IdP's entity id.
    pub issuer: Option<String>,
    /// Microsoft Entra tenant: a tenant id or domain (single tenant), `common` or `organizations`.
    pub tenant: Option<String>,
    /// Endpoint overrides (for air-gapped installs and tests); absent: discovered or the
    /// provider's well-known endpoints.
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
    /// Extra scopes beyond `openid email profile` (or the provider's defaults).
    pub scopes: Vec<String>,
    /// OIDC claim or SAML attribute holding group names; groups of the same name in the
    /// organisation are synced at each login. Absent: no group sync.
    pub groups_attribute: Option<String>,
    /// SAML: attribute holding the email (absent: `email`, `mail` or the NameID).
    pub email_attribute: Option<String>,
    /// SAML: attribute holding the display name (absent: `name`, `displayName`, `cn`).
    pub name_attribute: Option<String>,
    /// SAML: the IdP's single sign-on URL.
    pub sso_url: Option<String>,
    /// SAML: SHA-256 fingerprints of the IdP's signing certificates.
    pub certificate_fingerprints: Vec<String>,
    /// SAML: accept logins the IdP starts (no request of ours). Default off.
    pub allow_idp_initiated: bool,
    /// Email domains this provider is authoritative for: its accounts of these domains are
    /// linked to existing Aerie accounts with the same email without asking the person to prove
    /// the account (owners excepted), and SAML/Nextcloud emails of these domains count as
    /// verified. Empty (the default): linking always needs the account's password or session.
    pub trusted_email_domains: Vec<String>,
    /// The highest role this provider's sign-ins may reach without the person's proof: the role
    /// of whoever created or last changed the provider (`admin` or `owner`).
    pub max_role: Role,
    /// Where the login button points: `/auth/{kind}/login?provider={id}`.
    pub login_url: String,
    /// The redirect URI (OAuth) or ACS URL (SAML) to register at the identity provider.
    pub callback_url: String,
    /// The last failure (configuration test or a refused login), for the admin.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/sso/providers` and (every field optional) `PATCH /api/sso/providers/{id}`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SsoProviderInput {
    /// Required when creating; cannot change afterwards.
    #[serde(default)]
    pub kind: Option<SsoKind>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Stored encrypted; never answered. `null` on update removes it (absent: kept).
    #[serde(
        default,
        deserialize_with = "super::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub client_secret: Option<Option<String>>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub authorization_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub userinfo_url: Option<String>,
    #[serde(default)]
    pub jwks_url: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub groups_attribute: Option<String>,
    #[serde(default)]
    pub email_attribute: Option<String>,
    #[serde(default)]
    pub name_attribute: Option<String>,
    /// SAML: the IdP's metadata XML, pasted.
    #[serde(default)]
    pub metadata_xml: Option<String>,
    /// SAML: where to fetch the IdP's metadata.
    #[serde(default)]
    pub metadata_url: Option<String>,
    #[serde(default)]
    pub allow_idp_initiated: Option<bool>,
    /// Email domains the provider is authoritative for (see [`SsoProvider`]); `[]` clears.
    /// Each must be one of the SSO policy's `email_domains`.
    #[serde(default)]
    pub trusted_email_domains: Option<Vec<String>>,
}

impl std::fmt::Debug for SsoProviderInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoProviderInput")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self
                    .client_secret
                    .as_ref()
                    .map(|s| s.as_ref().map(|_| "[REDACTED]")),
            )
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The outcome of `POST /api/sso/providers/{id}/test`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SsoTestResult {
    pub ok: bool,
    /// What was checked, or what to fix.
    pub detail: String,
}

/// An organisation's single sign-on policy (`GET`/`PUT /api/sso/policy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SsoPolicy {
    /// Members sign in only through the organisation's providers; owners keep password login
    /// as a break-glass path.
    #[serde(default)]
    pub sso_only: bool,
    /// Email domains that SSO may link or provision (`example.com`); also route the login page
    /// to this organisation. Empty: existing members may link, nobody is provisioned.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Create accounts at first SSO login, with the organisation's default role, for emails of
    /// `email_domains`. Off: newcomers need an invitation (which SSO then accepts).
    #[serde(default)]
    pub jit_provisioning: bool,
    /// Of `email_domains`, those the instance operator has not approved (yet, or at all): they
    /// restrict who may sign in, but route, link and provision nobody until approved. Answered,
    /// never stored; ignored in a request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awaiting_approval: Vec<String>,
}

/// A login button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LoginProvider {
    pub id: SsoProviderId,
    pub kind: SsoKind,
    pub name: String,
    pub login_url: String,
}

/// `GET /auth/sso/discover?email=` or `?org=`: where this person signs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LoginOptions {
    /// The organisation's slug, when one was found.
    pub organization: Option<String>,
    pub organization_name: Option<String>,
    pub providers: Vec<LoginProvider>,
    /// False when the organisation is SSO-only (owners may still use the password form).
    pub password_allowed: bool,
}

/// An external identity linked to the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LinkedIdentity {
    pub id: IdentityId,
    pub provider_id: Option<SsoProviderId>,
    pub provider_name: String,
    /// The provider's kind; `""` (`None`) once the provider is gone.
    #[serde(with = "kind_or_empty")]
    #[cfg_attr(
        feature = "server",
        schema(schema_with = kind_or_empty::schema, required = true)
    )]
    pub kind: Option<SsoKind>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// An SSO kind that travels as `""` when there is none ([`LinkedIdentity::kind`]).
mod kind_or_empty {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SsoKind;

    pub fn serialize<S: Serializer>(kind: &Option<SsoKind>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.map_or("", SsoKind::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SsoKind>, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(serde::de::Error::custom)
    }

    /// One of the kinds, or `""`.
    #[cfg(feature = "server")]
    pub fn schema() -> utoipa::openapi::schema::Schema {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Ref, Type};
        OneOfBuilder::new()
            .item(Ref::from_schema_name("SsoKind"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([""]))
                    .description(Some("The provider is gone.")),
            )
            .description(Some(
                "The provider's kind; `\"\"` once the provider is gone.",
            ))
            .into()
    }
}

/// A sign-in that stopped because linking the identity to an existing account needs proof
/// (`GET /auth/sso/link?code=`): what the link page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PendingLink {
    /// The identity provider's name ("Sign in with …").
    pub provider_name: String,
    pub kind: SsoKind,
    /// The email the identity provider gave; the account to link has the same one.
    pub email: String,
    /// The browser is signed in to that very account already: confirming is enough.
    pub signed_in_as_account: bool,
    /// When the link code expires.
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kind: Option<SsoKind>) -> LinkedIdentity {
        LinkedIdentity {
            id: IdentityId(uuid::Uuid::nil()),
            provider_id: None,
            provider_name: "Okta".to_owned(),
            kind,
            email: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            last_login_at: None,
        }
    }

    #[test]
    fn a_linked_identitys_kind_is_a_kind_or_empty() {
        for (kind, wire) in [(Some(SsoKind::Saml), "saml"), (None, "")] {
            let json = serde_json::to_value(identity(kind)).unwrap();
            assert_eq!(json["kind"], wire);
            assert_eq!(
                serde_json::from_value::<LinkedIdentity>(json).unwrap(),
                identity(kind)
            );
        }
        let mut json = serde_json::to_value(identity(None)).unwrap();
        json["kind"] = "carrier-pigeon".into();
        assert!(serde_json::from_value::<LinkedIdentity>(json).is_err());
    }
}
