//! Sign-in flows (`sso_flows` records) and the browser they are bound to: where a login starts
//! (the provider a login link names, a record keyed by a hash of its `state` or SAML request
//! id, bound to the browser by the `SameSite=Lax` [`BINDING_COOKIE`]), the provider a flow
//! names when it comes back, and the pick-up that turns a finished sign-in into a browser
//! session.

use chrono::{Duration, Utc};
use tower_sessions::Session;

use super::refusal::refuse;
use crate::actor::Actor;
use crate::db::entities::{sso_flows, sso_providers};
use crate::services::auth::sessions;
use crate::store;
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::ids::{OrgId, SsoProviderId, UserId};
use aerie_contract::{ErrorCode, SsoKind, UserStatus};

/// The cookie binding a flow to the browser that started it.
pub const BINDING_COOKIE: &str = "aerie_sso";
/// How long a started sign-in may take at the identity provider.
pub const FLOW_TTL_MINUTES: i64 = 10;
/// How long a finished sign-in waits to be picked up.
const PICKUP_TTL_SECS: i64 = 120;
/// The label a flow's PKCE verifier is sealed under.
pub(super) const FLOW_SECRET_LABEL: &str = "sso-flow";

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

/// Finds the provider a login link names (or the one of this kind of the organisation found by
/// slug or email domain).
async fn pick_provider(
    ctx: &AppContext,
    kind: SsoKind,
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
            .filter(|r| r.kind() == Ok(kind) && r.enabled)
            .ok_or_else(not_configured);
    }
    let org = match (start.org.as_deref(), start.email.as_deref()) {
        (Some(slug), _) => store::orgs::find_by_slug_global(ctx.db(), slug).await?,
        (None, Some(email)) => super::discovery::org_for_email(ctx, email).await?,
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
        .find(|r| r.kind() == Ok(kind) && r.enabled)
        .ok_or_else(not_configured)
}

/// `GET /auth/{kind}/login`: records the flow and answers where to send the browser. Each
/// client address may start only so many flows a minute (then 429).
pub async fn start(
    ctx: &AppContext,
    actor: &Actor,
    kind: SsoKind,
    input: LoginStart,
) -> Result<Redirect> {
    ctx.sso().limits.check_flow_start(actor.ip)?;
    let row = pick_provider(ctx, kind, &input).await?;
    let return_to = safe_return(input.return_to.as_deref());
    let binding = crypto::random_token(32);
    if kind == SsoKind::Saml {
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
    super::oauth::start(ctx, &row, input.email.as_deref(), &return_to, binding).await
}

/// The enabled provider of `kind` a flow record names, or the refusal to answer.
pub(crate) async fn flow_provider(
    ctx: &AppContext,
    actor: &Actor,
    flow: &sso_flows::Model,
    kind: SsoKind,
) -> Result<sso_providers::Model> {
    let row = match flow.provider_id {
        Some(id) => store::sso::find(ctx.db(), OrgId(flow.org_id), SsoProviderId(id)).await?,
        None => None,
    }
    .filter(|r| r.kind() == Ok(kind) && r.enabled);
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
        .filter(|(u, _)| u.status() == Ok(UserStatus::Active))
        .ok_or(Error::Unauthenticated)?;
    sessions::sign_in(session, UserId(user.id), org).await?;
    Ok(flow.return_to)
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
