//! A provider's stored configuration: what a provider row keeps in `config` ([`StoredConfig`],
//! never a secret), how an admin's input is applied to it and checked for completeness, the
//! sealed client secret, and the OAuth flavour, scopes and callback URL derived from it.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::db::entities::sso_providers;
use crate::sso::oidc::{self, Endpoints, IssuerRule};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::SsoKind;
use aerie_contract::sso::SsoProviderInput;

/// The label client secrets are sealed under.
const SECRET_LABEL: &str = "sso-client-secret";

/// What a provider row keeps in `config` (never a secret).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredConfig {
    pub client_id: Option<String>,
    pub tenant: Option<String>,
    pub scopes: Vec<String>,
    pub groups_attribute: Option<String>,
    pub email_attribute: Option<String>,
    pub name_attribute: Option<String>,
    /// Endpoints an admin set by hand.
    pub overrides: Overrides,
    /// The endpoints in use (discovered, well-known, or the overrides).
    pub endpoints: Endpoints,
    /// The issuer an ID token must name (OIDC kinds).
    pub id_issuer: Option<StoredIssuer>,
    pub metadata_url: Option<String>,
    /// The SAML IdP (its entity id, SSO URL and signing certificates).
    pub idp: Option<serde_json::Value>,
    pub allow_idp_initiated: bool,
    /// Email domains this provider is authoritative for (a subset of the policy's domains).
    pub trusted_email_domains: Vec<String>,
    /// Who created or last changed the provider: its sign-ins never reach above their role
    /// without the person's proof (see `account::complete_login`).
    pub changed_by: Option<Steward>,
}

/// The person who created or last changed a provider, with their role then.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Steward {
    pub user: uuid::Uuid,
    pub role: String,
    pub at: chrono::DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum StoredIssuer {
    Exact {
        issuer: String,
    },
    Microsoft {
        template: String,
        tenant: Option<String>,
    },
}

impl StoredIssuer {
    pub fn rule(&self) -> IssuerRule {
        match self {
            StoredIssuer::Exact { issuer } => IssuerRule::Exact(issuer.clone()),
            StoredIssuer::Microsoft { template, tenant } => IssuerRule::Microsoft {
                template: template.clone(),
                tenant: tenant.clone(),
            },
        }
    }
}

pub fn stored_config(row: &sso_providers::Model) -> StoredConfig {
    serde_json::from_value(row.config.clone()).unwrap_or_default()
}

pub(crate) fn callback_url(ctx: &AppContext, kind: SsoKind) -> String {
    let base = ctx.config().public_url();
    match kind {
        SsoKind::Saml => format!("{base}/auth/saml/acs"),
        _ => format!("{base}/auth/{kind}/callback"),
    }
}

pub(super) fn optional_url(field: &'static str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) => {
            let parsed = url::Url::parse(u)
                .map_err(|_| Error::invalid(field, format!("{field} must be an http(s) URL.")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::invalid(
                    field,
                    format!("{field} must be an http(s) URL."),
                ));
            }
            Ok(Some(u.trim_end_matches('/').to_owned()))
        }
    }
}

fn clean(raw: Option<&str>, max: usize) -> Option<String> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(max).collect())
}

/// Applies an input to a stored configuration (create and update).
pub(super) fn apply(config: &mut StoredConfig, input: &SsoProviderInput) -> Result<()> {
    if let Some(v) = &input.client_id {
        config.client_id = clean(Some(v), 300);
    }
    if let Some(v) = &input.tenant {
        config.tenant = clean(Some(v), 200);
    }
    if let Some(v) = &input.scopes {
        config.scopes = v
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if config
            .scopes
            .iter()
            .any(|s| s.contains(char::is_whitespace) || s.len() > 200)
        {
            return Err(Error::invalid("scopes", "scopes must be single words."));
        }
    }
    if let Some(v) = &input.groups_attribute {
        config.groups_attribute = clean(Some(v), 200);
    }
    if let Some(v) = &input.email_attribute {
        config.email_attribute = clean(Some(v), 200);
    }
    if let Some(v) = &input.name_attribute {
        config.name_attribute = clean(Some(v), 200);
    }
    if input.authorization_url.is_some() {
        config.overrides.authorization_url =
            optional_url("authorization_url", input.authorization_url.as_deref())?;
    }
    if input.token_url.is_some() {
        config.overrides.token_url = optional_url("token_url", input.token_url.as_deref())?;
    }
    if input.userinfo_url.is_some() {
        config.overrides.userinfo_url =
            optional_url("userinfo_url", input.userinfo_url.as_deref())?;
    }
    if input.jwks_url.is_some() {
        config.overrides.jwks_url = optional_url("jwks_url", input.jwks_url.as_deref())?;
    }
    if input.metadata_url.is_some() {
        config.metadata_url = optional_url("metadata_url", input.metadata_url.as_deref())?;
    }
    if let Some(v) = input.allow_idp_initiated {
        config.allow_idp_initiated = v;
    }
    Ok(())
}

