//! Configuration: defaults, then an optional TOML file, then `AERIE_*` environment variables
//! (plus the conventional `DATABASE_URL` and `METRICS_BASIC_AUTH`). This is the only module that
//! reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use super::client_addr::TrustedProxies;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The database engine behind a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// Everything an operator can set. Field names are the TOML keys; the environment variable is
/// `AERIE_` + the upper-cased name (e.g. `AERIE_DATA_DIR`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Folder for the SQLite database, LanceDB vectors, generated secrets and uploads.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/aerie.db`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL users reach Aerie at (for links, cookies, OAuth/SAML); defaults to `http://<listen>`.
    pub public_url: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `aerie=debug,tower_http=info`.
    pub log_level: String,
    /// `user:pass` to require HTTP basic auth on `/metrics`; empty leaves it open.
    pub metrics_basic_auth: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT, in seconds.
    pub shutdown_grace_secs: u64,
    /// Apply pending migrations at start-up. Unset: yes for SQLite, no for PostgreSQL (run `aerie migrate`).
    pub auto_migrate: Option<bool>,
    /// Largest number of pooled database connections.
    pub db_max_connections: u32,
    /// Folder holding the compiled web assets (`pkg/` with the wasm, JS and CSS).
    pub site_root: PathBuf,
    /// API key of an OpenAI-compatible provider offered to every organisation (single-user
    /// setups); empty: none.
    pub openai_api_key: Redacted,
    /// Base URL of that provider; empty: `https://api.openai.com/v1` when a key is set.
    pub openai_base_url: String,
    /// Comma-separated model ids of that provider; empty: discovered from its model list.
    pub openai_models: String,
    /// Let organisation admins point providers at private or loopback addresses (a local
    /// Ollama or vLLM needs it). Off by default: such URLs are refused (SSRF).
    pub allow_private_provider_urls: bool,
    /// Let organisation admins point single sign-on providers (OIDC issuers, SAML metadata) at
    /// private or loopback addresses (an in-house Keycloak needs it). Off by default (SSRF).
    pub allow_private_sso_urls: bool,
    /// Comma-separated networks (`10.0.5.0/24`) or addresses (`10.0.5.7`) that single sign-on
    /// may reach although they are private, when `allow_private_sso_urls` is off: the in-house
    /// identity provider and nothing else. Empty: none.
    pub allow_private_sso_networks: String,
    /// Days audit events are kept; housekeeping deletes older ones. 0 keeps them forever.
    pub audit_retention_days: u32,
    /// A cap on the tokens each organisation may use per billing period, on top of its plan's
    /// credits; 0 means no cap (the plan's credits govern, docs/BILLING.md).
    pub monthly_token_quota: i64,
    /// The output a model call is reserved for (and stopped at, when streamed) when neither
    /// the client nor the agent sets `max_tokens`.
    pub max_output_tokens: u64,
    /// Anyone may sign up and create a new organisation of their own, as its owner
    /// (`POST /auth/signup` with `new_organization`; docs/TENANTS.md). Off: only the operator
    /// creates organisations.
    pub org_signup: bool,
    /// The licensor's public key that licences are verified with (docs/LICENSING.md): an
    /// Ed25519 key as PEM text (`-----BEGIN PUBLIC KEY-----…`), or the path of a file holding
    /// it. Empty: licences cannot be applied and the instance runs the Community tier.
    pub license_public_key: String,
    /// The audience (`aud`) a licence must name to apply to this instance.
    pub license_audience: String,
    /// The issuer (`iss`) a licence must name; empty accepts any issuer the key signed for.
    pub license_issuer: String,
    /// Single sign-on providers for a single-organisation install, applied to that organisation
    /// at start-up and after first-run setup (each is skipped unless its client id, issuer or
    /// metadata URL is set). Google:
    pub google_client_id: String,
    pub google_client_secret: Redacted,
    /// Microsoft Entra ID (`tenant`: a tenant id or domain, `organizations` or `common`).
    pub microsoft_client_id: String,
    pub microsoft_client_secret: Redacted,
    pub microsoft_tenant: String,
    /// GitHub (OAuth app).
    pub github_client_id: String,
    pub github_client_secret: Redacted,
    /// Nextcloud (its base URL, and an OAuth 2 client made in its admin settings).
    pub nextcloud_url: String,
    pub nextcloud_client_id: String,
    pub nextcloud_client_secret: Redacted,
    /// Any OpenID Connect provider (Keycloak, Okta, Authentik…) by issuer URL.
    pub oidc_issuer: String,
    pub oidc_client_id: String,
    pub oidc_client_secret: Redacted,
    /// The login button's label of that provider (default "Single sign-on").
    pub oidc_name: String,
    /// A SAML 2.0 IdP by its metadata URL.
    pub saml_metadata_url: String,
    /// Reverse proxies in front of Aerie (CIDRs or addresses). A request from one of them is
    /// attributed to the right-most `X-Forwarded-For` hop that is not one of them (rate limits,
    /// audit); empty: the TCP peer is the client and `X-Forwarded-For` is ignored.
    pub trusted_proxies: TrustedProxies,
    /// `redis://[user:password@]host[:port][/db]` of a Redis that `/api/health/redis` checks;
    /// empty: none (the check answers `not_configured`).
    pub redis_url: Redacted,
    /// Folder of the built-in embedding model (all-MiniLM-L6-v2 in the sentence-transformers
    /// layout: `config.json`, `tokenizer.json`, `model.safetensors`); empty:
    /// `<data_dir>/models/all-MiniLM-L6-v2`. Read on first use, never downloaded.
    pub embedding_model_dir: PathBuf,
    /// Where LanceDB keeps knowledge bases' chunks and vectors: a folder path or an object-store
    /// URI; empty: `<data_dir>/vectors`.
    pub vectors_uri: String,
    /// Largest file a knowledge base accepts, in bytes.
    pub upload_max_file_bytes: usize,
    /// Largest upload request (all its files), in bytes.
    pub upload_max_request_bytes: usize,
    /// How long a background job's claim lasts without a heartbeat, in seconds (at least 3): a
    /// job whose instance died is taken again this long after its last heartbeat.
    pub job_lease_secs: u64,
}

