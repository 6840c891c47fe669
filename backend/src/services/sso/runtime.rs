//! Process-wide single sign-on state ([`SsoRuntime`]): the guarded HTTP client for identity
//! providers, the JWKS cache, the limits on anonymous requests and (with the `saml` feature)
//! the service provider's key pair.

use std::sync::OnceLock;

use super::endpoints::allowed_urls;
use crate::config::Config;
use crate::net_guard::{Allow, GuardedClient};
use crate::services::auth::limits::SsoLimits;
use crate::sso::oidc;
use crate::{Error, Result};

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
            allow: allowed_urls(config),
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