/// Required fields per kind, checked after applying an input.
pub(super) fn check_complete(kind: SsoKind, config: &StoredConfig, has_secret: bool) -> Result<()> {
    if kind == SsoKind::Saml {
        return Ok(());
    }
    if config.client_id.is_none() {
        return Err(Error::invalid(
            "client_id",
            "client_id is required: the OAuth client id the identity provider gave you.",
        ));
    }
    if kind != SsoKind::Oidc && !has_secret {
        return Err(Error::invalid(
            "client_secret",
            "client_secret is required for this provider (it is stored encrypted and never shown again).",
        ));
    }
    Ok(())
}

/// The fields an update sets (for the audit trail; never their secret values).
pub(super) fn changed_fields(input: &SsoProviderInput) -> Vec<&'static str> {
    let i = input;
    [
        ("name", i.name.is_some()),
        ("enabled", i.enabled.is_some()),
        ("client_id", i.client_id.is_some()),
        ("client_secret", i.client_secret.is_some()),
        ("issuer", i.issuer.is_some()),
        ("tenant", i.tenant.is_some()),
        ("authorization_url", i.authorization_url.is_some()),
        ("token_url", i.token_url.is_some()),
        ("userinfo_url", i.userinfo_url.is_some()),
        ("jwks_url", i.jwks_url.is_some()),
        ("scopes", i.scopes.is_some()),
        ("groups_attribute", i.groups_attribute.is_some()),
        ("email_attribute", i.email_attribute.is_some()),
        ("name_attribute", i.name_attribute.is_some()),
        ("metadata_xml", i.metadata_xml.is_some()),
        ("metadata_url", i.metadata_url.is_some()),
        ("allow_idp_initiated", i.allow_idp_initiated.is_some()),
        ("trusted_email_domains", i.trusted_email_domains.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

pub(crate) fn flavor_of(kind: SsoKind) -> oidc::Flavor {
    match kind {
        SsoKind::Github => oidc::Flavor::GitHub,
        SsoKind::Nextcloud => oidc::Flavor::Nextcloud,
        SsoKind::Google | SsoKind::Microsoft | SsoKind::Oidc | SsoKind::Saml => oidc::Flavor::Oidc,
    }
}

pub(crate) fn scopes_for(kind: SsoKind, config: &StoredConfig) -> Vec<String> {
    let mut scopes: Vec<String> = match flavor_of(kind) {
        oidc::Flavor::Oidc => ["openid", "email", "profile"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        _ => Vec::new(),
    };
    for s in &config.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    scopes
}

pub(super) fn seal_secret(ctx: &AppContext, secret: &str) -> Result<String> {
    crypto::seal(&ctx.secrets().encryption_key, SECRET_LABEL, secret).map_err(Error::Internal)
}

pub(crate) fn open_secret(ctx: &AppContext, row: &sso_providers::Model) -> Result<Option<String>> {
    use secrecy::ExposeSecret;
    row.client_secret_enc
        .as_deref()
        .map(|sealed| {
            crypto::open(&ctx.secrets().encryption_key, SECRET_LABEL, sealed)
                .map(|s| s.expose_secret().to_owned())
                .map_err(Error::Internal)
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_flavour_and_default_scopes() {
        let config = StoredConfig {
            scopes: vec!["groups".to_owned(), "email".to_owned()],
            ..StoredConfig::default()
        };
        for &kind in SsoKind::ALL {
            let (flavor, scopes): (_, &[&str]) = match kind {
                SsoKind::Github => (oidc::Flavor::GitHub, &["groups", "email"]),
                SsoKind::Nextcloud => (oidc::Flavor::Nextcloud, &["groups", "email"]),
                SsoKind::Google | SsoKind::Microsoft | SsoKind::Oidc | SsoKind::Saml => (
                    oidc::Flavor::Oidc,
                    &["openid", "email", "profile", "groups"],
                ),
            };
            assert_eq!(flavor_of(kind), flavor, "{kind}");
            assert_eq!(scopes_for(kind, &config), scopes, "{kind}");
        }
    }
}
