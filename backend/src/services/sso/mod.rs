//! Single sign-on, the rules: an organisation's identity providers (validated when saved, secrets
//! sealed), its SSO policy, the login page's routing by email domain, and users' linked
//! identities. The flows themselves are in [`login`] (OAuth/OIDC) and [`saml`].

pub mod link;
pub mod login;
#[cfg(feature = "saml")]
pub mod saml;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Role};
use crate::db::entities::{organizations, sso_providers};
use crate::net_guard::{self, Allow, GuardedClient};
use crate::sso::oidc::{self, Endpoints, IssuerRule, SsoError};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{IdentityId, OrgId, SsoProviderId};
use aerie_contract::sso::{
    LinkedIdentity, LoginOptions, LoginProvider, SSO_KINDS, SsoPolicy, SsoProvider,
    SsoProviderInput, SsoTestResult,
};

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
    /// without the person's proof (see `login::complete_login`).
    pub changed_by: Option<Steward>,
}

/// The person who created or last changed a provider, with their role then.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Steward {
    pub user: uuid::Uuid,
    pub role: String,
    pub at: chrono::DateTime<Utc>,
}

impl StoredConfig {
    /// The highest role this provider vouches for on its own. Providers stored before stewards
    /// were recorded count as an admin's.
    pub fn max_role(&self) -> Role {
        self.changed_by
            .as_ref()
            .and_then(|s| Role::parse(&s.role))
            .unwrap_or(Role::Admin)
    }

    /// When the provider was last changed (identities proven before then must prove again to
    /// reach above [`Self::max_role`]).
    pub fn changed_at(&self) -> Option<chrono::DateTime<Utc>> {
        self.changed_by.as_ref().map(|s| s.at)
    }

    /// Whether the provider is authoritative for this email's domain (and the organisation
    /// still claims the domain).
    pub fn vouches_for(&self, email: &str, policy: &SsoPolicy) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        !domain.is_empty()
            && self.trusted_email_domains.iter().any(|d| d == domain)
            && policy.email_domains.iter().any(|d| d == domain)
    }
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