/// A configuration string that never shows in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[REDACTED]"
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: String::new(),
            log_format: LogFormat::Text,
            log_level: "info,sqlx=warn".to_owned(),
            metrics_basic_auth: String::new(),
            max_body_bytes: 10 * 1024 * 1024,
            shutdown_grace_secs: 15,
            auto_migrate: None,
            db_max_connections: 16,
            site_root: PathBuf::from("target/site"),
            openai_api_key: Redacted::default(),
            openai_base_url: String::new(),
            openai_models: String::new(),
            allow_private_provider_urls: false,
            allow_private_sso_urls: false,
            allow_private_sso_networks: String::new(),
            audit_retention_days: 400,
            monthly_token_quota: 0,
            max_output_tokens: 4096,
            org_signup: false,
            license_public_key: String::new(),
            license_audience: "aerie".to_owned(),
            license_issuer: String::new(),
            google_client_id: String::new(),
            google_client_secret: Redacted::default(),
            microsoft_client_id: String::new(),
            microsoft_client_secret: Redacted::default(),
            microsoft_tenant: String::new(),
            github_client_id: String::new(),
            github_client_secret: Redacted::default(),
            nextcloud_url: String::new(),
            nextcloud_client_id: String::new(),
            nextcloud_client_secret: Redacted::default(),
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_client_secret: Redacted::default(),
            oidc_name: String::new(),
            saml_metadata_url: String::new(),
            trusted_proxies: TrustedProxies::default(),
            redis_url: Redacted::default(),
            embedding_model_dir: PathBuf::new(),
            vectors_uri: String::new(),
            upload_max_file_bytes: 20 * 1024 * 1024,
            upload_max_request_bytes: 50 * 1024 * 1024,
            job_lease_secs: 30,
        }
    }
}

