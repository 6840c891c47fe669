//! Signing in through an identity provider: the start (a flow record keyed by a hash of the
//! `state`, bound to the browser by a `SameSite=Lax` cookie), the OAuth callback (PKCE verifier,
//! ID-token checks), finding or creating the account (link by verified email only, within the
//! organisation's domains; just-in-time provisioning or an invitation), group sync, audit of
//! every outcome, and the pick-up that turns a finished flow into a browser session.

use std::sync::OnceLock;

use chrono::{Duration, Utc};
use serde_json::json;
use tower_sessions::Session;

use super::{open_secret, policy_of, scopes_for, stored_config};
use crate::actor::{Actor, Credential, Role};
use crate::config::Config;
use crate::db::entities::{identities, memberships, sso_providers, users};
use crate::net_guard::{Allow, GuardedClient};
use crate::services::audit::{self, Event};
use crate::services::auth::limits::SsoLimits;
use crate::services::auth::principal_of;
use crate::services::auth::sessions;
use crate::services::orgs;
use crate::sso::oidc::{self, ExternalProfile, Flavor, SsoError};
use crate::store;
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{GroupId, OrgId, SsoProviderId, UserId};

/// The cookie binding a flow to the browser that started it.
pub const BINDING_COOKIE: &str = "aerie_sso";
/// How long a started sign-in may take at the identity provider.
pub const FLOW_TTL_MINUTES: i64 = 10;
/// How long a finished sign-in waits to be picked up.
const PICKUP_TTL_SECS: i64 = 120;
const FLOW_SECRET_LABEL: &str = "sso-flow";

/// Process-wide single sign-on state: one guarded HTTP client, the JWKS cache, the limits on
/// anonymous requests and (with the `saml` feature) the service provider's key pair.
pub struct SsoRuntime {
    allow: Allow,
    http: OnceLock<GuardedClient>,
    pub jwks: oidc::JwksCache,
    pub limits: SsoLimits,
    #[cfg(feature = "saml")]
    pub(crate) sp_keys: tokio::sync::OnceCell<crate::sso::saml::SpKeys>,
    #[cfg_attr(not(feature = "saml"), allow(dead_code))]
    pub(crate) data_dir: std::path::PathBuf,
}

impl SsoRuntime {
    pub fn new(config: &Config) -> Self {
        Self {
            allow: super::allowed_urls(config),
            http: OnceLock::new(),
            jwks: oidc::JwksCache::default(),
            limits: SsoLimits::default(),
            #[cfg(feature = "saml")]
            sp_keys: tokio::sync::OnceCell::new(),
            data_dir: config.data_dir.clone(),
        }
    }

    /// The guarded client for identity providers.
    pub fn http(&self) -> Result<GuardedClient> {
        if let Some(client) = self.http.get() {
            return Ok(client.clone());
        }
        let client = oidc::http_client(&self.allow)
            .map_err(|e| Error::Internal(anyhow::anyhow!(e.to_string())))?;
        Ok(self.http.get_or_init(|| client).clone())
    }
}

impl std::fmt::Debug for SsoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoRuntime").finish_non_exhaustive()
    }
}

/// Where to send the browser next, and the binding cookie to set (at the start of a flow).
#[derive(Debug)]
pub struct Redirect {
    pub location: String,
    pub binding: Option<String>,
    /// An auto-submitting form to answer instead of redirecting (SAML HTTP-POST binding).
    pub html: Option<String>,
}

/// `GET /auth/{kind}/login` parameters.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LoginStart {
    pub provider: Option<SsoProviderId>,
    pub org: Option<String>,
    pub email: Option<String>,
    pub return_to: Option<String>,
}

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

