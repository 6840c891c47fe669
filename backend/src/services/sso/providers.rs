//! An organisation's identity providers, administered: listing them as admins see them
//! ([`dto`], never a secret), creating and updating them (validated, endpoints resolved and the
//! redirect URI probed, the secret sealed, the steward recorded), deleting and testing them.

use chrono::Utc;

use super::config::{
    StoredConfig, apply, callback_url, changed_fields, check_complete, optional_url, seal_secret,
    stored_config,
};
use super::discovery::login_url;
use super::endpoints::{probe_redirect, resolve};
use super::policy::{apply_trusted_domains, org_policy, stewarded};
use crate::actor::{Actor, Role};
use crate::db::entities::sso_providers;
use crate::services::audit::{self, Event};
use crate::services::validate;
use crate::sso::oidc;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::SsoKind;
use aerie_contract::ids::SsoProviderId;
use aerie_contract::sso::{SsoProvider, SsoProviderInput, SsoTestResult};

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

/// The provider as answered; a kind the code does not know is an internal error.
pub fn dto(ctx: &AppContext, row: &sso_providers::Model) -> Result<SsoProvider> {
    let kind = row.kind()?;
    let config = stored_config(row);
    let idp_sso = config
        .idp
        .as_ref()
        .and_then(|idp| idp.get("sso_url"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok(SsoProvider {
        id: SsoProviderId(row.id),
        kind,
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
        max_role: config.max_role(),
        login_url: login_url(kind, row),
        callback_url: callback_url(ctx, kind),
        last_error: row.last_error.clone(),
        last_error_at: row.last_error_at.map(utc),
        last_login_at: row.last_login_at.map(utc),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    })
}

/// `GET /api/sso/providers`.
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<SsoProvider>> {
    let p = actor.require_role(Role::Admin)?;
    store::sso::list(ctx.db(), p.org_id)
        .await?
        .iter()
        .map(|r| dto(ctx, r))
        .collect()
}

/// `GET /api/sso/providers/{id}`.
pub async fn get(ctx: &AppContext, actor: &Actor, id: SsoProviderId) -> Result<SsoProvider> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::sso::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    dto(ctx, &row)
}

/// The kind an input names (required when creating).
fn kind_of(input: &SsoProviderInput) -> Result<SsoKind> {
    input.kind.ok_or_else(|| {
        Error::invalid(
            "kind",
            format!("kind must be one of: {}.", SsoKind::listed()),
        )
    })
}

/// The name a provider of `kind` gets when the admin gives none.
fn default_name(kind: SsoKind) -> &'static str {
    match kind {
        SsoKind::Google => "Google",
        SsoKind::Microsoft => "Microsoft",
        SsoKind::Github => "GitHub",
        SsoKind::Nextcloud => "Nextcloud",
        SsoKind::Saml => "SAML",
        SsoKind::Oidc => "Single sign-on",
    }
}

/// `POST /api/sso/providers`: validates everything, discovers endpoints, probes the redirect
/// URI, then stores the provider (secret sealed).
pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: SsoProviderInput,
) -> Result<SsoProvider> {
    let p = actor.require_role(Role::Admin)?;
    let kind = kind_of(&input)?;
    let name = validate::name(
        "name",
        input.name.as_deref().unwrap_or(default_name(kind)),
        validate::NAME_MAX,
    )?;
    let mut config = StoredConfig::default();
    apply(&mut config, &input)?;
    apply_trusted_domains(&mut config, &input, &org_policy(ctx, p.org_id).await?)?;
    stewarded(&mut config, p);
    let secret = input
        .client_secret
        .clone()
        .flatten()
        .filter(|s| !s.trim().is_empty());
    check_complete(kind, &config, secret.is_some())?;
    let issuer_in = optional_url("issuer", input.issuer.as_deref())?;
    let issuer = resolve(
        ctx,
        kind,
        issuer_in,
        &mut config,
        input.metadata_xml.as_deref(),
    )
    .await?;
    if kind != SsoKind::Saml {
        probe_redirect(ctx, kind, &config).await?;
    }
    let new = store::sso::NewProvider {
        kind,
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
                "kind": kind, "name": row.name, "max_role": p.role.as_str(),
                "trusted_email_domains": config.trusted_email_domains,
            })),
    )
    .await?;
    txn.commit().await?;
    dto(ctx, &row)
}

/// Whether an update changes how the provider is reached (then it is checked against the
/// provider again).
fn reaches_differently(input: &SsoProviderInput) -> bool {
    input.issuer.is_some()
        || input.tenant.is_some()
        || input.client_id.is_some()
        || input.scopes.is_some()
        || input.authorization_url.is_some()
        || input.token_url.is_some()
        || input.userinfo_url.is_some()
        || input.jwks_url.is_some()
        || input.metadata_xml.is_some()
        || input.metadata_url.is_some()
}

/// Resolves an updated provider's endpoints again and probes its redirect URI; answers the
/// issuer column.
async fn resolve_again(
    ctx: &AppContext,
    row: &sso_providers::Model,
    input: &SsoProviderInput,
    config: &mut StoredConfig,
) -> Result<Option<String>> {
    let kind = row.kind()?;
    let issuer_in = match input.issuer.as_deref() {
        Some(_) => optional_url("issuer", input.issuer.as_deref())?,
        None if kind == SsoKind::Saml => None,
        // Microsoft's issuer follows its tenant unless one was given.
        None if kind == SsoKind::Microsoft && input.tenant.is_some() => None,
        None => row.issuer.clone(),
    };
    let issuer = resolve(ctx, kind, issuer_in, config, input.metadata_xml.as_deref()).await?;
    if kind != SsoKind::Saml {
        probe_redirect(ctx, kind, config).await?;
    }
    Ok(issuer)
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
    let kind = row.kind()?;
    if input.kind.is_some_and(|k| k != kind) {
        return Err(Error::invalid(
            "kind",
            "kind cannot change; add another provider instead.",
        ));
    }
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::NAME_MAX))
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
    check_complete(kind, &config, has_secret)?;
    // Only a change to how the provider is reached is checked against it again: renaming,
    // disabling or a new secret must work while the provider is down.
    let issuer = if reaches_differently(&input) {
        resolve_again(ctx, &row, &input, &mut config).await?
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
    dto(ctx, &updated)
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
            // The stored spelling: a provider of a kind this build does not know can still go.
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
    let outcome = check_reachable(ctx, &row).await;
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

/// The checks of [`test`]: the provider's endpoints resolve again, its keys are published and
/// its redirect URI is accepted. Answers what was reached.
async fn check_reachable(ctx: &AppContext, row: &sso_providers::Model) -> Result<String> {
    let kind = row.kind()?;
    let mut config = stored_config(row);
    let issuer_in = match kind {
        SsoKind::Saml => None,
        _ => row.issuer.clone(),
    };
    resolve(ctx, kind, issuer_in, &mut config, None).await?;
    if kind == SsoKind::Saml {
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
    probe_redirect(ctx, kind, &config).await?;
    Ok(format!(
        "Reached {}; the redirect URI {} is accepted.",
        config.endpoints.authorization_url,
        callback_url(ctx, kind)
    ))
}