/// A start-up configuration problem, phrased for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads the configuration: defaults ← TOML file ← environment.
    ///
    /// The TOML file is `file` if given (it must exist), else `AERIE_CONFIG`, else
    /// `<data_dir>/aerie.toml` when present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::raw())
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let env_figment = || {
            Figment::new()
                .merge(env.clone().filter_map(|k| {
                    let k = k.as_str();
                    k.strip_prefix("AERIE_")
                        .or_else(|| k.strip_prefix("aerie_"))
                        .map(|rest| rest.to_ascii_lowercase().into())
                }))
                .merge(
                    env.clone()
                        .only(&["DATABASE_URL", "METRICS_BASIC_AUTH"])
                        .map(|k| k.as_str().to_ascii_lowercase().into()),
                )
        };
        let from_env: PartialPaths = env_figment().extract().map_err(describe)?;

        let file = match file.map(Path::to_path_buf).or(from_env.config) {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError(format!(
                        "configuration file {} does not exist",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => {
                let data_dir = from_env
                    .data_dir
                    .unwrap_or_else(|| Config::default().data_dir);
                Some(data_dir.join("aerie.toml")).filter(|p| p.is_file())
            }
        };

        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let mut config: Config = figment.merge(env_figment()).extract().map_err(describe)?;
        if config.site_root == Config::default().site_root
            && let Some(root) = env
                .clone()
                .only(&["LEPTOS_SITE_ROOT"])
                .iter()
                .next()
                .map(|(_, v)| v)
        {
            config.site_root = PathBuf::from(root);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks values serde cannot, so a bad setting ends start-up with one clear line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.db_kind()?;
        if !self.metrics_basic_auth.is_empty() {
            match self.metrics_basic_auth.split_once(':') {
                Some((user, pass)) if !user.is_empty() && !pass.is_empty() => {}
                _ => {
                    return Err(ConfigError(
                        "METRICS_BASIC_AUTH must look like user:password".to_owned(),
                    ));
                }
            }
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError(
                "AERIE_MAX_BODY_BYTES must be at least 1024".to_owned(),
            ));
        }
        if self.upload_max_file_bytes < 1024
            || self.upload_max_request_bytes < self.upload_max_file_bytes
        {
            return Err(ConfigError(
                "AERIE_UPLOAD_MAX_FILE_BYTES must be at least 1024 and AERIE_UPLOAD_MAX_REQUEST_BYTES at least as large".to_owned(),
            ));
        }
        if self.db_max_connections == 0 {
            return Err(ConfigError(
                "AERIE_DB_MAX_CONNECTIONS must be at least 1".to_owned(),
            ));
        }
        let url = &self.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError(
                "AERIE_PUBLIC_URL must start with http:// or https://".to_owned(),
            ));
        }
        let redis = &self.redis_url.0;
        if !(redis.is_empty()
            || ["redis://", "unix://", "redis+unix://"]
                .iter()
                .any(|scheme| redis.starts_with(scheme)))
        {
            return Err(ConfigError(
                "AERIE_REDIS_URL must start with redis:// or unix:// (TLS is not supported)"
                    .to_owned(),
            ));
        }
        if self.log_level.trim().is_empty() {
            return Err(ConfigError("AERIE_LOG_LEVEL must not be empty".to_owned()));
        }
        if let Err(e) = crate::net_guard::parse_networks(&self.allow_private_sso_networks) {
            return Err(ConfigError(format!(
                "AERIE_ALLOW_PRIVATE_SSO_NETWORKS: {e}"
            )));
        }
        Ok(())
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("aerie.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    pub fn db_kind(&self) -> Result<DbKind, ConfigError> {
        let url = self.database_url();
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbKind::Postgres)
        } else {
            Err(ConfigError(
                "DATABASE_URL must start with sqlite:// or postgres://".to_owned(),
            ))
        }
    }

    /// Whether start-up applies pending migrations.
    pub fn auto_migrate(&self) -> bool {
        self.auto_migrate
            .unwrap_or(matches!(self.db_kind(), Ok(DbKind::Sqlite)))
    }

    /// Where the built-in embedding model's files are.
    pub fn embedding_model_dir(&self) -> PathBuf {
        if self.embedding_model_dir.as_os_str().is_empty() {
            self.data_dir.join("models").join("all-MiniLM-L6-v2")
        } else {
            self.embedding_model_dir.clone()
        }
    }

    /// Where LanceDB keeps its tables.
    pub fn vectors_uri(&self) -> String {
        if self.vectors_uri.is_empty() {
            self.data_dir.join("vectors").to_string_lossy().into_owned()
        } else {
            self.vectors_uri.clone()
        }
    }

    /// The URL users reach this instance at.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }
}

/// The few settings needed before the file is read.
#[derive(Deserialize, Default)]
struct PartialPaths {
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
}