/// A same-site path to return to: starts with one `/`, no scheme or host, no backslashes.
pub fn safe_return(raw: Option<&str>) -> String {
    match raw.map(str::trim) {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 2048
                && !p.starts_with("/auth/") =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub(crate) fn flow_key(ctx: &AppContext, purpose: &str, value: &str) -> String {
    crypto::keyed_hash(
        &ctx.secrets().token_pepper,
        &format!("sso-{purpose}:{value}"),
    )
}

pub(crate) fn binding_hash(ctx: &AppContext, binding: &str) -> String {
    flow_key(ctx, "binding", binding)
}

/// Whether the browser's binding cookie is the one a flow record was bound to.
pub(crate) fn bound_to(ctx: &AppContext, expected: Option<&str>, cookie: Option<&str>) -> bool {
    match (expected, cookie) {
        (Some(expected), Some(cookie)) => {
            crypto::hashes_match(expected, &binding_hash(ctx, cookie))
        }
        _ => false,
    }
}

/// Counts a refused sign-in (`aerie_sso_refusals_total`), audits it, notes it on the provider,
/// and returns the error to show. A refusal with no provider behind it (an unknown state,
/// pick-up code or SAML response: anonymous requests anyone can send) is audited only within a
/// small sample per reason, so a flood of them cannot fill the audit log; the count shows them
/// all.
pub(crate) async fn refuse(
    ctx: &AppContext,
    actor: &Actor,
    provider: Option<&sso_providers::Model>,
    reason: &str,
    message: impl Into<String>,
    email: Option<&str>,
) -> Error {
    let anonymous = provider.is_none();
    refuse_as(
        ctx,
        actor,
        provider,
        anonymous,
        reason,
        message.into(),
        email,
    )
    .await
}

/// [`refuse`] for a SAML response no request of ours backs (IdP-initiated, or answering an
/// unknown request): its issuer names a provider, but anyone can post one, so it is audited
/// only within the anonymous sample, still against that provider.
pub(crate) async fn refuse_unsolicited(
    ctx: &AppContext,
    actor: &Actor,
    provider: Option<&sso_providers::Model>,
    reason: &str,
    message: impl Into<String>,
) -> Error {
    refuse_as(ctx, actor, provider, true, reason, message.into(), None).await
}

async fn refuse_as(
    ctx: &AppContext,
    actor: &Actor,
    provider: Option<&sso_providers::Model>,
    anonymous: bool,
    reason: &str,
    message: String,
    email: Option<&str>,
) -> Error {
    let audited = !anonymous || ctx.sso().limits.sample_anonymous_refusal(reason);
    metrics::counter!(
        "aerie_sso_refusals_total",
        "reason" => reason.to_owned(),
        "provider" => if anonymous { "unknown" } else { "known" },
        "audited" => if audited { "true" } else { "false" },
    )
    .increment(1);
    if !audited {
        return Error::detailed(ErrorCode::SsoFailed, message);
    }
    let org = provider.map(|p| OrgId(p.org_id));
    let mut event = Event::new("sso.refused").details(json!({
        "reason": reason,
        "message": message,
        "provider": provider.map(|p| p.id),
        "kind": provider.map(|p| p.kind.clone()),
        "email": email,
    }));
    if let Some(p) = provider {
        event = event.target("sso_provider", p.id);
    }
    let audited = audit::record(ctx.db(), org, actor, event).await;
    if let (Some(p), Err(e)) = (provider, &audited) {
        tracing::warn!(provider = %p.id, error = %e, "could not audit a refused sign-in");
    }
    if let Some(p) = provider {
        let _ = store::sso::note(
            ctx.db(),
            OrgId(p.org_id),
            SsoProviderId(p.id),
            Some(&format!("{reason}: {message}")),
            Utc::now(),
        )
        .await;
    }
    Error::detailed(ErrorCode::SsoFailed, message)
}

fn sso_refusal(e: SsoError) -> (&'static str, String) {
    (e.reason(), e.to_string())
}

/// Finds the provider a login link names (or the one of this kind of the organisation found by
/// slug or email domain).
async fn pick_provider(
    ctx: &AppContext,
    kind: &str,
    start: &LoginStart,
) -> Result<sso_providers::Model> {
    let not_configured = || {
        Error::detailed(
            ErrorCode::NotFound,
            format!("No enabled {kind} sign-in is configured here. Ask your administrator."),
        )
    };
    if let Some(id) = start.provider {
        return store::sso::find_global(ctx.db(), id)
            .await?
            .filter(|r| r.kind == kind && r.enabled)
            .ok_or_else(not_configured);
    }
    let org = match (start.org.as_deref(), start.email.as_deref()) {
        (Some(slug), _) => store::orgs::find_by_slug_global(ctx.db(), slug).await?,
        (None, Some(email)) => super::org_for_email(ctx, email).await?,
        (None, None) => {
            let all = store::orgs::list_global(ctx.db()).await?;
            if all.len() == 1 {
                all.into_iter().next()
            } else {
                None
            }
        }
    }
    .ok_or_else(not_configured)?;
    store::sso::list(ctx.db(), OrgId(org.id))
        .await?
        .into_iter()
        .find(|r| r.kind == kind && r.enabled)
        .ok_or_else(not_configured)
}

/// `GET /auth/{kind}/login`: records the flow and answers where to send the browser. Each
/// client address may start only so many flows a minute (then 429).
pub async fn start(
    ctx: &AppContext,
    actor: &Actor,
    kind: &str,
    input: LoginStart,
) -> Result<Redirect> {
    ctx.sso().limits.check_flow_start(actor.ip)?;
    let row = pick_provider(ctx, kind, &input).await?;
    let return_to = safe_return(input.return_to.as_deref());
    let binding = crypto::random_token(32);
    let now = Utc::now();
    if kind == "saml" {
        #[cfg(feature = "saml")]
        {
            let mut redirect =
                super::saml::start(ctx, &row, &return_to, &binding_hash(ctx, &binding)).await?;
            redirect.binding = Some(binding);
            return Ok(redirect);
        }
        #[cfg(not(feature = "saml"))]
        return Err(Error::NotFound);
    }
    let config = stored_config(&row);
    let client_id = config.client_id.clone().unwrap_or_default();
    let redirect_uri = super::callback_url(ctx, &row.kind);
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some(email) = input.email.as_deref().filter(|e| e.contains('@')) {
        extra.push(("login_hint", email));
    }
    let request = oidc::authorization_request(
        &config.endpoints,
        &oidc::ClientConfig {
            client_id: &client_id,
            client_secret: None,
            redirect_uri: &redirect_uri,
            flavor: super::flavor_of(&row.kind),
        },
        &scopes_for(&row.kind, &config),
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
            return_to: &return_to,
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
    kind: &str,
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
    let profile = match fetch_profile(ctx, &row, &flow, code, &verifier).await {
        Ok(p) => p,
        Err(e) => {
            let (reason, message) = sso_refusal(e);
            return Err(refuse(ctx, actor, Some(&row), reason, message, None).await);
        }
    };
    conclude(
        ctx,
        actor,
        &row,
        profile,
        &flow.return_to,
        flow.binding_hash.as_deref(),
    )
    .await
}

async fn fetch_profile(
    ctx: &AppContext,
    row: &sso_providers::Model,
    flow: &crate::db::entities::sso_flows::Model,
    code: &str,
    verifier: &secrecy::SecretString,
) -> std::result::Result<ExternalProfile, SsoError> {
    use secrecy::ExposeSecret;
    let config = stored_config(row);
    let client_id = config.client_id.clone().unwrap_or_default();
    let secret = open_secret(ctx, row).map_err(|e| SsoError::Config(e.to_string()))?;
    let redirect_uri = super::callback_url(ctx, &row.kind);
    let http = ctx
        .sso()
        .http()
        .map_err(|e| SsoError::Config(e.to_string()))?;
    let flavor = super::flavor_of(&row.kind);
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
            let jwks_url = config.endpoints.jwks_url.clone().ok_or_else(|| {
                SsoError::Config("the provider has no JWKS URL; test its configuration".to_owned())
            })?;
            let rule = config
                .id_issuer
                .as_ref()
                .map(super::StoredIssuer::rule)
                .ok_or_else(|| {
                    SsoError::Config(
                        "the provider has no issuer; test its configuration".to_owned(),
                    )
                })?;
            let nonce = flow.nonce.clone().unwrap_or_default();
            let claims = oidc::verify_id_token(
                &http,
                &ctx.sso().jwks,
                &jwks_url,
                id_token,
                &oidc::IdTokenExpect {
                    issuer: &rule,
                    audience: &client_id,
                    nonce: &nonce,
                },
            )
            .await?;
            let mut profile =
                oidc::profile_from_claims(&claims, config.groups_attribute.as_deref())?;
            if row.kind == "microsoft" {
                microsoft_email(&mut profile, &claims, config.tenant.as_deref());
            }
            if profile.email.is_none()
                && let Some(userinfo) = config.endpoints.userinfo_url.as_deref()
            {
                let info = oidc::get_json(&http, userinfo, Some(&tokens.access_token)).await?;
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
    }
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

/// Stores a pick-up code for the signed-in user and answers its URL.
pub(crate) async fn pickup_redirect(
    ctx: &AppContext,
    row: &sso_providers::Model,
    user: UserId,
    return_to: &str,
    binding: Option<&str>,
) -> Result<Redirect> {
    let code = crypto::random_token(43);
    let now = Utc::now();
    store::sso::insert_flow(
        ctx.db(),
        store::sso::NewFlow {
            id: &flow_key(ctx, "pickup", &code),
            purpose: "pickup",
            org: OrgId(row.org_id),
            provider: Some(SsoProviderId(row.id)),
            binding_hash: binding,
            secret_enc: None,
            nonce: None,
            return_to,
            user: Some(user),
            expires_at: now + Duration::seconds(PICKUP_TTL_SECS),
        },
        now,
    )
    .await?;
    Ok(Redirect {
        location: format!("/auth/login-pickup?code={code}"),
        binding: None,
        html: None,
    })
}

/// `GET /auth/login-pickup?code=`: the browser that started the sign-in gets a fresh session
/// (new id) and is sent back to where it came from.
pub async fn pickup(
    ctx: &AppContext,
    actor: &Actor,
    session: &Session,
    code: &str,
    binding: Option<&str>,
) -> Result<String> {
    let now = Utc::now();
    let flow =
        store::sso::take_flow_global(ctx.db(), &flow_key(ctx, "pickup", code), "pickup", now)
            .await?;
    let Some(flow) = flow else {
        return Err(refuse(
            ctx,
            actor,
            None,
            "pickup_unknown",
            "This sign-in has expired or was used already. Sign in again.",
            None,
        )
        .await);
    };
    // Every pick-up is bound to the browser that signed in at the provider (IdP-initiated SAML
    // ones since the assertion consumer sets the cookie): one without a binding is refused too.
    if !bound_to(ctx, flow.binding_hash.as_deref(), binding) {
        let row = match flow.provider_id {
            Some(id) => store::sso::find(ctx.db(), OrgId(flow.org_id), SsoProviderId(id)).await?,
            None => None,
        };
        return Err(refuse(
            ctx,
            actor,
            row.as_ref(),
            "state_mismatch",
            "This sign-in was started in another browser. Start again from the login page.",
            None,
        )
        .await);
    }
    let org = OrgId(flow.org_id);
    let user = UserId(flow.user_id.ok_or(Error::Unauthenticated)?);
    let (user, _) = store::users::find_member(ctx.db(), org, user)
        .await?
        .filter(|(u, _)| u.status == "active")
        .ok_or(Error::Unauthenticated)?;
    sessions::sign_in(session, UserId(user.id), org).await?;
    Ok(flow.return_to)
}

/// What a sign-in the provider vouched for leads to.
pub(crate) enum Account {
    /// This member is signed in.
    Ready(users::Model),
    /// The identity may belong to this member, but linking it needs the person's proof (their
    /// password or a session of theirs): why, in words for the audit trail.
    NeedsProof(users::Model, &'static str),
}

/// After a provider vouched for `profile`: the pick-up of a finished sign-in, or the link page
/// where the person proves the account first.
pub(crate) async fn conclude(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    profile: ExternalProfile,
    return_to: &str,
    binding: Option<&str>,
) -> Result<Redirect> {
    match complete_login(ctx, actor, row, &profile, &row.kind).await? {
        Account::Ready(user) => {
            pickup_redirect(ctx, row, UserId(user.id), return_to, binding).await
        }
        Account::NeedsProof(user, why) => {
            super::link::request_proof(ctx, actor, row, &user, &profile, why, return_to, binding)
                .await
        }
    }
}

/// Finds or creates the account a provider vouches for, within the provider's organisation:
/// 1. an identity already linked to this subject signs in; but an account ranking above the
///    provider's last editor (`StoredConfig::max_role`) only with a proof newer than the
///    provider's last change;
/// 2. otherwise, an existing member with the same email is linked automatically only when the
///    organisation marked this provider authoritative for the email's domain, the member is not
///    an owner and does not rank above the provider's last editor; in every other case the
///    person must prove the account ([`Account::NeedsProof`]). Nobody else's account is
///    touched;
/// 3. otherwise a new account, for a verified email (or one of a domain the provider is
///    authoritative for): with a pending invitation for the email, or by just-in-time
///    provisioning; its role never above the provider's last editor's. Else refused.
///
/// Every outcome is audited; refusals carry their reason.
pub(crate) async fn complete_login(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    profile: &ExternalProfile,
    method: &str,
) -> Result<Account> {
    let org = OrgId(row.org_id);
    let org_row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    let policy = policy_of(&org_row);
    let config = stored_config(row);
    let email = profile.email.clone();
    let refuse_here = |reason: &'static str, message: &str| {
        let email = email.clone();
        let message = message.to_owned();
        async move { refuse(ctx, actor, Some(row), reason, message, email.as_deref()).await }
    };

    if let Some(identity) =
        store::sso::find_identity(ctx.db(), org, SsoProviderId(row.id), &profile.subject).await?
    {
        let Some((user, membership)) =
            store::users::find_member(ctx.db(), org, UserId(identity.user_id))
                .await?
                .filter(|(u, _)| u.status == "active")
        else {
            return Err(refuse_here(
                "account_disabled",
                "This account is disabled. Ask your administrator.",
            )
            .await);
        };
        if role_of(&membership) > config.max_role()
            && !proven_since(identity.proven_at, config.changed_at())
        {
            return Ok(Account::NeedsProof(user, ABOVE_PROVIDER));
        }
        return sign_in_linked(ctx, actor, row, identity, user, membership, profile, method)
            .await
            .map(|(u, _)| Account::Ready(u));
    }

    let Some(email) = profile.email.clone() else {
        return Err(refuse_here(
            "no_email",
            "The identity provider did not share an email address.",
        )
        .await);
    };
    if profile.email_verified == Some(false) {
        return Err(refuse_here(
            "unverified_email",
            "The identity provider has not verified this email address, so it cannot be linked to an account.",
        )
        .await);
    }
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    let domain_listed = policy.email_domains.contains(&domain);
    if !policy.email_domains.is_empty() && !domain_listed {
        return Err(refuse_here(
            "domain_not_allowed",
            &format!("Accounts of {domain} cannot sign in to this organisation."),
        )
        .await);
    }
    let vouched = config.vouches_for(&email, &policy);
    if let Some(existing) = store::users::find_by_email_global(ctx.db(), &email).await? {
        let Some((user, membership)) =
            store::users::find_member(ctx.db(), org, UserId(existing.id)).await?
        else {
            return Err(refuse_here(
                "other_organisation",
                "This email belongs to an account of another organisation.",
            )
            .await);
        };
        if user.status != "active" {
            return Err(refuse_here(
                "account_disabled",
                "This account is disabled. Ask your administrator.",
            )
            .await);
        }
        let role = role_of(&membership);
        let why = if role == Role::Owner {
            Some(OWNER)
        } else if role > config.max_role() {
            Some(ABOVE_PROVIDER)
        } else if !vouched {
            Some(NOT_AUTHORITATIVE)
        } else {
            None
        };
        if let Some(why) = why {
            return Ok(Account::NeedsProof(user, why));
        }
        let txn = crate::db::begin_write(ctx.db()).await?;
        let event = Event::new("sso.linked")
            .target("user", user.id)
            .details(json!({ "provider": row.id, "kind": row.kind, "email": email, "proof": "authoritative_domain" }));
        let link = Link {
            row,
            membership: &membership,
            profile,
            proven_at: None,
        };
        attach(
            &txn,
            actor,
            &link,
            event,
            method,
            "linked_by_email",
            Utc::now(),
        )
        .await?;
        txn.commit().await?;
        store::sso::note(ctx.db(), org, SsoProviderId(row.id), None, Utc::now()).await?;
        return Ok(Account::Ready(user));
    }

    provision(ctx, actor, row, &org_row, &config, profile, &email, method)
        .await
        .map(|(u, _)| Account::Ready(u))
}

/// Why automatic linking stopped, for the audit trail and the link page.
pub(crate) const OWNER: &str =
    "An owner's account is never linked automatically: sign in to it to link this identity.";
pub(crate) const ABOVE_PROVIDER: &str = "This account has a higher role than the administrator who last changed this identity provider: sign in to it to link this identity.";
pub(crate) const NOT_AUTHORITATIVE: &str = "An account with this email exists. This identity provider is not marked authoritative for its domain: sign in to the account to link this identity.";

pub(crate) fn role_of(membership: &memberships::Model) -> Role {
    Role::parse(&membership.role).unwrap_or(Role::Member)
}

/// Whether the person proved the account after the provider's last change.
fn proven_since(
    proven_at: Option<sea_orm::prelude::DateTimeWithTimeZone>,
    changed_at: Option<chrono::DateTime<Utc>>,
) -> bool {
    match (proven_at, changed_at) {
        (Some(proven), Some(changed)) => store::utc(proven) >= changed,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Signs in through an identity linked already: refreshes what the provider says of it and
/// syncs groups, audited.
#[expect(
    clippy::too_many_arguments,
    reason = "one step of complete_login, named at its call site"
)]
async fn sign_in_linked(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    identity: identities::Model,
    user: users::Model,
    membership: memberships::Model,
    profile: &ExternalProfile,
    method: &str,
) -> Result<(users::Model, memberships::Model)> {
    let org = OrgId(row.org_id);
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let identity = store::sso::record_identity_login(
        &txn,
        org,
        identity,
        profile.email.clone(),
        profile.email_verified == Some(true),
        now,
    )
    .await?;
    sync_groups(
        &txn,
        org,
        row,
        &identity,
        UserId(user.id),
        &profile.groups,
        now,
    )
    .await?;
    audit_login(&txn, actor, &membership, row, method, "linked_identity").await?;
    txn.commit().await?;
    store::sso::note(ctx.db(), org, SsoProviderId(row.id), None, now).await?;
    Ok((user, membership))
}

/// A new account for a vouched-for email: by a pending invitation (its role) or just-in-time
/// provisioning (the organisation's default role); never above the provider's last editor.
#[expect(
    clippy::too_many_arguments,
    reason = "one step of complete_login, named at its call site"
)]
async fn provision(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    org_row: &crate::db::entities::organizations::Model,
    config: &super::StoredConfig,
    profile: &ExternalProfile,
    email: &str,
    method: &str,
) -> Result<(users::Model, memberships::Model)> {
    let org = OrgId(row.org_id);
    let policy = policy_of(org_row);
    let now = Utc::now();
    let domain_listed = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| policy.email_domains.iter().any(|x| x == d));
    let invitation = store::invitations::find_pending_for_email(ctx.db(), org, email, now).await?;
    let role = match &invitation {
        Some(i) => Role::parse(&i.role).unwrap_or(Role::Member),
        None if policy.jit_provisioning && domain_listed => orgs::default_role(org_row),
        None => {
            return Err(refuse(
                ctx,
                actor,
                Some(row),
                "invitation_required",
                "There is no account for this email here, and this organisation adds members by invitation. Ask an administrator to invite you.",
                Some(email),
            )
            .await);
        }
    };
    // An invitation or a seat goes only to an address the provider vouches for.
    if profile.email_verified != Some(true) && !config.vouches_for(email, &policy) {
        return Err(refuse(
            ctx,
            actor,
            Some(row),
            "unverified_email",
            "The identity provider does not vouch for this email address, so no account can be created for it. Ask your administrator.",
            Some(email),
        )
        .await);
    }
    let role = role.min(config.max_role());
    let name = profile
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let name: String = name.trim().chars().take(120).collect();
    let txn = crate::db::begin_write(ctx.db()).await?;
    if let Some(i) = &invitation
        && !store::invitations::consume(&txn, org, i.id, now).await?
    {
        return Err(refuse(
            ctx,
            actor,
            Some(row),
            "invitation_required",
            "The invitation was used meanwhile.",
            Some(email),
        )
        .await);
    }
    let (user, membership) = store::users::insert_member(
        &txn,
        org,
        store::users::NewUser {
            email,
            name: &name,
            password_hash: None,
            role,
        },
        now,
    )
    .await?;
    let event = Event::new("sso.provisioned")
        .target("user", user.id)
        .details(json!({
            "provider": row.id, "kind": row.kind, "email": email, "role": role.as_str(),
            "invitation": invitation.as_ref().map(|i| i.id),
        }));
    let link = Link {
        row,
        membership: &membership,
        profile,
        proven_at: None,
    };
    attach(&txn, actor, &link, event, method, "provisioned", now).await?;
    txn.commit().await?;
    store::sso::note(ctx.db(), org, SsoProviderId(row.id), None, now).await?;
    Ok((user, membership))
}

/// An identity about to be linked to a member.
pub(crate) struct Link<'a> {
    pub row: &'a sso_providers::Model,
    pub membership: &'a memberships::Model,
    pub profile: &'a ExternalProfile,
    /// When the person proved the account (`None`: linked by the provider's authority).
    pub proven_at: Option<chrono::DateTime<Utc>>,
}

