//! Test support (the `test-support` feature, never in the release binary): per-test databases —
//! a fresh SQLite file in a temporary folder, or a fresh PostgreSQL database on the server of
//! `AERIE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the
//! test ends, never assuming an empty server — and the internals tests seed and inspect.

use std::path::{Path, PathBuf};

use sea_orm::sqlx::Connection;
use sea_orm::sqlx::postgres::PgConnection;
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

fn custom(e: impl ToString) -> DbErr {
    DbErr::Custom(e.to_string())
}

impl TestDb {
    /// Creates an empty database of `kind`. Migrations are not applied.
    pub async fn new(kind: DbKind) -> Result<Self, DbErr> {
        Self::create(kind, None).await
    }

    /// A database of `kind` with every migration applied, cloned from a template that the
    /// first test of this build migrated (PostgreSQL `CREATE DATABASE … TEMPLATE`, a file copy
    /// for SQLite): migrating from scratch for each test cost more than the test itself.
    pub async fn migrated(kind: DbKind) -> Result<Self, DbErr> {
        let template = template::ensure(kind).await?;
        match Self::create(kind, Some(&template)).await {
            // Dropped since (only ever by a run of another build, once the template is old).
            Err(e) if e.to_string().contains("does not exist") => {
                let template = template::ensure(kind).await?;
                Self::create(kind, Some(&template)).await
            }
            other => other,
        }
    }

