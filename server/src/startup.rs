//! Building and running a server: data folder, secrets, database, migrations, listener, router.
//! Every failure here becomes one line for the operator ([`StartupError`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aerie_backend::config::{Config, ConfigError, DbKind};
use aerie_backend::db::{DatabaseConnection, DbErr};
use aerie_backend::secrets::Secrets;
use aerie_backend::services::maintenance;
use aerie_backend::{AppContext, AppState, db};
use axum::serve::ListenerExt;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

/// Why the server could not start (or a command could not run).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database {url}: {cause}")]
    Database { url: String, cause: String },
    #[error("database migration failed: {0}")]
    Migration(DbErr),
    #[error(
        "the database has {0} pending migration(s); run `aerie migrate` first (or set AERIE_AUTO_MIGRATE=true)"
    )]
    PendingMigrations(usize),
    #[error("cannot listen on {addr}: {cause}")]
    Listen { addr: SocketAddr, cause: String },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// The command exists but its domain has not landed yet.
    #[error("{0}")]
    Unavailable(String),
    /// A command was refused by the service layer (the contract's sentence).
    #[error("{0}")]
    Refused(String),
}

impl From<aerie_backend::Error> for StartupError {
    fn from(e: aerie_backend::Error) -> Self {
        let body = aerie_contract::ErrorBody::from(e);
        StartupError::Refused(body.detail)
    }
}