/// Links a new identity to a member (inside `db`'s transaction): the identity, `event`
/// (`sso.linked` or `sso.provisioned`), the group sync and the `sso.login` audit.
pub(crate) async fn attach<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: &Actor,
    link: &Link<'_>,
    event: Event<'_>,
    method: &str,
    how: &str,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let row = link.row;
    let org = OrgId(row.org_id);
    let user = UserId(link.membership.user_id);
    let identity = store::sso::insert_identity(
        db,
        org,
        store::sso::NewIdentity {
            user,
            provider: SsoProviderId(row.id),
            subject: &link.profile.subject,
            email: link.profile.email.as_deref(),
            email_verified: link.profile.email_verified == Some(true),
            proven_at: link.proven_at,
        },
        now,
    )
    .await?;
    audit::record(db, Some(org), &acting(actor, link.membership), event).await?;
    sync_groups(db, org, row, &identity, user, &link.profile.groups, now).await?;
    audit_login(db, actor, link.membership, row, method, how).await
}

/// The enabled provider of `kind` a flow record names, or the refusal to answer.
pub(crate) async fn flow_provider(
    ctx: &AppContext,
    actor: &Actor,
    flow: &crate::db::entities::sso_flows::Model,
    kind: &str,
) -> Result<sso_providers::Model> {
    let row = match flow.provider_id {
        Some(id) => store::sso::find(ctx.db(), OrgId(flow.org_id), SsoProviderId(id)).await?,
        None => None,
    }
    .filter(|r| r.kind == kind && r.enabled);
    match row {
        Some(row) => Ok(row),
        None => Err(refuse(
            ctx,
            actor,
            None,
            "provider_gone",
            "This sign-in method is no longer available.",
            None,
        )
        .await),
    }
}