/// Figment errors name the key and where it came from; keep that, on one line.
fn describe(err: figment::Error) -> ConfigError {
    let mut parts = Vec::new();
    for e in err {
        let key = e.path.join(".");
        let source = e
            .metadata
            .as_ref()
            .and_then(|m| m.source.as_ref().map(|s| s.to_string()))
            .or_else(|| e.metadata.as_ref().map(|m| m.name.to_string()));
        let env_name = format!("AERIE_{}", key.to_ascii_uppercase());
        let mut line = if key.is_empty() {
            format!("invalid configuration: {}", e.kind)
        } else {
            format!("invalid setting `{key}` ({env_name}): {}", e.kind)
        };
        if let Some(source) = source {
            line.push_str(&format!(" [from {source}]"));
        }
        parts.push(line);
    }
    ConfigError(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| ConfigError(e.to_string()))?;
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.replace("$DIR", &dir.path().display().to_string()),
                )
            })
            .collect();
        temp_env(&vars, || Config::load_from(None, Env::raw()))
    }

    /// Figment's `Env` reads the real environment; tests run single-threaded per process
    /// section through this lock.
    fn temp_env<T>(vars: &[(String, String)], f: impl FnOnce() -> T) -> T {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let saved: Vec<(String, Option<String>)> = vars
            .iter()
            .map(|(k, _)| (k.clone(), std::env::var(k).ok()))
            .collect();
        for (k, v) in vars {
            // SAFETY: guarded by LOCK; config tests are the only writers of these variables.
            unsafe { std::env::set_var(k, v) };
        }
        let out = f();
        for (k, v) in saved {
            match v {
                // SAFETY: as above.
                Some(v) => unsafe { std::env::set_var(&k, v) },
                None => unsafe { std::env::remove_var(&k) },
            }
        }
        out
    }

    #[test]
    fn defaults_are_embedded_sqlite_on_loopback() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.db_kind().ok(), Some(DbKind::Sqlite));
        assert!(c.database_url().contains("data/aerie.db"));
        assert!(c.auto_migrate());
        assert_eq!(
            PathBuf::from(c.vectors_uri()),
            PathBuf::from("data").join("vectors")
        );
    }

    #[test]
    fn environment_overrides_and_bad_values_name_the_setting() {
        let ok = load(&[
            ("AERIE_LISTEN", "127.0.0.1:4100"),
            ("AERIE_LOG_FORMAT", "json"),
        ]);
        let ok = ok.map_err(|e| e.0);
        assert_eq!(ok.as_ref().map(|c| c.listen.port()), Ok(4100));
        assert_eq!(ok.as_ref().map(|c| c.log_format), Ok(LogFormat::Json));

        let bad = load(&[("AERIE_LISTEN", "not-an-address")])
            .err()
            .map(|e| e.0);
        let bad = bad.unwrap_or_default();
        assert!(
            bad.contains("listen") && bad.contains("AERIE_LISTEN"),
            "{bad}"
        );
        assert!(!bad.contains('\n'));

        let bad = load(&[("DATABASE_URL", "mysql://x")])
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(bad.contains("DATABASE_URL"), "{bad}");

        let bad = load(&[("METRICS_BASIC_AUTH", "nocolon")])
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(bad.contains("METRICS_BASIC_AUTH"), "{bad}");
    }

    #[test]
    fn toml_file_is_read_and_env_wins() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let file = dir.path().join("aerie.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:4200\"\nlog_level = \"debug\"\n",
        )
        .ok();
        let vars = vec![("AERIE_LOG_LEVEL".to_owned(), "warn".to_owned())];
        let c = temp_env(&vars, || Config::load_from(Some(&file), Env::raw())).map_err(|e| e.0);
        assert_eq!(c.as_ref().map(|c| c.listen.port()), Ok(4200));
        assert_eq!(
            c.as_ref().map(|c| c.log_level.clone()),
            Ok("warn".to_owned())
        );

        let missing = Config::load_from(Some(&dir.path().join("nope.toml")), Env::raw());
        assert!(missing.is_err());
    }

    #[test]
    fn trusted_proxies_come_from_a_list_or_one_string() {
        let c = load(&[("AERIE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]).map_err(|e| e.0);
        let c = c.unwrap_or_default();
        assert!(c.trusted_proxies.contains([10, 1, 2, 3].into()));
        assert!(c.trusted_proxies.contains([127, 0, 0, 1].into()));
        assert!(!c.trusted_proxies.contains([192, 0, 2, 1].into()));

        let bad = load(&[("AERIE_TRUSTED_PROXIES", "10.0.0.0/8,nginx")])
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(
            bad.contains("AERIE_TRUSTED_PROXIES") && bad.contains("nginx"),
            "{bad}"
        );

        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let file = dir.path().join("aerie.toml");
        std::fs::write(&file, "trusted_proxies = [\"fd00::/8\", \"192.0.2.1\"]\n").ok();
        let c = temp_env(&[], || Config::load_from(Some(&file), Env::raw())).map_err(|e| e.0);
        let c = c.unwrap_or_default();
        assert!(
            c.trusted_proxies
                .contains("fd00::1".parse().unwrap_or([0u8; 4].into()))
        );
        assert!(c.trusted_proxies.contains([192, 0, 2, 1].into()));
    }
}