impl From<ConfigError> for StartupError {
    fn from(e: ConfigError) -> Self {
        StartupError::Config(e.0)
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

/// Creates the data folder (0700) and the vector store folder inside it.
pub fn prepare_data_dir(config: &Config) -> Result<(), StartupError> {
    let fail = |path: &Path, e: std::io::Error| {
        StartupError::Config(format!("cannot create data folder {}: {e}", path.display()))
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(&config.data_dir)
        .map_err(|e| fail(&config.data_dir, e))?;
    // A folder unless it is an object-store URI (`s3://…`); LanceDB creates its tables inside.
    let vectors = config.vectors_uri();
    if !vectors.contains("://") {
        let vectors = std::path::PathBuf::from(vectors);
        builder.create(&vectors).map_err(|e| fail(&vectors, e))?;
    }
    Ok(())
}

/// Connects to the configured database, with a clear error when it is unreachable.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, StartupError> {
    db::connect(config)
        .await
        .map_err(|e| StartupError::Database {
            url: redact_url(&config.database_url()),
            cause: one_line(&e.to_string()),
        })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Leptos' options, from Aerie's configuration (no cargo-leptos environment needed at run time).
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("aerie")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(leptos::config::Env::PROD)
        .build()
}

/// Everything up to, but not including, the listener: the state a router needs.
pub async fn build_state(config: Config, dev_mode: bool) -> Result<AppState, StartupError> {
    prepare_data_dir(&config)?;
    let conn = connect(&config).await?;
    if config.auto_migrate() {
        let applied = db::migrate(&conn).await.map_err(StartupError::Migration)?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
    } else {
        let pending = db::pending(&conn).await.map_err(StartupError::Migration)?;
        if !pending.is_empty() {
            return Err(StartupError::PendingMigrations(pending.len()));
        }
    }
    let (secrets, created) = Secrets::load_or_create(&config.data_dir)?;
    if created {
        tracing::info!(
            path = %aerie_backend::secrets::path(&config.data_dir).display(),
            "generated instance secrets (kept with mode 0600)"
        );
    }
    if config.db_kind()? == DbKind::Postgres {
        tracing::info!(database = %redact_url(&config.database_url()), "using PostgreSQL");
    }
    let leptos_options = leptos_options(&config);
    let ctx = AppContext::new(conn, config, secrets, dev_mode);
    Ok(AppState {
        leptos_options: std::sync::Arc::new(leptos_options),
        ctx,
    })
}

/// A built server, bound to its address, ready to run.
pub struct Server {
    state: AppState,
    listener: TcpListener,
    router: axum::Router,
}

impl Server {
    /// Builds the state, binds the listener and assembles the router.
    pub async fn build(config: Config, dev_mode: bool) -> Result<Self, StartupError> {
        Self::build_with(config, dev_mode, axum::Router::new()).await
    }

    /// As [`Server::build`], merging `extra` routes (used by tests).
    pub async fn build_with(
        mut config: Config,
        dev_mode: bool,
        extra: axum::Router<AppState>,
    ) -> Result<Self, StartupError> {
        let addr = config.listen;
        // Bind first: a port in use should fail before any other work.
        let listener = TcpListener::bind(addr).await.map_err(|e| StartupError::Listen {
            addr,
            cause: match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "the address is already in use (another program holds this port; choose another with --listen or AERIE_LISTEN)".to_owned()
                }
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied (ports below 1024 need privileges; choose another with --listen or AERIE_LISTEN)".to_owned()
                }
                _ => e.to_string(),
            },
        })?;
        // With port 0 the real port is known only now: links, cookies and SSO callbacks need it.
        if config.public_url.is_empty()
            && addr.port() == 0
            && let Ok(bound) = listener.local_addr()
        {
            config.public_url = format!("http://{bound}");
        }
        let state = build_state(config, dev_mode).await?;
        let router = crate::router::build_router_with(state.clone(), extra);
        Ok(Self {
            state,
            listener,
            router,
        })
    }

    pub fn ctx(&self) -> &AppContext {
        &self.state.ctx
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        self.listener.local_addr().map_err(StartupError::Serve)
    }

    /// The URL to print.
    pub fn url(&self) -> String {
        let config = self.state.ctx.config();
        if config.public_url.is_empty() {
            match self.listener.local_addr() {
                Ok(addr) => format!("http://{addr}"),
                Err(_) => config.public_url(),
            }
        } else {
            config.public_url()
        }
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// within `shutdown_grace_secs`, and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let grace = Duration::from_secs(self.state.ctx.config().shutdown_grace_secs);
        let (started_tx, mut started_rx) = tokio::sync::watch::channel(false);
        let listener = self.listener.tap_io(|tcp| {
            // Small writes (SSE frames, keep-alive responses) must not wait for delayed ACKs.
            let _ = tcp.set_nodelay(true);
        });
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let turns = self.state.ctx.clone();
        let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            // Open chat streams would hold shutdown up: end them (each stores its answer).
            turns.in_flight().cancel_all();
            tracing::info!("shutdown requested: no new connections; finishing in-flight requests");
            let _ = started_tx.send(true);
        });
        let deadline = async move {
            while !*started_rx.borrow_and_update() {
                if started_rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(grace).await;
        };
        // AERIE_* single sign-on settings (single-organisation installs); may need the network.
        {
            let ctx = self.state.ctx.clone();
            tokio::spawn(async move {
                if let Err(e) = aerie_backend::services::sso::apply_configured(&ctx).await {
                    e.log();
                }
            });
        }
        let housekeeping = {
            let ctx = self.state.ctx.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(maintenance::EVERY);
                loop {
                    every.tick().await;
                    if let Err(e) = maintenance::run_once(&ctx).await {
                        e.log();
                    }
                }
            })
        };
        let jobs = aerie_backend::services::jobs::start(&self.state.ctx);
        let outcome = tokio::select! {
            result = serve => result.map_err(StartupError::Serve),
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; closing them");
                Ok(())
            }
        };
        housekeeping.abort();
        jobs.stop(Duration::from_secs(10)).await;
        // This instance's unwritten charges and rate-limit tokens, and its unspent blocks of
        // credits, go back to the database (docs/BILLING.md "Leases").
        aerie_backend::services::leases::flush(&self.state.ctx, true).await;
        aerie_backend::services::usage::flush(&self.state.ctx).await;
        let db = self.state.ctx.db().clone();
        drop(self.state);
        if let Err(e) = db.close().await {
            tracing::warn!(error = %e, "closing the database");
        }
        tracing::info!("Aerie stopped");
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://aerie:s3cret@db:5432/aerie"),
            "postgres://aerie:***@db:5432/aerie"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite://data/aerie.db?mode=rwc"),
            "sqlite://data/aerie.db?mode=rwc"
        );
    }
}
