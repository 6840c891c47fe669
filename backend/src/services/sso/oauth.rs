//! Signing in through an OAuth 2.0 / OpenID Connect provider: the authorization request (PKCE
//! verifier sealed in the flow record, nonce), and the callback: state and browser binding,
//! the code exchange, the ID-token checks (or the OAuth provider's profile), then the account
//! (see `account::conclude`).

use chrono::{Duration, Utc};

use super::account::conclude;
use super::config::{StoredConfig, StoredIssuer, callback_url, flavor_of, open_secret};
use super::config::{scopes_for, stored_config};
use super::flow::{FLOW_SECRET_LABEL, FLOW_TTL_MINUTES, Redirect};
use super::flow::{binding_hash, bound_to, flow_key, flow_provider};
use super::refusal::{refuse, sso_refusal};
use crate::actor::Actor;
use crate::db::entities::{sso_flows, sso_providers};
use crate::net_guard::GuardedClient;
use crate::sso::oidc::{self, ExternalProfile, Flavor, SsoError};
use crate::store;
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::ids::{OrgId, SsoProviderId};
use aerie_contract::{ErrorCode, SsoKind};

/// `GET /auth/{kind}/callback` parameters.
#[derive(Clone, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// The OAuth start of a login through `row`: the authorization request, its flow record (the
/// PKCE verifier sealed, the nonce, bound to `binding`), and where to send the browser.
pub(super) async fn start(
    ctx: &AppContext,
    row: &sso_providers::Model,
    email: Option<&str>,
    return_to: &str,
    binding: String,
) -> Result<Redirect> {
    let now = Utc::now();
    let kind = row.kind()?;
    let config = stored_config(row);
    let client_id = config.client_id.clone().unwrap_or_default();
    let redirect_uri = callback_url(ctx, kind);
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some(email) = email.filter(|e| e.contains('@')) {
        extra.push(("login_hint", email));
    }
    let request = oidc::authorization_request(
        &config.endpoints,
        &oidc::ClientConfig {
            client_id: &client_id,
            client_secret: None,
            redirect_uri: &redirect_uri,
            flavor: flavor_of(kind),
        },
        &scopes_for(kind, &config),
        &extra,
    )
    .map_err(|e| Error::detailed(ErrorCode::SsoFailed, e.to_string()))?;
    let sealed = crypto::seal(
        &ctx.secrets().encryption_key,
        FLOW_SECRET_LABEL,
        &request.pkce_verifier,
    )
    .map_err(Error::Internal)?;
    store::sso::insert_flow(
        ctx.db(),
        store::sso::NewFlow {
            id: &flow_key(ctx, "state", &request.state),
            purpose: "oauth",
            org: OrgId(row.org_id),
            provider: Some(SsoProviderId(row.id)),
            binding_hash: Some(&binding_hash(ctx, &binding)),
            secret_enc: Some(sealed),
            nonce: Some(&request.nonce),
            return_to,
            user: None,
            expires_at: now + Duration::minutes(FLOW_TTL_MINUTES),
        },
        now,
    )
    .await?;
    Ok(Redirect {
        location: request.url,
        binding: Some(binding),
        html: None,
    })
}

/// `GET /auth/{kind}/callback`: checks state and browser binding, exchanges the code with the
/// PKCE verifier, verifies the ID token (or reads the OAuth provider's profile), signs the
/// account in or refuses, and answers the pick-up URL.
pub async fn finish_oauth(
    ctx: &AppContext,
    actor: &Actor,
    kind: SsoKind,
    callback: Callback,
    binding: Option<&str>,
) -> Result<Redirect> {
    let now = Utc::now();
    let flow = match callback.state.as_deref().filter(|s| !s.is_empty()) {
        Some(state) => {
            store::sso::take_flow_global(ctx.db(), &flow_key(ctx, "state", state), "oauth", now)
                .await?
        }
        None => None,
    };
    let Some(flow) = flow else {
        return Err(refuse(
            ctx,
            actor,
            None,
            "state_mismatch",
            "This sign-in link is unknown, used or expired (state). Start again from the login page.",
            None,
        )
        .await);
    };
    let row = flow_provider(ctx, actor, &flow, kind).await?;
    if !bound_to(ctx, flow.binding_hash.as_deref(), binding) {
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "state_mismatch",
            "This sign-in was started in another browser (or its cookie expired). Start again from the login page.",
            None,
        )
        .await);
    }
    if let Some(error) = callback.error.as_deref() {
        let detail = callback.error_description.as_deref().unwrap_or_default();
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "provider_error",
            format!("The identity provider did not sign you in: {error} {detail}")
                .trim()
                .to_owned(),
            None,
        )
        .await);
    }
    let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "missing_code",
            "The identity provider sent no authorization code.",
            None,
        )
        .await);
    };
    let verifier = match flow.secret_enc.as_deref() {
        Some(sealed) => crypto::open(&ctx.secrets().encryption_key, FLOW_SECRET_LABEL, sealed).ok(),
        None => None,
    };
    let Some(verifier) = verifier else {
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "missing_pkce_verifier",
            "This sign-in has no PKCE verifier; start again.",
            None,
        )
        .await);
    };
    let profile = match fetch_profile(ctx, kind, &row, &flow, code, &verifier).await {
        Ok(p) => p,
        Err(e) => {
            let (reason, message) = sso_refusal(e);
            return Err(refuse(ctx, actor, Some(&row), reason, message, None).await);
        }
    };
    conclude(
        ctx,
        actor,
        kind,
        &row,
        profile,
        &flow.return_to,
        flow.binding_hash.as_deref(),
    )
    .await
}

