//! tower-sessions' store over Aerie's database (SQLite or PostgreSQL), so every instance shares
//! browser sessions. Records are JSON; expired ones are never returned and are purged.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::service::SignedCookie;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

use super::AppContext;
use super::store;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, sea_orm::DbErr> {
        store::sessions::purge_expired(&self.db, Utc::now()).await
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn expiry(record: &Record) -> Result<DateTime<Utc>, session_store::Error> {
    DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0)
        .ok_or_else(|| session_store::Error::Encode("session expiry out of range".to_owned()))
}

/// A record as stored: its JSON and its expiry.
fn encoded(record: &Record) -> Result<(String, DateTime<Utc>), session_store::Error> {
    Ok((
        serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expiry(record)?,
    ))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A 128-bit random id practically never collides; if it does, draw another.
        for _ in 0..3 {
            let (data, expires_at) = encoded(record)?;
            let inserted =
                store::sessions::insert_new(&self.db, record.id.to_string(), data, expires_at)
                    .await
                    .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, expires_at) = encoded(record)?;
        store::sessions::upsert(&self.db, record.id.to_string(), data, expires_at)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let found = store::sessions::find_live(&self.db, id.to_string(), Utc::now())
            .await
            .map_err(backend)?;
        found
            .map(|data| {
                serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))
            })
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        store::sessions::delete(&self.db, id.to_string())
            .await
            .map_err(backend)
    }
}

/// The name of the session cookie.
pub const COOKIE: &str = "aerie_session";

/// The session layer: cookie [`COOKIE`], HttpOnly, SameSite=Lax, Secure when the public URL
/// is https, signed with the instance's session key, expiring after 7 days of inactivity.
pub fn layer(ctx: &AppContext) -> SessionManagerLayer<DbSessionStore, SignedCookie> {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha512};
    // cookie::Key wants 64 bytes of key material: a SHA-512 of the instance's session secret.
    let material = Sha512::digest(ctx.secrets().session_key.expose_secret().as_bytes());
    SessionManagerLayer::new(DbSessionStore::new(ctx.db().clone()))
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(ctx.config().public_url().starts_with("https://"))
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
        .with_signed(Key::from(&material[..]))
}
