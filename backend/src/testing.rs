//! Test support (the `test-support` feature, never in the release binary): per-test databases —
//! a fresh SQLite file in a temporary folder, or a fresh PostgreSQL database on the server of
//! `AERIE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the
//! test ends, never assuming an empty server — and the internals tests seed and inspect.

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, Database, DbErr};

use super::config::{Config, DbKind};

/// The PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("AERIE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database (and data folder) owned by one test.
pub struct TestDb {
    pub kind: DbKind,
    pub url: String,
    dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// Creates an empty database of `kind`. Migrations are not applied.
    pub async fn new(kind: DbKind) -> Result<Self, DbErr> {
        let dir = tempfile::Builder::new()
            .prefix("aerie-test-")
            .tempdir()
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        match kind {
            DbKind::Sqlite => Ok(Self {
                kind,
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("aerie.db").display()
                ),
                dir,
                pg_name: None,
            }),
            DbKind::Postgres => {
                let name = format!("aerie_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(pg_admin_url()).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                let base = pg_admin_url();
                let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
                Ok(Self {
                    kind,
                    url: format!("{server}/{name}"),
                    dir,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// The data folder of this test.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A configuration pointing at this database and data folder.
    pub fn config(&self) -> Config {
        Config {
            data_dir: PathBuf::from(self.dir.path()),
            database_url: self.url.clone(),
            auto_migrate: Some(true),
            db_max_connections: 4,
            ..Config::default()
        }
    }

    /// Name of the PostgreSQL database, if any.
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    /// Terminates every connection to the PostgreSQL database and drops it.
    pub async fn drop_pg_database(name: &str) -> Result<(), DbErr> {
        let admin = Database::connect(pg_admin_url()).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        admin.close().await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async context; a short-lived runtime on its own thread does it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    let _ = rt.block_on(TestDb::drop_pg_database(&name));
                }
            })
            .join();
        }
    }
}

/// The store and the generated entities, for tests that seed rows or read what a request
/// wrote. Surfaces cannot reach them: this module exists only with `test-support`.
pub use crate::db::entities;
pub use crate::store;

/// The SAML protocol module and its message crafter (signing through the `xmlsec1` command).
#[cfg(feature = "saml")]
pub use crate::sso::saml;
