//! Providers: the upstream LLM endpoints of the organisation (admins change them).

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::ids::ProviderId;
use crate::contract::providers::{Provider, ProviderCheck};

#[server(prefix = "/_server", endpoint = "providers_list")]
pub async fn list_providers() -> Result<Vec<Provider>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::providers::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// `models` is comma-separated model ids; empty: discovered from the upstream.
#[server(prefix = "/_server", endpoint = "providers_create")]
pub async fn create_provider(
    name: String,
    base_url: String,
    api_key: String,
    models: String,
) -> Result<Provider, ErrorBody> {
    use crate::contract::providers::NewProvider;
    let (ctx, actor) = super::ssr::context().await?;
    let input = NewProvider {
        name,
        base_url,
        api_key: Some(api_key).filter(|k| !k.trim().is_empty()),
        models: Some(model_list(&models)).filter(|m| !m.is_empty()),
        timeout_secs: None,
    };
    crate::backend::services::providers::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// `models` replaces the list (empty: unchanged); `api_key` replaces the secret (empty: kept);
/// `remove_key` present: the secret is removed.
#[server(prefix = "/_server", endpoint = "providers_update")]
pub async fn edit_provider(
    id: ProviderId,
    models: String,
    api_key: String,
    remove_key: Option<String>,
) -> Result<Provider, ErrorBody> {
    use crate::contract::providers::UpdateProvider;
    let (ctx, actor) = super::ssr::context().await?;
    let key = Some(api_key).filter(|k| !k.trim().is_empty());
    let input = UpdateProvider {
        models: Some(model_list(&models)).filter(|m| !m.is_empty()),
        api_key: if remove_key.is_some() {
            Some(None)
        } else {
            key.map(Some)
        },
        ..Default::default()
    };
    crate::backend::services::providers::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "providers_delete")]
pub async fn delete_provider(id: ProviderId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::providers::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// Calls the upstream's model list: ok or not, what it said, how long it took.
#[server(prefix = "/_server", endpoint = "providers_test")]
pub async fn test_provider(id: ProviderId) -> Result<ProviderCheck, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::providers::test(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// `a, b,c` → models `a`, `b`, `c`.
#[cfg(feature = "ssr")]
fn model_list(models: &str) -> Vec<crate::contract::providers::ProviderModel> {
    models
        .split([',', '\n'])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|id| crate::contract::providers::ProviderModel {
            id: id.to_owned(),
            vision: false,
        })
        .collect()
}
