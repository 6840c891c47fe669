//! Single sign-on for the dashboard: the organisation's identity providers and SSO policy
//! (admins), where a person signs in (the login page, public), and the signed-in user's linked
//! identities.
//!
//! The provider functions take flat form fields (the SSO settings page posts them with
//! `ActionForm`): an absent field is left as it is; empty text means "none" when creating.

// One argument per form field (the generated browser-side functions carry no attributes).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::ids::{IdentityId, SsoProviderId};
use crate::contract::kinds::SsoKind;
use crate::contract::sso::{
    LinkedIdentity, LoginOptions, PendingLink, SsoPolicy, SsoProvider, SsoTestResult,
};

#[server(prefix = "/_server", endpoint = "sso_providers_list")]
pub async fn list_sso_providers() -> Result<Vec<SsoProvider>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// Adds an identity provider. Empty text fields are left out; `allow_idp_initiated` present
/// (a checked box) turns IdP-initiated SAML logins on.
#[server(prefix = "/_server", endpoint = "sso_providers_create")]
pub async fn create_sso_provider(
    kind: SsoKind,
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer: Option<String>,
    tenant: Option<String>,
    groups_attribute: Option<String>,
    metadata_xml: Option<String>,
    metadata_url: Option<String>,
    allow_idp_initiated: Option<String>,
) -> Result<SsoProvider, ErrorBody> {
    use crate::contract::sso::SsoProviderInput;
    let (ctx, actor) = super::ssr::context().await?;
    let input = SsoProviderInput {
        kind: Some(kind),
        name: filled(name),
        client_id: filled(client_id),
        client_secret: filled(client_secret).map(Some),
        issuer: filled(issuer),
        tenant: filled(tenant),
        groups_attribute: filled(groups_attribute),
        metadata_xml: filled(metadata_xml),
        metadata_url: filled(metadata_url),
        allow_idp_initiated: Some(allow_idp_initiated.is_some()),
        ..Default::default()
    };
    crate::backend::services::sso::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Changes an identity provider. Absent fields stay as they are. `name`, `client_id`,
/// `issuer`, `tenant` and `groups_attribute` are set to what is sent (empty clears them);
/// `client_secret`, `metadata_xml` and `metadata_url` replace only when not empty;
/// `remove_secret` present removes the client secret. `trusted_email_domains` (comma- or
/// space-separated) replaces the domains the provider is authoritative for (empty: none).
#[server(prefix = "/_server", endpoint = "sso_providers_update")]
pub async fn update_sso_provider(
    id: SsoProviderId,
    name: Option<String>,
    enabled: Option<bool>,
    client_id: Option<String>,
    client_secret: Option<String>,
    remove_secret: Option<String>,
    issuer: Option<String>,
    tenant: Option<String>,
    groups_attribute: Option<String>,
    metadata_xml: Option<String>,
    metadata_url: Option<String>,
    allow_idp_initiated: Option<bool>,
    trusted_email_domains: Option<String>,
) -> Result<SsoProvider, ErrorBody> {
    use crate::contract::sso::SsoProviderInput;
    let (ctx, actor) = super::ssr::context().await?;
    let input = SsoProviderInput {
        trusted_email_domains: trusted_email_domains.map(|d| domain_list(&d)),
        name: filled(name),
        enabled,
        client_id,
        client_secret: if remove_secret.is_some() {
            Some(None)
        } else {
            filled(client_secret).map(Some)
        },
        issuer,
        tenant,
        groups_attribute,
        metadata_xml: filled(metadata_xml),
        metadata_url: filled(metadata_url),
        allow_idp_initiated,
        ..Default::default()
    };
    crate::backend::services::sso::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "sso_providers_delete")]
pub async fn delete_sso_provider(id: SsoProviderId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// Checks the provider's configuration now (discovery, keys, redirect URI, or SAML metadata).
#[server(prefix = "/_server", endpoint = "sso_providers_test")]
pub async fn test_sso_provider(id: SsoProviderId) -> Result<SsoTestResult, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::test(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "sso_policy_get")]
pub async fn get_sso_policy() -> Result<SsoPolicy, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::get_policy(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// `email_domains` is comma- or newline-separated; the boxes are on when present.
#[server(prefix = "/_server", endpoint = "sso_policy_put")]
pub async fn put_sso_policy(
    sso_only: Option<String>,
    email_domains: String,
    jit_provisioning: Option<String>,
) -> Result<SsoPolicy, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    let policy = SsoPolicy {
        sso_only: sso_only.is_some(),
        email_domains: domain_list(&email_domains),
        jit_provisioning: jit_provisioning.is_some(),
        awaiting_approval: Vec::new(),
    };
    crate::backend::services::sso::put_policy(&ctx, &actor, policy)
        .await
        .map_err(super::ssr::err)
}

/// Where this person signs in (public): by email domain, organisation slug, or (neither) the
/// providers of a single-organisation install.
#[server(prefix = "/_server", endpoint = "sso_discover")]
pub async fn discover_sso(
    email: Option<String>,
    org: Option<String>,
) -> Result<LoginOptions, ErrorBody> {
    let (ctx, _) = super::ssr::context().await?;
    let email = filled(email);
    crate::backend::services::sso::discover(&ctx, email.as_deref(), org.as_deref())
        .await
        .map_err(super::ssr::err)
}

/// A sign-in waiting for the person to prove the account its identity should link to (the link
/// page, `/link-account?code=`).
#[server(prefix = "/_server", endpoint = "sso_pending_link")]
pub async fn pending_sso_link(code: String) -> Result<PendingLink, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::link::pending(&ctx, &actor, &code)
        .await
        .map_err(super::ssr::err)
}

/// The identities linked to the signed-in user.
#[server(prefix = "/_server", endpoint = "me_identities")]
pub async fn my_identities() -> Result<Vec<LinkedIdentity>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::my_identities(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// Unlinks one of the signed-in user's identities (never their last way in).
#[server(prefix = "/_server", endpoint = "me_identities_unlink")]
pub async fn unlink_identity(id: IdentityId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::sso::unlink(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// Text a form sent, trimmed; empty is none.
#[cfg(feature = "ssr")]
fn filled(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Domains typed in a text field, separated by commas, spaces or new lines.
#[cfg(feature = "ssr")]
fn domain_list(text: &str) -> Vec<String> {
    text.split([',', '\n', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}
