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

/// `expires_at` empty means never.
#[server(prefix = "/_server", endpoint = "keys_create")]
pub async fn create_key(name: String, expires_at: String) -> Result<ApiKeyWithSecret, ErrorBody> {
    use crate::contract::api_keys::NewApiKey;
    let (ctx, actor) = super::ssr::context().await?;
    let expires_at = Some(expires_at).filter(|e| !e.trim().is_empty());
    crate::backend::services::api_keys::create(&ctx, &actor, NewApiKey { name, expires_at })
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
