//! Providers described by `AERIE_*` settings (single-organisation installs): the inputs they
//! make, and applying them to the one organisation at start-up.

use super::providers::{create, update};
use crate::actor::Actor;
use crate::store;
use crate::{AppContext, Result};
use aerie_contract::SsoKind;
use aerie_contract::ids::{OrgId, SsoProviderId};
use aerie_contract::sso::SsoProviderInput;

/// The providers `AERIE_*` settings describe (single-organisation installs).
pub fn configured_inputs(config: &crate::config::Config) -> Vec<SsoProviderInput> {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let secret = |r: &crate::config::Redacted| Some(some(&r.0));
    let mut out = Vec::new();
    if let Some(client_id) = some(&config.google_client_id) {
        out.push(SsoProviderInput {
            kind: Some(SsoKind::Google),
            name: Some("Google".to_owned()),
            client_id: Some(client_id),
            client_secret: secret(&config.google_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let Some(client_id) = some(&config.microsoft_client_id) {
        out.push(SsoProviderInput {
            kind: Some(SsoKind::Microsoft),
            name: Some("Microsoft".to_owned()),
            client_id: Some(client_id),
            client_secret: secret(&config.microsoft_client_secret),
            tenant: some(&config.microsoft_tenant),
            ..SsoProviderInput::default()
        });
    }
    if let Some(client_id) = some(&config.github_client_id) {
        out.push(SsoProviderInput {
            kind: Some(SsoKind::Github),
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
            kind: Some(SsoKind::Nextcloud),
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
            kind: Some(SsoKind::Oidc),
            name: Some(some(&config.oidc_name).unwrap_or_else(|| "Single sign-on".to_owned())),
            issuer: Some(issuer),
            client_id: Some(client_id),
            client_secret: secret(&config.oidc_client_secret),
            ..SsoProviderInput::default()
        });
    }
    if let Some(url) = some(&config.saml_metadata_url) {
        out.push(SsoProviderInput {
            kind: Some(SsoKind::Saml),
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
        crate::services::auth::principal_of(&owner, crate::actor::Credential::Cli)?,
        None,
    );
    let existing = store::sso::list(ctx.db(), OrgId(org.id)).await?;
    let mut applied = 0;
    for input in inputs {
        let kind = input.kind;
        let name = input.name.clone().unwrap_or_default();
        let found = existing
            .iter()
            .find(|r| kind.is_some_and(|k| r.kind() == Ok(k)) && r.name == name);
        let outcome = match found {
            Some(row) => update(ctx, &actor, SsoProviderId(row.id), input)
                .await
                .map(|_| ()),
            None => create(ctx, &actor, input).await.map(|_| ()),
        };
        match outcome {
            Ok(()) => applied += 1,
            Err(e) => {
                let kind = kind.map_or("", SsoKind::as_str);
                tracing::warn!(kind, error = %e.body().detail, "a configured single sign-on provider was not applied")
            }
        }
    }
    Ok(applied)
}
