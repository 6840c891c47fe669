//! SAML 2.0 service provider, the rules around the protocol core (`sso::saml`): our metadata, the
//! SP-initiated start (the request id kept server-side), and the assertion consumer: the
//! response is routed by its `InResponseTo` (matched against stored request ids, once) or, for
//! IdP-initiated logins, by its issuer where the organisation allows them; verified off the async
//! threads behind the xmlsec lock; refused when replayed; then the account is found or created
//! exactly as for OIDC.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use super::account::conclude;
use super::config::{callback_url, stored_config};
use super::flow::{self, Redirect, binding_hash, flow_key, flow_provider, safe_return};
use super::refusal::{refuse, refuse_unsolicited};
use crate::actor::Actor;
use crate::db::entities::{sso_flows, sso_providers};
use crate::sso::oidc::ExternalProfile;
use crate::sso::saml::{self as proto, IdpConfig, OwnedExpected, SpKeys, VerifiedAssertion};
use crate::store;
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::SsoKind;
use aerie_contract::ids::{OrgId, SsoProviderId};

/// Clock skew tolerated on SAML time bounds.
const SKEW_SECS: i64 = 120;

/// Our entity id: the metadata URL (a common convention that makes it resolvable).
pub fn entity_id(ctx: &AppContext) -> String {
    format!("{}/auth/saml/metadata", ctx.config().public_url())
}

pub fn acs_url(ctx: &AppContext) -> String {
    callback_url(ctx, SsoKind::Saml)
}

/// The SP key pair: generated once and kept with the instance secrets.
pub async fn sp_keys(ctx: &AppContext) -> Result<SpKeys> {
    let runtime = ctx.sso();
    let dir = runtime.data_dir.clone();
    let keys = runtime
        .sp_keys
        .get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || {
                crate::secrets::load_or_create_saml(&dir, || {
                    SpKeys::generate("Aerie SAML service provider")
                })
            })
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?
            .map_err(|e| Error::Internal(anyhow::anyhow!(e.0)))
        })
        .await?;
    Ok(keys.clone())
}

/// `GET /auth/saml/metadata`.
pub async fn metadata(ctx: &AppContext) -> Result<String> {
    let keys = sp_keys(ctx).await?;
    proto::sp_metadata_xml(&entity_id(ctx), &acs_url(ctx), &keys).map_err(Error::Internal)
}

fn idp_of(row: &sso_providers::Model) -> Result<IdpConfig> {
    stored_config(row)
        .idp
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            Error::detailed(
                aerie_contract::ErrorCode::SsoFailed,
                "This SAML provider has no identity-provider metadata; an administrator must add it.",
            )
        })
}

/// Starts an SP-initiated login: the request id is stored (hashed) with the flow; answers the
/// redirect to the IdP (or, for an HTTP-POST-only IdP, the auto-submitting form).
pub(super) async fn start(
    ctx: &AppContext,
    row: &sso_providers::Model,
    return_to: &str,
    binding: &str,
) -> Result<Redirect> {
    let idp = idp_of(row)?;
    let now = Utc::now();
    let request = proto::authn_request(&idp, &entity_id(ctx), &acs_url(ctx), "", now)
        .map_err(Error::Internal)?;
    store::sso::insert_flow(
        ctx.db(),
        store::sso::NewFlow {
            id: &flow_key(ctx, "saml-request", &request.id),
            purpose: "saml",
            org: OrgId(row.org_id),
            provider: Some(SsoProviderId(row.id)),
            binding_hash: Some(binding),
            secret_enc: None,
            nonce: None,
            return_to,
            user: None,
            expires_at: now + Duration::minutes(flow::FLOW_TTL_MINUTES),
        },
        now,
    )
    .await?;
    let html = request.post_form.as_ref().map(proto::PostForm::html);
    Ok(Redirect {
        location: request.redirect_url,
        binding: None,
        html,
    })
}

