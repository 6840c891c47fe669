//! The API keys page.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::api_keys::{ApiKey, ApiKeyWithSecret};
use crate::contract::ids::ApiKeyId;

#[server(prefix = "/_server", endpoint = "keys_list")]
pub async fn list_keys() -> Result<Vec<ApiKey>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::api_keys::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// A limit typed into the form: empty is none (the plan's), else a whole number.
#[cfg(feature = "ssr")]
fn limit<T: std::str::FromStr>(field: &'static str, raw: &str) -> Result<Option<T>, ErrorBody> {
    super::ssr::optional_number(field, raw, "the plan's")
}

/// `expires_at` empty means never; an empty limit is the plan's.
#[server(prefix = "/_server", endpoint = "keys_create")]
pub async fn create_key(
    name: String,
    expires_at: String,
    #[server(default)] requests_per_minute: String,
    #[server(default)] tokens_per_minute: String,
) -> Result<ApiKeyWithSecret, ErrorBody> {
    use crate::contract::api_keys::NewApiKey;
    let (ctx, actor) = super::ssr::context().await?;
    let input = NewApiKey {
        name,
        expires_at: Some(expires_at).filter(|e| !e.trim().is_empty()),
        requests_per_minute: limit("requests_per_minute", &requests_per_minute)?,
        tokens_per_minute: limit("tokens_per_minute", &tokens_per_minute)?,
    };
    crate::backend::services::api_keys::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Sets a key's own limits; an empty one goes back to the plan's.
#[server(prefix = "/_server", endpoint = "keys_limits")]
pub async fn set_key_limits(
    id: ApiKeyId,
    requests_per_minute: String,
    tokens_per_minute: String,
) -> Result<ApiKey, ErrorBody> {
    use crate::contract::api_keys::UpdateApiKey;
    let (ctx, actor) = super::ssr::context().await?;
    let input = UpdateApiKey {
        expires_at: None,
        requests_per_minute: Some(limit("requests_per_minute", &requests_per_minute)?),
        tokens_per_minute: Some(limit("tokens_per_minute", &tokens_per_minute)?),
    };
    crate::backend::services::api_keys::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "keys_rotate")]
pub async fn rotate_key(id: ApiKeyId) -> Result<ApiKeyWithSecret, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::api_keys::rotate(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "keys_revoke")]
pub async fn revoke_key(id: ApiKeyId) -> Result<ApiKey, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::api_keys::revoke(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}
