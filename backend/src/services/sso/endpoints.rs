//! Reaching a provider: working out its endpoints from its kind, issuer and overrides (OIDC
//! discovery, the well-known GitHub and Nextcloud paths, SAML metadata), checking every URL
//! single sign-on will request against the SSRF guard, and probing the redirect URI before a
//! provider is saved.

use super::config::{Overrides, StoredConfig, StoredIssuer, callback_url, flavor_of, scopes_for};
use crate::net_guard::{self, Allow, GuardedClient};
use crate::sso::oidc::{self, Endpoints, SsoError};
use crate::{AppContext, Error, Result};
use aerie_contract::kinds::SsoKind;

fn config_error(field: &'static str, e: SsoError) -> Error {
    Error::invalid(field, e.to_string())
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

/// The endpoints an admin set by hand, each through [`guard`].
async fn guard_overrides(ctx: &AppContext, o: &Overrides) -> Result<()> {
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
    Ok(())
}

/// Works out a provider's endpoints from its kind, issuer and overrides (running OIDC
/// discovery), and the IdP of a SAML provider from its metadata. Returns the issuer column.
pub(super) async fn resolve(
    ctx: &AppContext,
    kind: SsoKind,
    issuer_in: Option<String>,
    config: &mut StoredConfig,
    metadata_xml: Option<&str>,
) -> Result<Option<String>> {
    let http = ctx.sso().http()?;
    let o = config.overrides.clone();
    guard_overrides(ctx, &o).await?;
    match kind {
        SsoKind::Google | SsoKind::Microsoft | SsoKind::Oidc => {
            resolve_oidc(ctx, &http, kind, issuer_in, config, o).await
        }
        SsoKind::Github => resolve_github(ctx, issuer_in, config, o).await,
        SsoKind::Nextcloud => resolve_nextcloud(ctx, issuer_in, config, o).await,
        SsoKind::Saml => resolve_saml(ctx, &http, config, metadata_xml).await,
    }
}

/// An OpenID Connect provider (Google, Microsoft or any other): its issuer, then its endpoints
/// by discovery (unless all were set by hand), overridden where the admin said so.
async fn resolve_oidc(
    ctx: &AppContext,
    http: &GuardedClient,
    kind: SsoKind,
    issuer_in: Option<String>,
    config: &mut StoredConfig,
    o: Overrides,
) -> Result<Option<String>> {
    let issuer = oidc_issuer(kind, issuer_in, config.tenant.as_deref())?;
    guard(ctx, "issuer", &issuer).await?;
    let by_hand = o.authorization_url.is_some() && o.token_url.is_some() && o.jwks_url.is_some();
    let (discovered_issuer, mut endpoints) = if by_hand {
        (issuer.clone(), Endpoints::default())
    } else {
        discover_endpoints(ctx, http, &issuer).await?
    };
    apply_overrides(&mut endpoints, o);
    config.id_issuer = Some(id_issuer_rule(discovered_issuer, config.tenant.clone()));
    guard_endpoints(ctx, &endpoints).await?;
    config.endpoints = endpoints;
    Ok(Some(issuer))
}

/// The issuer given, or the well-known one of Google and Microsoft (per tenant).
fn oidc_issuer(kind: SsoKind, issuer_in: Option<String>, tenant: Option<&str>) -> Result<String> {
    match (kind, issuer_in) {
        (_, Some(i)) => Ok(i),
        (SsoKind::Google, None) => Ok("https://accounts.google.com".to_owned()),
        (SsoKind::Microsoft, None) => Ok(format!(
            "https://login.microsoftonline.com/{}/v2.0",
            tenant.unwrap_or("common")
        )),
        _ => Err(Error::invalid(
            "issuer",
            "issuer is required: the provider's issuer URL (its discovery document is at <issuer>/.well-known/openid-configuration).",
        )),
    }
}

/// Runs OIDC discovery at `issuer`: the issuer the document names and its endpoints, each of
/// them checked against the guard.
async fn discover_endpoints(
    ctx: &AppContext,
    http: &GuardedClient,
    issuer: &str,
) -> Result<(String, Endpoints)> {
    let d = oidc::discover(http, issuer)
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
    Ok((
        d.issuer.clone(),
        Endpoints {
            authorization_url: d.authorization_endpoint,
            token_url: d.token_endpoint,
            userinfo_url: d.userinfo_endpoint,
            jwks_url: Some(d.jwks_uri),
            api_base: None,
        },
    ))
}

/// Replaces the endpoints an admin set by hand.
fn apply_overrides(endpoints: &mut Endpoints, o: Overrides) {
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
}

/// The issuer an ID token must name: exactly the discovered one, or Microsoft's per-tenant
/// template (`{tenantid}`).
fn id_issuer_rule(discovered_issuer: String, tenant: Option<String>) -> StoredIssuer {
    if discovered_issuer.contains("{tenantid}") {
        StoredIssuer::Microsoft {
            template: discovered_issuer,
            tenant,
        }
    } else {
        StoredIssuer::Exact {
            issuer: discovered_issuer,
        }
    }
}

/// GitHub (or GitHub Enterprise at `issuer`): its well-known OAuth paths and REST API.
async fn resolve_github(
    ctx: &AppContext,
    issuer_in: Option<String>,
    config: &mut StoredConfig,
    o: Overrides,
) -> Result<Option<String>> {
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

/// Nextcloud at its base URL: the OAuth2 app's well-known paths.
async fn resolve_nextcloud(
    ctx: &AppContext,
    issuer_in: Option<String>,
    config: &mut StoredConfig,
    o: Overrides,
) -> Result<Option<String>> {
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

/// Probes the authorization endpoint with our redirect URI: identity providers that check it
/// answer 4xx naming the redirect URI before any login.
pub(super) async fn probe_redirect(
    ctx: &AppContext,
    row_kind: SsoKind,
    config: &StoredConfig,
) -> Result<()> {
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