fn first(attributes: &BTreeMap<String, Vec<String>>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        attributes
            .get(*n)
            .and_then(|v| v.iter().find(|s| !s.trim().is_empty()))
            .map(|s| s.trim().to_owned())
    })
}

/// The person an assertion names. The email comes from the configured attribute, the usual ones,
/// or an email-shaped NameID; an organisation's own IdP vouches for its addresses.
fn profile_of(row: &sso_providers::Model, assertion: &VerifiedAssertion) -> ExternalProfile {
    let config = stored_config(row);
    let a = &assertion.attributes;
    let email_names: Vec<&str> = config
        .email_attribute
        .as_deref()
        .into_iter()
        .chain([
            "email",
            "mail",
            "emailAddress",
            "urn:oid:0.9.2342.19200300.100.1.3",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        ])
        .collect();
    let email = first(a, &email_names)
        .or_else(|| Some(assertion.name_id.clone()).filter(|n| n.contains('@')))
        .map(|e| e.to_lowercase())
        .filter(|e| e.contains('@') && !e.contains(char::is_whitespace));
    let name_names: Vec<&str> = config
        .name_attribute
        .as_deref()
        .into_iter()
        .chain([
            "name",
            "displayName",
            "cn",
            "urn:oid:2.16.840.1.113730.3.1.241",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        ])
        .collect();
    let groups = config
        .groups_attribute
        .as_deref()
        .and_then(|g| a.get(g))
        .cloned()
        .unwrap_or_default();
    ExternalProfile {
        subject: assertion.name_id.clone(),
        // SAML attributes carry no verification statement: the email counts only where the
        // organisation marked this provider authoritative for its domain.
        email_verified: None,
        email,
        name: first(a, &name_names),
        groups,
    }
}

/// `POST /auth/saml/acs`.
pub async fn acs(
    ctx: &AppContext,
    actor: &Actor,
    saml_response: String,
    relay_state: Option<String>,
) -> Result<Redirect> {
    let now = Utc::now();
    if saml_response.trim().is_empty() {
        return Err(refuse(
            ctx,
            actor,
            None,
            "malformed",
            "No SAMLResponse was posted.",
            None,
        )
        .await);
    }
    let peek = match proto::peek(&saml_response) {
        Ok(p) => p,
        Err(e) => return Err(refuse(ctx, actor, None, e.code(), e.to_string(), None).await),
    };
    let (row, flow) = route(ctx, actor, &peek, now).await?;
    let assertion = verify(ctx, actor, &row, flow.is_some(), saml_response, now).await?;
    // The signed InResponseTo must be the request this flow stored (or none, IdP-initiated).
    if assertion.in_response_to.as_deref() != peek.in_response_to.as_deref() {
        return Err(refuse(
            ctx,
            actor,
            Some(&row),
            "wrong_in_response_to",
            "The signed assertion answers another request than the response claims.",
            None,
        )
        .await);
    }
    refuse_replay(ctx, actor, &row, &assertion).await?;
    let profile = profile_of(&row, &assertion);
    let (return_to, binding, new_binding) = match &flow {
        Some(f) => (f.return_to.clone(), f.binding_hash.clone(), None),
        // IdP-initiated: a same-site RelayState path. The pick-up is bound to the browser that
        // posted the response (a new `aerie_sso` cookie set on this answer), so a pick-up link
        // cannot be handed to another browser.
        None => {
            let fresh = crypto::random_token(32);
            let hash = binding_hash(ctx, &fresh);
            (safe_return(relay_state.as_deref()), Some(hash), Some(fresh))
        }
    };
    let mut redirect = conclude(
        ctx,
        actor,
        SsoKind::Saml,
        &row,
        profile,
        &return_to,
        binding.as_deref(),
    )
    .await?;
    redirect.binding = new_binding;
    Ok(redirect)
}