pub(crate) fn acting(actor: &Actor, membership: &memberships::Model) -> Actor {
    Actor::user(principal_of(membership, Credential::Session), actor.ip)
}

pub(crate) async fn audit_login<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: &Actor,
    membership: &memberships::Model,
    row: &sso_providers::Model,
    method: &str,
    how: &str,
) -> Result<()> {
    audit::record(
        db,
        Some(OrgId(membership.org_id)),
        &acting(actor, membership),
        Event::new("sso.login")
            .target("user", membership.user_id)
            .details(
                json!({ "provider": row.id, "kind": row.kind, "method": method, "account": how }),
            ),
    )
    .await
}

/// Group sync: the user joins the organisation's groups named in the claim, and leaves those a
/// previous sync added that the claim no longer names. Groups added by hand are left alone.
pub(crate) async fn sync_groups<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: OrgId,
    row: &sso_providers::Model,
    identity: &identities::Model,
    user: UserId,
    claimed: &[String],
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    if stored_config(row).groups_attribute.is_none() {
        return Ok(());
    }
    let wanted: Vec<String> = claimed.iter().map(|g| g.trim().to_lowercase()).collect();
    let groups = store::groups::list(db, org).await?;
    let matched: Vec<uuid::Uuid> = groups
        .iter()
        .filter(|g| wanted.contains(&g.name.to_lowercase()))
        .map(|g| g.id)
        .collect();
    let previous: Vec<uuid::Uuid> = identity
        .synced_groups
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    for id in &matched {
        store::groups::add_member(db, org, GroupId(*id), user, now).await?;
    }
    for id in previous.iter().filter(|id| !matched.contains(id)) {
        store::groups::remove_member(db, org, GroupId(*id), user).await?;
    }
    let value = serde_json::to_value(&matched).map_err(|e| Error::Internal(e.into()))?;
    store::sso::set_synced_groups(db, org, identity.clone(), value).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_same_site_paths_are_returned_to() {
        for (given, expected) in [
            (Some("/chat/123?x=1"), "/chat/123?x=1"),
            (Some("/"), "/"),
            (None, "/"),
            (Some(""), "/"),
            (Some("https://evil.test/"), "/"),
            (Some("//evil.test/path"), "/"),
            (Some("/\\evil.test"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("/ok\r\nSet-Cookie: x=1"), "/"),
            (Some("/auth/login-pickup?code=x"), "/"),
        ] {
            assert_eq!(safe_return(given), expected, "{given:?}");
        }
    }
}
