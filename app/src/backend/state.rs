//! Shared application state: cheap to clone, built once at start-up, used by HTTP handlers,
//! server functions, jobs and CLI commands alike.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::config::{Config, DbKind};
use super::secrets::Secrets;
use super::services::auth::authenticate::KeyCache;
use super::services::auth::limits::LoginLimits;

struct Inner {
    db: DatabaseConnection,
    config: Config,
    db_kind: DbKind,
    secrets: Secrets,
    started_at: Instant,
    dev_mode: bool,
    login_limits: LoginLimits,
    key_cache: KeyCache,
}

/// The service layer's context.
#[derive(Clone)]
pub struct AppContext(Arc<Inner>);

impl AppContext {
    pub fn new(db: DatabaseConnection, config: Config, secrets: Secrets, dev_mode: bool) -> Self {
        let db_kind = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => DbKind::Postgres,
            _ => DbKind::Sqlite,
        };
        Self(Arc::new(Inner {
            db,
            config,
            db_kind,
            secrets,
            started_at: Instant::now(),
            dev_mode,
            login_limits: LoginLimits::default(),
            key_cache: KeyCache::default(),
        }))
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn db_kind(&self) -> DbKind {
        self.0.db_kind
    }

    pub fn secrets(&self) -> &Secrets {
        &self.0.secrets
    }

    pub fn started_at(&self) -> Instant {
        self.0.started_at
    }

    /// Rate limits of login and token endpoints.
    pub fn login_limits(&self) -> &LoginLimits {
        &self.0.login_limits
    }

    /// Recently resolved API keys (cleared by every change to keys, roles or account status).
    pub fn key_cache(&self) -> &KeyCache {
        &self.0.key_cache
    }

    /// True for `aerie dev` (authentication off, loopback only).
    pub fn dev_mode(&self) -> bool {
        self.0.dev_mode
    }
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("db_kind", &self.0.db_kind)
            .field("dev_mode", &self.0.dev_mode)
            .finish_non_exhaustive()
    }
}

/// Router state: Leptos' options for SSR, and the service context for everything else.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub ctx: AppContext,
}