/// Exchanges the code, then reads who signed in: GitHub's and Nextcloud's profile APIs, or the
/// verified ID token of an OpenID Connect provider. `row` is a provider of `kind`.
async fn fetch_profile(
    ctx: &AppContext,
    kind: SsoKind,
    row: &sso_providers::Model,
    flow: &sso_flows::Model,
    code: &str,
    verifier: &secrecy::SecretString,
) -> std::result::Result<ExternalProfile, SsoError> {
    use secrecy::ExposeSecret;
    let config = stored_config(row);
    let client_id = config.client_id.clone().unwrap_or_default();
    let secret = open_secret(ctx, row).map_err(|e| SsoError::Config(e.to_string()))?;
    let redirect_uri = callback_url(ctx, kind);
    let http = ctx
        .sso()
        .http()
        .map_err(|e| SsoError::Config(e.to_string()))?;
    let flavor = flavor_of(kind);
    let tokens = oidc::exchange_code(
        &http,
        &config.endpoints,
        &oidc::ClientConfig {
            client_id: &client_id,
            client_secret: secret.as_deref(),
            redirect_uri: &redirect_uri,
            flavor,
        },
        code,
        verifier.expose_secret(),
    )
    .await?;
    match flavor {
        Flavor::GitHub => {
            let api = config.endpoints.api_base.clone().unwrap_or_default();
            oidc::github_profile(&http, &api, &tokens.access_token).await
        }
        Flavor::Nextcloud => {
            let api = config.endpoints.api_base.clone().unwrap_or_default();
            oidc::nextcloud_profile(&http, &api, &tokens.access_token).await
        }
        Flavor::Oidc => {
            let id_token = tokens.id_token.as_deref().ok_or_else(|| {
                SsoError::refused(
                    "missing_id_token",
                    "The identity provider sent no ID token.",
                )
            })?;
            let signed_in = SignedIn {
                id_token,
                access_token: &tokens.access_token,
                nonce: flow.nonce.clone().unwrap_or_default(),
            };
            id_token_profile(ctx, &http, kind, &config, &client_id, signed_in).await
        }
    }
}

/// What an OpenID Connect provider answered the code exchange with, and the nonce it must echo.
struct SignedIn<'a> {
    id_token: &'a str,
    access_token: &'a str,
    nonce: String,
}

/// The person an ID token names, once verified (keys, issuer, audience, nonce); the email from
/// the userinfo endpoint when the token has none.
async fn id_token_profile(
    ctx: &AppContext,
    http: &GuardedClient,
    kind: SsoKind,
    config: &StoredConfig,
    client_id: &str,
    signed_in: SignedIn<'_>,
) -> std::result::Result<ExternalProfile, SsoError> {
    let jwks_url = config.endpoints.jwks_url.clone().ok_or_else(|| {
        SsoError::Config("the provider has no JWKS URL; test its configuration".to_owned())
    })?;
    let rule = config
        .id_issuer
        .as_ref()
        .map(StoredIssuer::rule)
        .ok_or_else(|| {
            SsoError::Config("the provider has no issuer; test its configuration".to_owned())
        })?;
    let claims = oidc::verify_id_token(
        http,
        &ctx.sso().jwks,
        &jwks_url,
        signed_in.id_token,
        &oidc::IdTokenExpect {
            issuer: &rule,
            audience: client_id,
            nonce: &signed_in.nonce,
        },
    )
    .await?;
    let mut profile = oidc::profile_from_claims(&claims, config.groups_attribute.as_deref())?;
    if kind == SsoKind::Microsoft {
        microsoft_email(&mut profile, &claims, config.tenant.as_deref());
    }
    if profile.email.is_none()
        && let Some(userinfo) = config.endpoints.userinfo_url.as_deref()
    {
        let info = oidc::get_json(http, userinfo, Some(signed_in.access_token)).await?;
        if info.get("sub").and_then(|s| s.as_str()) == Some(profile.subject.as_str())
            && let Some(map) = info.as_object()
        {
            let extra = oidc::profile_from_claims(map, config.groups_attribute.as_deref())?;
            profile.email = extra.email;
            profile.email_verified = extra.email_verified;
        }
    }
    Ok(profile)
}

/// Entra ID sends no `email_verified`. A single-tenant configuration trusts its own directory;
/// multi-tenant ones trust only a domain-verified email (`xms_edov`).
fn microsoft_email(
    profile: &mut ExternalProfile,
    claims: &serde_json::Map<String, serde_json::Value>,
    tenant: Option<&str>,
) {
    if profile.email.is_none() {
        profile.email = claims
            .get("preferred_username")
            .and_then(|v| v.as_str())
            .filter(|u| u.contains('@'))
            .map(str::to_lowercase);
    }
    let single_tenant =
        tenant.is_some_and(|t| !matches!(t, "common" | "organizations" | "consumers"));
    let domain_verified = matches!(claims.get("xms_edov"), Some(serde_json::Value::Bool(true)));
    profile.email_verified = Some(profile.email.is_some() && (single_tenant || domain_verified));
}
