//! Shared application state: cheap to clone, built once at start-up, used by HTTP handlers,
//! server functions, jobs and CLI commands alike.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::config::{Config, DbKind};
use super::secrets::Secrets;
use super::services::agents::AgentCache;
use super::services::auth::authenticate::KeyCache;
use super::services::auth::limits::LoginLimits;
use super::services::billing::Billing;
use super::services::chat::InFlight;
use super::services::embeddings::LocalModel;
use super::services::guardrails::Guardrails;
use super::services::jobs::JobsRuntime;
use super::services::leases::Leases;
use super::services::license::Licensing;
use super::services::providers::ClientCache;
use super::services::rate_limits::RateLimits;
use super::services::sso::runtime::SsoRuntime;
use super::services::usage::Usage;
use super::tools::ToolRuntime;

struct Inner {
    db: DatabaseConnection,
    config: Config,
    db_kind: DbKind,
    secrets: Secrets,
    started_at: Instant,
    dev_mode: bool,
    login_limits: LoginLimits,
    key_cache: KeyCache,
    started_at_utc: chrono::DateTime<chrono::Utc>,
    provider_clients: ClientCache,
    agent_cache: AgentCache,
    usage: Usage,
    billing: Billing,
    licensing: Licensing,
    leases: Leases,
    rate_limits: RateLimits,
    guardrails: Guardrails,
    in_flight: InFlight,
    tools: ToolRuntime,
    sso: SsoRuntime,
    jobs: Arc<JobsRuntime>,
    local_model: LocalModel,
    /// Knowledge bases' chunks (LanceDB), opened on first use.
    vectors: tokio::sync::OnceCell<aerie_vectors::Store>,
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
        let sso = SsoRuntime::new(&config);
        // The audit trail's chain is keyed with the instance's secret (docs/AUDIT.md).
        crate::audit_chain::init(&secrets.encryption_key);
        Self(Arc::new(Inner {
            db,
            config,
            db_kind,
            secrets,
            started_at: Instant::now(),
            dev_mode,
            login_limits: LoginLimits::default(),
            key_cache: KeyCache::default(),
            started_at_utc: chrono::Utc::now(),
            provider_clients: ClientCache::default(),
            agent_cache: AgentCache::default(),
            usage: Usage::default(),
            billing: Billing::default(),
            licensing: Licensing::default(),
            leases: Leases::default(),
            rate_limits: RateLimits::default(),
            guardrails: Guardrails::default(),
            in_flight: InFlight::default(),
            tools: {
                super::llm::ensure_tls();
                ToolRuntime::new(false)
            },
            sso,
            jobs: Arc::default(),
            local_model: LocalModel::new(),
            vectors: tokio::sync::OnceCell::new(),
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

    /// When this instance started (wall clock).
    pub fn started_at_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.started_at_utc
    }

    /// One pooled client per provider.
    pub fn provider_clients(&self) -> &ClientCache {
        &self.0.provider_clients
    }

    /// Agents recently resolved by the OpenAI-compatible API.
    pub fn agent_cache(&self) -> &AgentCache {
        &self.0.agent_cache
    }

    /// The usage-record writer and quota counters.
    /// This instance's side of the background jobs (`services::jobs`).
    /// The built-in embedding model (loaded on first use).
    pub fn local_model(&self) -> &LocalModel {
        &self.0.local_model
    }

    /// The vector store at `vectors_uri`, opened on first use (an instance without knowledge
    /// never opens it).
    pub async fn vectors(&self) -> crate::Result<&aerie_vectors::Store> {
        self.0
            .vectors
            .get_or_try_init(|| async {
                aerie_vectors::Store::open(&self.0.config.vectors_uri())
                    .await
                    .map_err(|e| {
                        crate::Error::Internal(anyhow::anyhow!("opening the vector store: {e}"))
                    })
            })
            .await
    }

    pub fn jobs(&self) -> &Arc<JobsRuntime> {
        &self.0.jobs
    }

    pub fn usage(&self) -> &Usage {
        &self.0.usage
    }

    /// Cached plans, terms and prices of the credit meter.
    pub fn billing(&self) -> &Billing {
        &self.0.billing
    }

    /// The licence's verifying key and the cached licence.
    pub fn licensing(&self) -> &Licensing {
        &self.0.licensing
    }

    /// The rate limits' Redis connection.
    /// This instance's blocks of credits and rate-limit requests (docs/BILLING.md "Leases").
    pub fn leases(&self) -> &Leases {
        &self.0.leases
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.0.rate_limits
    }

    /// Chat turns running on this instance.
    pub fn guardrails(&self) -> &Guardrails {
        &self.0.guardrails
    }

    pub fn in_flight(&self) -> &InFlight {
        &self.0.in_flight
    }

    /// The agents' built-in tools (HTTP behind the SSRF guard).
    pub fn tools(&self) -> &ToolRuntime {
        &self.0.tools
    }

    /// Single sign-on: the identity providers' HTTP client, JWKS cache and SAML keys.
    pub fn sso(&self) -> &SsoRuntime {
        &self.0.sso
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

/// Router state: Leptos' options for SSR, and the service context for everything else. axum
/// clones it for every request, so both parts are behind an `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: Arc<LeptosOptions>,
    pub ctx: AppContext,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        (*state.leptos_options).clone()
    }
}

impl FromRef<AppState> for AppContext {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.clone()
    }
}