/// Routes a response: one to our request finds its flow (once) and the flow's provider; an
/// unsolicited one the IdP its issuer names, where that provider allows IdP-initiated logins.
async fn route(
    ctx: &AppContext,
    actor: &Actor,
    peek: &proto::Peek,
    now: chrono::DateTime<Utc>,
) -> Result<(sso_providers::Model, Option<sso_flows::Model>)> {
    match peek.in_response_to.as_deref() {
        Some(request_id) => {
            let flow = store::sso::take_flow_global(
                ctx.db(),
                &flow_key(ctx, "saml-request", request_id),
                "saml",
                now,
            )
            .await?;
            let Some(flow) = flow else {
                let row = provider_by_issuer(ctx, peek.issuer.as_deref()).await?;
                return Err(refuse_unsolicited(
                    ctx,
                    actor,
                    row.as_ref(),
                    "wrong_in_response_to",
                    "This SAML response does not answer a sign-in started here (unknown, used or expired request). Start again from the login page.",
                )
                .await);
            };
            let row = flow_provider(ctx, actor, &flow, SsoKind::Saml).await?;
            Ok((row, Some(flow)))
        }
        None => {
            let Some(row) = provider_by_issuer(ctx, peek.issuer.as_deref()).await? else {
                return Err(refuse(ctx, actor, None, "unknown_issuer", "This SAML response comes from an identity provider that is not configured here.", None).await);
            };
            if !stored_config(&row).allow_idp_initiated {
                return Err(refuse_unsolicited(
                    ctx,
                    actor,
                    Some(&row),
                    "idp_initiated_disabled",
                    "Sign-ins started at the identity provider are not allowed for this organisation: start from the Aerie login page.",
                )
                .await);
            }
            Ok((row, None))
        }
    }
}

/// Verifies the response against the provider's IdP and our keys (off the async threads). A
/// refusal of an unsolicited response (`solicited` false) is sampled: its poster may be anyone.
async fn verify(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    solicited: bool,
    saml_response: String,
    now: chrono::DateTime<Utc>,
) -> Result<VerifiedAssertion> {
    let idp = idp_of(row)?;
    let keys = sp_keys(ctx).await?;
    let expected = OwnedExpected {
        sp_entity_id: entity_id(ctx),
        acs_url: acs_url(ctx),
        idp,
        now,
        skew: Duration::seconds(SKEW_SECS),
    };
    match proto::verify_response_async(saml_response, expected, keys).await {
        Ok(a) => Ok(a),
        // Unsolicited: the poster may be anyone, so the refusal is sampled.
        Err(e) if !solicited => {
            Err(refuse_unsolicited(ctx, actor, Some(row), e.code(), e.to_string()).await)
        }
        Err(e) => Err(refuse(ctx, actor, Some(row), e.code(), e.to_string(), None).await),
    }
}

/// Remembers the assertion until it expires; refuses one seen already (a replay).
async fn refuse_replay(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    assertion: &VerifiedAssertion,
) -> Result<()> {
    let replay_key = flow_key(
        ctx,
        "saml-assertion",
        &format!("{}|{}", assertion.issuer, assertion.assertion_id),
    );
    if !store::sso::claim_assertion(ctx.db(), &replay_key, assertion.not_on_or_after).await? {
        return Err(refuse(
            ctx,
            actor,
            Some(row),
            "replayed",
            "This SAML assertion was used already (replay refused). Sign in again.",
            None,
        )
        .await);
    }
    Ok(())
}

/// The one enabled SAML provider with this IdP entity id (none when several organisations
/// share it: IdP-initiated logins then cannot be routed).
async fn provider_by_issuer(
    ctx: &AppContext,
    issuer: Option<&str>,
) -> Result<Option<sso_providers::Model>> {
    let Some(issuer) = issuer else {
        return Ok(None);
    };
    let mut rows = store::sso::find_by_issuer_global(ctx.db(), SsoKind::Saml, issuer).await?;
    Ok(if rows.len() == 1 { rows.pop() } else { None })
}
