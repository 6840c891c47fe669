//! Refused sign-ins: each is counted (`aerie_sso_refusals_total`), audited as `sso.refused` with
//! its reason (anonymous ones only within a small sample) and noted on the provider, and
//! answered with the message to show.

use chrono::Utc;
use serde_json::json;

use crate::actor::Actor;
use crate::db::entities::sso_providers;
use crate::services::audit::{self, Event};
use crate::sso::oidc::SsoError;
use crate::store;
use crate::{AppContext, Error};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{OrgId, SsoProviderId};

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
#[cfg(feature = "saml")]
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
        // The stored spelling: a refusal is recorded whatever the row holds.
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

pub(super) fn sso_refusal(e: SsoError) -> (&'static str, String) {
    (e.reason(), e.to_string())
}
