//! Database connection and migrations, for `sqlite://` and `postgres://` alike.

use std::time::Duration;

use aerie_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database};
pub use sea_orm::{DatabaseConnection, DbErr};

pub mod entities;

use super::config::{Config, DbKind};

/// Opens a pool for the configured database. SQLite gets WAL, a busy timeout and foreign keys,
/// so concurrent writers wait instead of failing with `SQLITE_BUSY`.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url();
    let kind = config.db_kind().map_err(|e| DbErr::Custom(e.0))?;
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if kind == DbKind::Postgres {
        // A pool only reports "timed out" when the server is unreachable; one direct connection
        // first surfaces the real cause (refused, unknown host, authentication, missing database).
        let probe = tokio::time::timeout(
            Duration::from_secs(5),
            <PgConnection as sea_orm::sqlx::Connection>::connect(&url),
        )
        .await
        .map_err(|_| DbErr::Custom("no answer within 5 seconds".to_owned()))?
        .map_err(|e| DbErr::Custom(e.to_string()))?;
        let _ = sea_orm::sqlx::Connection::close(probe).await;
    }
    if kind == DbKind::Sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    Database::connect(options).await
}

/// Applies every pending migration; returns how many ran.
pub async fn migrate(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let pending = Migrator::get_pending_migrations(db).await?.len();
    if pending > 0 {
        Migrator::up(db, None).await?;
    }
    Ok(pending)
}

/// Names of migrations not yet applied.
pub async fn pending(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// Names of every migration this binary knows, in order.
pub fn known() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// Starts a transaction that will write after reading. On SQLite it takes the write lock up
/// front (`BEGIN IMMEDIATE`), so concurrent writers wait (busy timeout) instead of failing with
/// `SQLITE_BUSY` when a deferred transaction tries to upgrade; PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