    async fn create(kind: DbKind, template: Option<&str>) -> Result<Self, DbErr> {
        let dir = tempfile::Builder::new()
            .prefix("aerie-test-")
            .tempdir()
            .map_err(custom)?;
        match kind {
            DbKind::Sqlite => {
                let file = dir.path().join("aerie.db");
                if let Some(template) = template {
                    std::fs::copy(template, &file).map_err(custom)?;
                }
                Ok(Self {
                    kind,
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    dir,
                    pg_name: None,
                })
            }
            DbKind::Postgres => {
                let name = format!("aerie_test_{}", uuid::Uuid::new_v4().simple());
                template::create_pg(&name, template).await?;
                Ok(Self {
                    kind,
                    url: pg_url(&name),
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

/// The URL of database `name` on the test server.
fn pg_url(name: &str) -> String {
    let base = pg_admin_url();
    let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
    format!("{server}/{name}")
}

/// One migrated template per engine and per build of the test binary, shared by every test
/// process of that build (nextest runs each test in its own process).
mod template {
    use std::time::Duration;

    use sha2::{Digest, Sha256};

    use sea_orm::sqlx::AssertSqlSafe;

    use super::*;
    use crate::db;

    /// Names this build's templates: the migrations it knows and the test executable itself
    /// (a rebuilt binary may carry an edited migration under an old name).
    fn key() -> String {
        let mut hash = Sha256::new();
        for name in db::known() {
            hash.update(name.as_bytes());
            hash.update([0]);
        }
        if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
            hash.update(format!("{:?}:{}", meta.modified().ok(), meta.len()).as_bytes());
        }
        let digest = hash.finalize();
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The template of `kind`, built if this is the first test of the build to need it:
    /// a file path for SQLite, a database name for PostgreSQL.
    pub(super) async fn ensure(kind: DbKind) -> Result<String, DbErr> {
        match kind {
            DbKind::Sqlite => sqlite().await,
            DbKind::Postgres => postgres().await,
        }
    }

    /// A migrated SQLite file in the temporary folder, built under a unique name and renamed
    /// into place (two processes racing both build one; the rename keeps either, both whole).
    async fn sqlite() -> Result<String, DbErr> {
        let folder = std::env::temp_dir().join("aerie-test-templates");
        std::fs::create_dir_all(&folder).map_err(custom)?;
        let path = folder.join(format!("{}.db", key()));
        if path.exists() {
            return Ok(path.display().to_string());
        }
        remove_stale_files(&folder);
        let scratch = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&folder)
            .map_err(custom)?;
        let file = scratch.path().join("aerie.db");
        let config = Config {
            database_url: format!("sqlite://{}?mode=rwc", file.display()),
            db_max_connections: 1,
            ..Config::default()
        };
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        // Everything into the main file, so that a copy of that one file is the database.
        conn.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
        conn.execute_unprepared("PRAGMA journal_mode = DELETE")
            .await?;
        conn.close().await?;
        std::fs::rename(&file, &path).map_err(custom)?;
        Ok(path.display().to_string())
    }

    /// Templates of earlier builds, older than a day.
    fn remove_stale_files(folder: &Path) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(86_400));
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// A migrated database marked as a template. Built under an advisory lock held by one
    /// connection, so concurrent test processes wait for the first instead of racing it.
    async fn postgres() -> Result<String, DbErr> {
        const LOCK: i64 = 0x6165_7269_6574_706c; // "aerietpl"
        let name = format!("aerie_tpl_{}", key());
        let mut admin = PgConnection::connect(&pg_admin_url())
            .await
            .map_err(custom)?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK)
            .execute(&mut admin)
            .await
            .map_err(custom)?;
        let built = build_pg_template(&mut admin, &name).await;
        let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK)
            .execute(&mut admin)
            .await;
        let _ = admin.close().await;
        built?;
        unlocked.map_err(custom)?;
        Ok(name)
    }

    async fn build_pg_template(admin: &mut PgConnection, name: &str) -> Result<(), DbErr> {
        let exists: Option<(bool,)> =
            sea_orm::sqlx::query_as("SELECT datistemplate FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut *admin)
                .await
                .map_err(custom)?;
        if exists == Some((true,)) {
            return Ok(());
        }
        drop_stale_pg_templates(admin, name).await;
        sea_orm::sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut *admin)
        .await
        .map_err(custom)?;
        sea_orm::sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut *admin)
            .await
            .map_err(custom)?;
        let conn = Database::connect(pg_url(name)).await?;
        let migrated = db::migrate(&conn).await;
        conn.close().await?;
        migrated?;
        // When it was built: other builds' test runs drop it only once it is old.
        sea_orm::sqlx::raw_sql(AssertSqlSafe(format!(
            "COMMENT ON DATABASE \"{name}\" IS '{}'",
            chrono::Utc::now().timestamp()
        )))
        .execute(&mut *admin)
        .await
        .map_err(custom)?;
        sea_orm::sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true"
        )))
        .execute(&mut *admin)
        .await
        .map_err(custom)?;
        Ok(())
    }

    /// Templates of other builds more than six hours old: a test run of another build (another
    /// worktree, say) may still be cloning from a younger one.
    async fn drop_stale_pg_templates(admin: &mut PgConnection, keep: &str) {
        let cutoff = chrono::Utc::now().timestamp() - 6 * 3600;
        let names: Vec<(String,)> = sea_orm::sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'aerie\\_tpl\\_%' AND datname <> $1 \
             AND CASE WHEN shobj_description(oid, 'pg_database') ~ '^[0-9]+$' \
             THEN shobj_description(oid, 'pg_database')::bigint ELSE 0 END < $2",
        )
        .bind(keep)
        .bind(cutoff)
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
        for (old,) in names {
            // DROP DATABASE cannot share a (implicit) transaction: two statements.
            for sql in [
                format!("ALTER DATABASE \"{old}\" WITH IS_TEMPLATE false"),
                format!("DROP DATABASE \"{old}\""),
            ] {
                // Names come from pg_database and match `aerie_tpl_<hex>`.
                let _ = sea_orm::sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut *admin)
                    .await;
            }
        }
    }

    /// Creates database `name`, empty or as a copy of `template`. PostgreSQL refuses to copy a
    /// template while another session is connected to it, so that case is retried briefly.
    pub(super) async fn create_pg(name: &str, template: Option<&str>) -> Result<(), DbErr> {
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        let admin = Database::connect(pg_admin_url()).await?;
        let mut attempt = 0;
        let result = loop {
            match admin.execute_unprepared(&sql).await {
                Err(e) if attempt < 50 && e.to_string().contains("accessed by other users") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other.map(|_| ()),
            }
        };
        admin.close().await?;
        result
    }
}