/// The organisation's policy, from its settings (`settings.sso`).
pub fn policy_of(org: &organizations::Model) -> SsoPolicy {
    org.settings
        .get("sso")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub(crate) fn callback_url(ctx: &AppContext, kind: &str) -> String {
    let base = ctx.config().public_url();
    if kind == "saml" {
        format!("{base}/auth/saml/acs")
    } else {
        format!("{base}/auth/{kind}/callback")
    }
}

fn login_url(row: &sso_providers::Model) -> String {
    format!("/auth/{}/login?provider={}", row.kind, row.id)
}

fn fingerprints(config: &StoredConfig) -> Vec<String> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let certs = config
        .idp
        .as_ref()
        .and_then(|idp| idp.get("certificates_der_b64"))
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    certs
        .iter()
        .filter_map(|c| c.as_str())
        .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .map(|der| {
            Sha256::digest(der)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}

pub fn dto(ctx: &AppContext, row: &sso_providers::Model) -> SsoProvider {
    let config = stored_config(row);
    let idp_sso = config
        .idp
        .as_ref()
        .and_then(|idp| idp.get("sso_url"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    SsoProvider {
        id: SsoProviderId(row.id),
        kind: row.kind.clone(),
        name: row.name.clone(),
        enabled: row.enabled,
        client_id: config.client_id.clone(),
        has_client_secret: row.client_secret_enc.is_some(),
        issuer: row.issuer.clone(),
        tenant: config.tenant.clone(),
        authorization_url: Some(config.endpoints.authorization_url.clone())
            .filter(|u| !u.is_empty()),
        token_url: Some(config.endpoints.token_url.clone()).filter(|u| !u.is_empty()),
        userinfo_url: config.endpoints.userinfo_url.clone(),
        jwks_url: config.endpoints.jwks_url.clone(),
        scopes: config.scopes.clone(),
        groups_attribute: config.groups_attribute.clone(),
        email_attribute: config.email_attribute.clone(),
        name_attribute: config.name_attribute.clone(),
        sso_url: idp_sso,
        certificate_fingerprints: fingerprints(&config),
        allow_idp_initiated: config.allow_idp_initiated,
        trusted_email_domains: config.trusted_email_domains.clone(),
        max_role: config.max_role().as_str().to_owned(),
        login_url: login_url(row),
        callback_url: callback_url(ctx, &row.kind),
        last_error: row.last_error.clone(),
        last_error_at: row.last_error_at.map(utc),
        last_login_at: row.last_login_at.map(utc),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    }
}

fn config_error(field: &'static str, e: SsoError) -> Error {
    Error::invalid(field, e.to_string())
}

fn optional_url(field: &'static str, raw: Option<&str>) -> Result<Option<String>> {
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

/// What single sign-on may reach beyond public addresses: everything with
/// `AERIE_ALLOW_PRIVATE_SSO_URLS`, else the networks of `AERIE_ALLOW_PRIVATE_SSO_NETWORKS`
/// (checked at start-up; an entry that does not parse allows nothing).
pub(crate) fn allowed_urls(config: &crate::config::Config) -> Allow {
    if config.allow_private_sso_urls {
        return Allow::from(true);
    }
    Allow::networks(
        config
            .allow_private_sso_networks
            .split(',')
            .filter_map(|n| net_guard::parse_networks(n).ok())
            .flatten(),
    )
}

/// Checks a URL single sign-on will request against the SSRF guard, IP literals and names
/// alike, for a clear error when a provider is saved or tested (private addresses need
/// `AERIE_ALLOW_PRIVATE_SSO_URLS` or `AERIE_ALLOW_PRIVATE_SSO_NETWORKS`). The requests
/// themselves go through the guarded client ([`oidc::http_client`]), which checks again.
async fn guard(ctx: &AppContext, field: &'static str, url: &str) -> Result<()> {
    net_guard::check_url_resolved(url, allowed_urls(ctx.config()))
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::invalid(
                field,
                format!("{e} (an operator can allow private addresses with AERIE_ALLOW_PRIVATE_SSO_URLS=true, or some networks with AERIE_ALLOW_PRIVATE_SSO_NETWORKS)"),
            )
        })
}

/// Every endpoint single sign-on will request for this provider, each through [`guard`].
async fn guard_endpoints(ctx: &AppContext, endpoints: &Endpoints) -> Result<()> {
    let named = [
        ("authorization_url", Some(&endpoints.authorization_url)),
        ("token_url", Some(&endpoints.token_url)),
        ("userinfo_url", endpoints.userinfo_url.as_ref()),
        ("jwks_url", endpoints.jwks_url.as_ref()),
        ("issuer", endpoints.api_base.as_ref()),
    ];
    for (field, url) in named {
        if let Some(url) = url.filter(|u| !u.is_empty()) {
            guard(ctx, field, url).await?;
        }
    }
    Ok(())
}

/// Works out a provider's endpoints from its kind, issuer and overrides (running OIDC
/// discovery), and the IdP of a SAML provider from its metadata. Returns the issuer column.
async fn resolve(
    ctx: &AppContext,
    kind: &str,
    issuer_in: Option<String>,
    config: &mut StoredConfig,
    metadata_xml: Option<&str>,
) -> Result<Option<String>> {
    let http = ctx.sso().http()?;
    let o = config.overrides.clone();
    for (field, url) in [
        ("authorization_url", &o.authorization_url),
        ("token_url", &o.token_url),
        ("userinfo_url", &o.userinfo_url),
        ("jwks_url", &o.jwks_url),
    ] {
        if let Some(url) = url {
            guard(ctx, field, url).await?;
        }
    }
    match kind {
        "google" | "microsoft" | "oidc" => {
            let issuer = match (kind, issuer_in) {
                (_, Some(i)) => i,
                ("google", None) => "https://accounts.google.com".to_owned(),
                ("microsoft", None) => format!(
                    "https://login.microsoftonline.com/{}/v2.0",
                    config.tenant.as_deref().unwrap_or("common")
                ),
                _ => {
                    return Err(Error::invalid(
                        "issuer",
                        "issuer is required: the provider's issuer URL (its discovery document is at <issuer>/.well-known/openid-configuration).",
                    ));
                }
            };
            guard(ctx, "issuer", &issuer).await?;
            let by_hand =
                o.authorization_url.is_some() && o.token_url.is_some() && o.jwks_url.is_some();
            let (discovered_issuer, mut endpoints) = if by_hand {
                (issuer.clone(), Endpoints::default())
            } else {
                let d = oidc::discover(&http, &issuer)
                    .await
                    .map_err(|e| config_error("issuer", e))?;
                // Everything the discovery document names is requested later: check it all.
                for url in [
                    Some(&d.authorization_endpoint),
                    Some(&d.token_endpoint),
                    Some(&d.jwks_uri),
                    d.userinfo_endpoint.as_ref(),
                ]
                .into_iter()
                .flatten()
                {
                    guard(ctx, "issuer", url).await?;
                }
                (
                    d.issuer.clone(),
                    Endpoints {
                        authorization_url: d.authorization_endpoint,
                        token_url: d.token_endpoint,
                        userinfo_url: d.userinfo_endpoint,
                        jwks_url: Some(d.jwks_uri),
                        api_base: None,
                    },
                )
            };
            if let Some(u) = o.authorization_url {
                endpoints.authorization_url = u;
            }
            if let Some(u) = o.token_url {
                endpoints.token_url = u;
            }
            if o.userinfo_url.is_some() {
                endpoints.userinfo_url = o.userinfo_url;
            }
            if o.jwks_url.is_some() {
                endpoints.jwks_url = o.jwks_url;
            }
            config.id_issuer = Some(if discovered_issuer.contains("{tenantid}") {
                StoredIssuer::Microsoft {
                    template: discovered_issuer,
                    tenant: config.tenant.clone(),
                }
            } else {
                StoredIssuer::Exact {
                    issuer: discovered_issuer,
                }
            });
            guard_endpoints(ctx, &endpoints).await?;
            config.endpoints = endpoints;
            Ok(Some(issuer))
        }
        "github" => {
            let web = issuer_in.unwrap_or_else(|| "https://github.com".to_owned());
            guard(ctx, "issuer", &web).await?;
            let endpoints = Endpoints {
                authorization_url: o
                    .authorization_url
                    .unwrap_or_else(|| format!("{web}/login/oauth/authorize")),
                token_url: o
                    .token_url
                    .unwrap_or_else(|| format!("{web}/login/oauth/access_token")),
                userinfo_url: None,
                jwks_url: None,
                api_base: Some(o.userinfo_url.unwrap_or_else(|| {
                    if web == "https://github.com" {
                        "https://api.github.com".to_owned()
                    } else {
                        format!("{web}/api/v3")
                    }
                })),
            };
            guard_endpoints(ctx, &endpoints).await?;
            config.endpoints = endpoints;
            if config.scopes.is_empty() {
                config.scopes = vec!["read:user".to_owned(), "user:email".to_owned()];
            }
            Ok(Some(web))
        }
        "nextcloud" => {
            let base = issuer_in.ok_or_else(|| {
                Error::invalid(
                    "issuer",
                    "issuer is required for Nextcloud: its base URL, e.g. https://cloud.example.com.",
                )
            })?;
            guard(ctx, "issuer", &base).await?;
            let endpoints = Endpoints {
                authorization_url: o
                    .authorization_url
                    .unwrap_or_else(|| format!("{base}/index.php/apps/oauth2/authorize")),
                token_url: o
                    .token_url
                    .unwrap_or_else(|| format!("{base}/index.php/apps/oauth2/api/v1/token")),
                userinfo_url: None,
                jwks_url: None,
                api_base: Some(base.clone()),
            };
            guard_endpoints(ctx, &endpoints).await?;
            config.endpoints = endpoints;
            Ok(Some(base))
        }
        "saml" => resolve_saml(ctx, &http, config, metadata_xml).await,
        _ => Err(Error::invalid(
            "kind",
            format!("kind must be one of: {}.", SSO_KINDS.join(", ")),
        )),
    }
}

#[cfg(feature = "saml")]
async fn resolve_saml(
    ctx: &AppContext,
    http: &GuardedClient,
    config: &mut StoredConfig,
    metadata_xml: Option<&str>,
) -> Result<Option<String>> {
    let xml = match (metadata_xml, config.metadata_url.clone()) {
        (Some(xml), _) => xml.to_owned(),
        (None, Some(url)) => {
            guard(ctx, "metadata_url", &url).await?;
            oidc::get_xml(http, &url).await.map_err(|e| {
                Error::invalid(
                    "metadata_url",
                    format!("could not fetch the IdP metadata: {e}"),
                )
            })?
        }
        (None, None) => match config.idp.clone() {
            // An update that does not touch the metadata keeps it.
            Some(idp) => {
                let entity = idp
                    .get("entity_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                return Ok(entity);
            }
            None => {
                return Err(Error::invalid(
                    "metadata_xml",
                    "Paste the identity provider's metadata XML (metadata_xml) or give its URL (metadata_url).",
                ));
            }
        },
    };
    let idp = crate::sso::saml::parse_idp_metadata(&xml)
        .map_err(|e| Error::invalid("metadata_xml", e.to_string()))?;
    guard(ctx, "metadata_xml", &idp.sso_url).await?;
    let entity = idp.entity_id.clone();
    config.idp = Some(serde_json::to_value(&idp).map_err(|e| Error::Internal(anyhow::anyhow!(e)))?);
    Ok(Some(entity))
}

#[cfg(not(feature = "saml"))]
async fn resolve_saml(
    _ctx: &AppContext,
    _http: &GuardedClient,
    _config: &mut StoredConfig,
    _metadata_xml: Option<&str>,
) -> Result<Option<String>> {
    Err(Error::invalid(
        "kind",
        "This build of Aerie has no SAML support (the `saml` feature is off).",
    ))
}

/// Applies an input to a stored configuration (create and update).
fn apply(config: &mut StoredConfig, input: &SsoProviderInput) -> Result<()> {
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
fn check_complete(kind: &str, config: &StoredConfig, has_secret: bool) -> Result<()> {
    if kind == "saml" {
        return Ok(());
    }
    if config.client_id.is_none() {
        return Err(Error::invalid(
            "client_id",
            "client_id is required: the OAuth client id the identity provider gave you.",
        ));
    }
    if kind != "oidc" && !has_secret {
        return Err(Error::invalid(
            "client_secret",
            "client_secret is required for this provider (it is stored encrypted and never shown again).",
        ));
    }
    Ok(())
}

/// Probes the authorization endpoint with our redirect URI: identity providers that check it
/// answer 4xx naming the redirect URI before any login.
async fn probe_redirect(ctx: &AppContext, row_kind: &str, config: &StoredConfig) -> Result<()> {
    let Some(client_id) = config.client_id.as_deref() else {
        return Ok(());
    };
    let redirect = callback_url(ctx, row_kind);
    let flavor = flavor_of(row_kind);
    let request = oidc::authorization_request(
        &config.endpoints,
        &oidc::ClientConfig {
            client_id,
            client_secret: None,
            redirect_uri: &redirect,
            flavor,
        },
        &scopes_for(row_kind, config),
        &[],
    )
    .map_err(|e| config_error("authorization_url", e))?;
    let http = GuardedClient::new(
        allowed_urls(ctx.config()),
        std::time::Duration::from_secs(10),
        false,
    )
    .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    let probe = http
        .request(reqwest::Method::GET, &request.url)
        .map_err(|e| Error::invalid("authorization_url", e.to_string()))?;
    let Ok(response) = probe.send().await else {
        return Err(Error::invalid(
            "authorization_url",
            format!(
                "the authorization endpoint {} cannot be reached",
                config.endpoints.authorization_url
            ),
        ));
    };
    let status = response.status();
    if status.is_client_error() {
        let body = response.text().await.unwrap_or_default().to_lowercase();
        if body.contains("redirect") {
            return Err(Error::invalid(
                "client_id",
                format!(
                    "the identity provider refuses our redirect URI: register {redirect} as an allowed redirect URI for client {client_id}"
                ),
            ));
        }
        if body.contains("client") {
            return Err(Error::invalid(
                "client_id",
                format!(
                    "the identity provider does not know client {client_id}: check the client id"
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn flavor_of(kind: &str) -> oidc::Flavor {
    match kind {
        "github" => oidc::Flavor::GitHub,
        "nextcloud" => oidc::Flavor::Nextcloud,
        _ => oidc::Flavor::Oidc,
    }
}

pub(crate) fn scopes_for(kind: &str, config: &StoredConfig) -> Vec<String> {
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

fn seal_secret(ctx: &AppContext, secret: &str) -> Result<String> {
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

/// `GET /api/sso/providers`.
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<SsoProvider>> {
    let p = actor.require_role(Role::Admin)?;
    Ok(store::sso::list(ctx.db(), p.org_id)
        .await?
        .iter()
        .map(|r| dto(ctx, r))
        .collect())
}

/// `GET /api/sso/providers/{id}`.
pub async fn get(ctx: &AppContext, actor: &Actor, id: SsoProviderId) -> Result<SsoProvider> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::sso::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(dto(ctx, &row))
}

/// `POST /api/sso/providers`: validates everything, discovers endpoints, probes the redirect
/// URI, then stores the provider (secret sealed).
pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: SsoProviderInput,
) -> Result<SsoProvider> {
    let p = actor.require_role(Role::Admin)?;
    let kind = input
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| SSO_KINDS.contains(k))
        .ok_or_else(|| {
            Error::invalid(
                "kind",
                format!("kind must be one of: {}.", SSO_KINDS.join(", ")),
            )
        })?
        .to_owned();
    let default_name = match kind.as_str() {
        "google" => "Google",
        "microsoft" => "Microsoft",
        "github" => "GitHub",
        "nextcloud" => "Nextcloud",
        "saml" => "SAML",
        _ => "Single sign-on",
    };
    let name = validate::name("name", input.name.as_deref().unwrap_or(default_name), 100)?;
    let mut config = StoredConfig::default();
    apply(&mut config, &input)?;
    apply_trusted_domains(&mut config, &input, &org_policy(ctx, p.org_id).await?)?;
    stewarded(&mut config, p);
    let secret = input
        .client_secret
        .clone()
        .flatten()
        .filter(|s| !s.trim().is_empty());
    check_complete(&kind, &config, secret.is_some())?;
    let issuer_in = optional_url("issuer", input.issuer.as_deref())?;
    let issuer = resolve(
        ctx,
        &kind,
        issuer_in,
        &mut config,
        input.metadata_xml.as_deref(),
    )
    .await?;
    if kind != "saml" {
        probe_redirect(ctx, &kind, &config).await?;
    }
    let new = store::sso::NewProvider {
        kind: kind.clone(),
        name,
        enabled: input.enabled.unwrap_or(true),
        issuer,
        config: serde_json::to_value(&config).map_err(|e| Error::Internal(e.into()))?,
        client_secret_enc: secret.as_deref().map(|s| seal_secret(ctx, s)).transpose()?,
    };
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let row = store::sso::insert(&txn, p.org_id, new, now)
        .await
        .map_err(Error::on_unique("name"))?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso_provider.created")
            .target("sso_provider", row.id)
            .details(serde_json::json!({
                "kind": row.kind, "name": row.name, "max_role": p.role.as_str(),
                "trusted_email_domains": config.trusted_email_domains,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(dto(ctx, &row))
}

/// `PATCH /api/sso/providers/{id}`.
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: SsoProviderId,
    input: SsoProviderInput,
) -> Result<SsoProvider> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::sso::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if input.kind.as_deref().is_some_and(|k| k != row.kind) {
        return Err(Error::invalid(
            "kind",
            "kind cannot change; add another provider instead.",
        ));
    }
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, 100))
        .transpose()?;
    let mut config = stored_config(&row);
    apply(&mut config, &input)?;
    apply_trusted_domains(&mut config, &input, &org_policy(ctx, p.org_id).await?)?;
    let max_role_before = config.max_role();
    stewarded(&mut config, p);
    let secret_change = input
        .client_secret
        .clone()
        .map(|s| s.filter(|s| !s.trim().is_empty()));
    let has_secret = match &secret_change {
        Some(s) => s.is_some(),
        None => row.client_secret_enc.is_some(),
    };
    check_complete(&row.kind, &config, has_secret)?;
    // Only a change to how the provider is reached is checked against it again: renaming,
    // disabling or a new secret must work while the provider is down.
    let reaches_differently = input.issuer.is_some()
        || input.tenant.is_some()
        || input.client_id.is_some()
        || input.scopes.is_some()
        || input.authorization_url.is_some()
        || input.token_url.is_some()
        || input.userinfo_url.is_some()
        || input.jwks_url.is_some()
        || input.metadata_xml.is_some()
        || input.metadata_url.is_some();
    let issuer = if reaches_differently {
        let issuer_in = match input.issuer.as_deref() {
            Some(_) => optional_url("issuer", input.issuer.as_deref())?,
            None if row.kind == "saml" => None,
            // Microsoft's issuer follows its tenant unless one was given.
            None if row.kind == "microsoft" && input.tenant.is_some() => None,
            None => row.issuer.clone(),
        };
        let issuer = resolve(
            ctx,
            &row.kind,
            issuer_in,
            &mut config,
            input.metadata_xml.as_deref(),
        )
        .await?;
        if row.kind != "saml" {
            probe_redirect(ctx, &row.kind, &config).await?;
        }
        issuer
    } else {
        row.issuer.clone()
    };
    let change = store::sso::ProviderChange {
        client_secret_enc: secret_change
            .map(|s| s.as_deref().map(|s| seal_secret(ctx, s)).transpose())
            .transpose()?,
        config: serde_json::to_value(&config).map_err(|e| Error::Internal(e.into()))?,
        name,
        enabled: input.enabled,
        issuer,
    };
    let updated = store::sso::update(ctx.db(), p.org_id, row, change, Utc::now())
        .await
        .map_err(Error::on_unique("name"))?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("sso_provider.updated")
            .target("sso_provider", updated.id)
            .details(serde_json::json!({
                "changed": changed_fields(&input),
                "secret_changed": input.client_secret.is_some(),
                "max_role": { "before": max_role_before.as_str(), "after": p.role.as_str() },
            })),
    )
    .await?;
    Ok(dto(ctx, &updated))
}

/// `DELETE /api/sso/providers/{id}`: its linked identities go with it.
pub async fn delete(ctx: &AppContext, actor: &Actor, id: SsoProviderId) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::sso::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::sso::delete(&txn, p.org_id, id).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso_provider.deleted")
            .target("sso_provider", id)
            .details(serde_json::json!({ "kind": row.kind, "name": row.name })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// `POST /api/sso/providers/{id}/test`: discovery, keys and redirect URI again (or the SAML
/// metadata URL), recording the outcome as the provider's last error.
pub async fn test(ctx: &AppContext, actor: &Actor, id: SsoProviderId) -> Result<SsoTestResult> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::sso::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let mut config = stored_config(&row);
    let issuer_in = if row.kind == "saml" {
        None
    } else {
        row.issuer.clone()
    };
    let outcome: Result<String> = async {
        resolve(ctx, &row.kind, issuer_in, &mut config, None).await?;
        if row.kind == "saml" {
            return Ok(
                "The identity provider's metadata and signing certificate are in place.".to_owned(),
            );
        }
        if let Some(jwks) = &config.endpoints.jwks_url {
            let http = ctx.sso().http()?;
            let set = oidc::get_json(&http, jwks, None)
                .await
                .map_err(|e| Error::invalid("jwks_url", e.to_string()))?;
            let keys = set
                .get("keys")
                .and_then(|k| k.as_array())
                .map_or(0, Vec::len);
            if keys == 0 {
                return Err(Error::invalid(
                    "jwks_url",
                    format!("{jwks} publishes no keys"),
                ));
            }
        }
        probe_redirect(ctx, &row.kind, &config).await?;
        Ok(format!(
            "Reached {}; the redirect URI {} is accepted.",
            config.endpoints.authorization_url,
            callback_url(ctx, &row.kind)
        ))
    }
    .await;
    let now = Utc::now();
    match outcome {
        Ok(detail) => Ok(SsoTestResult { ok: true, detail }),
        Err(Error::Invalid { message, .. }) => {
            store::sso::note(ctx.db(), p.org_id, id, Some(&message), now).await?;
            Ok(SsoTestResult {
                ok: false,
                detail: message,
            })
        }
        Err(e) => Err(e),
    }
}

/// `GET /api/sso/policy`.
pub async fn get_policy(ctx: &AppContext, actor: &Actor) -> Result<SsoPolicy> {
    let p = actor.require_role(Role::Admin)?;
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(policy_of(&org))
}

/// `PUT /api/sso/policy`. Turning on SSO-only needs an enabled provider, so nobody is locked
/// out (owners keep password login anyway).
pub async fn put_policy(ctx: &AppContext, actor: &Actor, input: SsoPolicy) -> Result<SsoPolicy> {
    let p = actor.require_role(Role::Admin)?;
    let domains = email_domains("email_domains", &input.email_domains)?;
    let policy = SsoPolicy {
        sso_only: input.sso_only,
        email_domains: domains,
        jit_provisioning: input.jit_provisioning,
    };
    if policy.sso_only
        && !store::sso::list(ctx.db(), p.org_id)
            .await?
            .iter()
            .any(|r| r.enabled)
    {
        return Err(Error::invalid(
            "sso_only",
            "Add and enable an identity provider before making sign-in SSO-only.",
        ));
    }
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    // Another organisation may not claim a domain already routed elsewhere.
    for other in store::orgs::list_global(ctx.db()).await? {
        if other.id == org.id {
            continue;
        }
        let taken = policy_of(&other).email_domains;
        if let Some(d) = policy.email_domains.iter().find(|d| taken.contains(d)) {
            return Err(Error::invalid(
                "email_domains",
                format!("{d} is already claimed by another organisation."),
            ));
        }
    }
    let before = policy_of(&org);
    let mut settings = org.settings.clone();
    let value = serde_json::to_value(&policy).map_err(|e| Error::Internal(e.into()))?;
    match settings.as_object_mut() {
        Some(map) => {
            map.insert("sso".to_owned(), value);
        }
        None => settings = serde_json::json!({ "sso": value }),
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::orgs::update_settings(&txn, p.org_id, org, settings, now).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso_policy.updated").details(serde_json::json!({
            "before": before, "after": policy,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(policy)
}

/// Email domains as given (`@` prefix and case ignored, duplicates dropped), or which one is not
/// a domain name.
fn email_domains(field: &'static str, given: &[String]) -> Result<Vec<String>> {
    let mut domains = Vec::new();
    for d in given {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        if d.is_empty() {
            continue;
        }
        let valid = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(Error::invalid(
                field,
                format!("{d:?} is not a domain name (expected e.g. example.com)."),
            ));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    Ok(domains)
}

/// Sets the domains a provider is authoritative for: only domains the organisation's policy
/// claims (so one organisation can never vouch for another's users).
fn apply_trusted_domains(
    config: &mut StoredConfig,
    input: &SsoProviderInput,
    policy: &SsoPolicy,
) -> Result<()> {
    let Some(given) = &input.trusted_email_domains else {
        return Ok(());
    };
    let domains = email_domains("trusted_email_domains", given)?;
    if let Some(d) = domains.iter().find(|d| !policy.email_domains.contains(d)) {
        return Err(Error::invalid(
            "trusted_email_domains",
            format!(
                "{d} is not one of this organisation's email domains: add it to the SSO policy first."
            ),
        ));
    }
    config.trusted_email_domains = domains;
    Ok(())
}

/// The policy of the caller's organisation.
async fn org_policy(ctx: &AppContext, org: OrgId) -> Result<SsoPolicy> {
    let row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(policy_of(&row))
}

/// The fields an update sets (for the audit trail; never their secret values).
fn changed_fields(input: &SsoProviderInput) -> Vec<&'static str> {
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

/// Records who made a change to a provider, and their role then.
fn stewarded(config: &mut StoredConfig, p: &crate::actor::Principal) {
    config.changed_by = Some(Steward {
        user: p.user_id.0,
        role: p.role.as_str().to_owned(),
        at: Utc::now(),
    });
}

/// The organisation whose SSO policy claims this email's domain.
pub async fn org_for_email(ctx: &AppContext, email: &str) -> Result<Option<organizations::Model>> {
    let Some(domain) = email.rsplit_once('@').map(|(_, d)| d.trim().to_lowercase()) else {
        return Ok(None);
    };
    Ok(store::orgs::list_global(ctx.db())
        .await?
        .into_iter()
        .find(|org| policy_of(org).email_domains.contains(&domain)))
}

/// `GET /auth/sso/discover?email=…|org=…`: the organisation a person signs in to and its
/// providers (domain routing on the login page). Unknown emails get an empty answer, the same
/// shape as a known one without providers.
pub async fn discover(
    ctx: &AppContext,
    email: Option<&str>,
    org: Option<&str>,
) -> Result<LoginOptions> {
    let found = match (org.map(str::trim).filter(|s| !s.is_empty()), email) {
        (Some(slug), _) => store::orgs::find_by_slug_global(ctx.db(), slug).await?,
        (None, Some(email)) => org_for_email(ctx, email).await?,
        (None, None) => {
            // A single-organisation install shows its providers without asking.
            let orgs = store::orgs::list_global(ctx.db()).await?;
            if orgs.len() == 1 {
                orgs.into_iter().next()
            } else {
                None
            }
        }
    };
    let Some(org) = found else {
        return Ok(LoginOptions {
            organization: None,
            organization_name: None,
            providers: Vec::new(),
            password_allowed: true,
        });
    };
    let providers = store::sso::list(ctx.db(), OrgId(org.id))
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .filter(|r| cfg!(feature = "saml") || r.kind != "saml")
        .map(|r| LoginProvider {
            id: SsoProviderId(r.id),
            login_url: login_url(&r),
            kind: r.kind,
            name: r.name,
        })
        .collect();
    Ok(LoginOptions {
        password_allowed: !policy_of(&org).sso_only,
        organization: Some(org.slug),
        organization_name: Some(org.name),
        providers,
    })
}

/// The kinds of provider enabled anywhere on this instance (`/auth/setup-status`).
pub async fn configured_kinds(ctx: &AppContext) -> Result<Vec<String>> {
    Ok(store::sso::enabled_kinds_global(ctx.db()).await?)
}

/// `GET /api/me/identities`.
pub async fn my_identities(ctx: &AppContext, actor: &Actor) -> Result<Vec<LinkedIdentity>> {
    let p = actor.principal()?;
    let providers = store::sso::list(ctx.db(), p.org_id).await?;
    Ok(store::sso::identities_of(ctx.db(), p.org_id, p.user_id)
        .await?
        .into_iter()
        .map(|i| {
            let provider = providers.iter().find(|r| r.id.to_string() == i.provider);
            LinkedIdentity {
                id: IdentityId(i.id),
                provider_id: provider.map(|r| SsoProviderId(r.id)),
                provider_name: provider.map_or_else(|| i.provider.clone(), |r| r.name.clone()),
                kind: provider.map_or_else(String::new, |r| r.kind.clone()),
                email: i.email,
                created_at: utc(i.created_at),
                last_login_at: i.last_login_at.map(utc),
            }
        })
        .collect())
}

/// `DELETE /api/me/identities/{id}`: never the last way in (no password and no other identity).
pub async fn unlink(ctx: &AppContext, actor: &Actor, id: IdentityId) -> Result<()> {
    let p = actor.principal()?;
    let identities = store::sso::identities_of(ctx.db(), p.org_id, p.user_id).await?;
    if !identities.iter().any(|i| i.id == id.0) {
        return Err(Error::NotFound);
    }
    let (user, _) = store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if user.password_hash.is_none() && identities.len() <= 1 {
        return Err(Error::detailed(
            ErrorCode::Conflict,
            "This is your only way to sign in: set a password or link another identity first.",
        ));
    }
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::sso::delete_identity(&txn, p.org_id, p.user_id, id).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso.identity_unlinked").target("identity", id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The providers `AERIE_*` settings describe (single-organisation installs).
pub fn configured_inputs(config: &crate::config::Config) -> Vec<SsoProviderInput> {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let secret = |r: &crate::config::Redacted| Some(some(&r.0));
    let mut out = Vec::new();
    if let Some(client_id) = some(&config.google_client_id) {
        out.push(SsoProviderInput {
            kind: Some("google".to_owned()),
            name: Some("Google".to_owned()),
            client_id: Some(client_id),
            client_secret: secret(&config.google_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let Some(client_id) = some(&config.microsoft_client_id) {
        out.push(SsoProviderInput {
            kind: Some("microsoft".to_owned()),
            name: Some("Microsoft".to_owned()),
            client_id: Some(client_id),
            client_secret: secret(&config.microsoft_client_secret),
            tenant: some(&config.microsoft_tenant),
            ..SsoProviderInput::default()
        });
    }
    if let Some(client_id) = some(&config.github_client_id) {
        out.push(SsoProviderInput {
            kind: Some("github".to_owned()),
            name: Some("GitHub".to_owned()),
            client_id: Some(client_id),
            client_secret: secret(&config.github_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let (Some(url), Some(client_id)) = (
        some(&config.nextcloud_url),
        some(&config.nextcloud_client_id),
    ) {
        out.push(SsoProviderInput {
            kind: Some("nextcloud".to_owned()),
            name: Some("Nextcloud".to_owned()),
            issuer: Some(url),
            client_id: Some(client_id),
            client_secret: secret(&config.nextcloud_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let (Some(issuer), Some(client_id)) =
        (some(&config.oidc_issuer), some(&config.oidc_client_id))
    {
        out.push(SsoProviderInput {
            kind: Some("oidc".to_owned()),
            name: Some(some(&config.oidc_name).unwrap_or_else(|| "Single sign-on".to_owned())),
            issuer: Some(issuer),
            client_id: Some(client_id),
            client_secret: secret(&config.oidc_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let Some(url) = some(&config.saml_metadata_url) {
        out.push(SsoProviderInput {
            kind: Some("saml".to_owned()),
            name: Some("SAML".to_owned()),
            metadata_url: Some(url),
            ..SsoProviderInput::default()
        });
    }
    out
}

/// Applies the configured providers to the one organisation of a single-organisation install
/// (created, or updated by kind and name), acting as its first owner. Returns how many were
/// applied; each failure is logged with what to fix and kept as the provider's last error.
pub async fn apply_configured(ctx: &AppContext) -> Result<usize> {
    let inputs = configured_inputs(ctx.config());
    if inputs.is_empty() {
        return Ok(0);
    }
    let orgs = store::orgs::list_global(ctx.db()).await?;
    let [org] = orgs.as_slice() else {
        if orgs.len() > 1 {
            tracing::warn!(
                "AERIE_* single sign-on settings apply to single-organisation installs only; configure each organisation's providers in its SSO settings"
            );
        }
        return Ok(0);
    };
    let Some(owner) = store::users::first_owner(ctx.db(), OrgId(org.id)).await? else {
        return Ok(0);
    };
    let actor = Actor::user(
        crate::services::auth::principal_of(&owner, crate::actor::Credential::Cli),
        None,
    );
    let existing = store::sso::list(ctx.db(), OrgId(org.id)).await?;
    let mut applied = 0;
    for input in inputs {
        let kind = input.kind.clone().unwrap_or_default();
        let name = input.name.clone().unwrap_or_default();
        let found = existing.iter().find(|r| r.kind == kind && r.name == name);
        let outcome = match found {
            Some(row) => update(ctx, &actor, SsoProviderId(row.id), input)
                .await
                .map(|_| ()),
            None => create(ctx, &actor, input).await.map(|_| ()),
        };
        match outcome {
            Ok(()) => applied += 1,
            Err(e) => {
                tracing::warn!(kind, error = %e.body().detail, "a configured single sign-on provider was not applied")
            }
        }
    }
    Ok(applied)
}
