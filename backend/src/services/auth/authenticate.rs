//! Turns a request's credentials into an [`Actor`]: `Authorization: Bearer <JWT>`,
//! `Authorization: Bearer <API key>` or `X-API-Key: <API key>`. Invalid credentials do not fail
//! here: they become `Identity::Rejected`, and endpoints that need a user answer the 401 that
//! explains it (public endpoints do not care).

use aerie_contract::UserStatus;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::jwt;
use crate::actor::{Actor, Credential, Identity, KeyLimits, Principal};
use crate::store::{self, utc};
use crate::{AppContext, Result, crypto};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{ApiKeyId, OrgId, UserId};

/// `last_used_at` is written at most this often per key.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// How long a resolved API key is trusted without asking the database again. Changes made
/// through this instance (revoke, rotate, expiry, role or status) clear the cache once they are
/// committed; the TTL bounds how long another instance's change takes to be seen.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct CachedKey {
    secret_hash: String,
    expires_at: Option<chrono::DateTime<Utc>>,
    principal: Principal,
    at: Instant,
}

/// Recently resolved API keys, by public prefix. Every `clear` starts a new generation; a
/// resolution that read the database in an older generation is not cached, so a read that
/// raced with a change (read before its commit, stored after its `clear`) cannot bring the old
/// row back.
#[derive(Default)]
pub struct KeyCache(Mutex<KeyCacheInner>);

#[derive(Default)]
struct KeyCacheInner {
    generation: u64,
    keys: HashMap<String, CachedKey>,
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCacheInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, prefix: &str) -> Option<CachedKey> {
        self.lock()
            .keys
            .get(prefix)
            .filter(|k| k.at.elapsed() < KEY_CACHE_TTL)
            .cloned()
    }

    /// The current generation; take it before reading the database.
    fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches `key` unless the cache was cleared since `generation`.
    fn put(&self, prefix: &str, key: CachedKey, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.keys.len() > 50_000 {
            inner.keys.retain(|_, k| k.at.elapsed() < KEY_CACHE_TTL);
        }
        inner.keys.insert(prefix.to_owned(), key);
    }

    /// Forgets everything. Call it after a change to keys, roles or account status has been
    /// committed (before the commit, a concurrent request could cache the old row again).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.keys.clear();
    }
}

/// What the request presented.
#[derive(Default)]
pub struct Presented<'a> {
    /// The value after `Bearer ` in `Authorization`.
    pub bearer: Option<&'a str>,
    /// The `X-API-Key` header.
    pub api_key: Option<&'a str>,
    /// The browser session (cookie), when the session layer is in front.
    pub session: Option<&'a tower_sessions::Session>,
    /// The request carries the session cookie (`sessions::COOKIE`), whatever its value.
    pub session_cookie: bool,
    /// The request carries a token header with nothing in it (`X-API-Key:` or `Bearer` alone).
    pub blank_token: bool,
}

/// Who the request's credentials name.
///
/// One rule for more than one credential: a request that presents a bearer token or `X-API-Key`
/// together with another credential (the other header, or the session cookie) is authenticated
/// only if every one of them is valid and they name the same user in the same organisation; the
/// token then decides (the bearer before `X-API-Key`, never the cookie). Otherwise it is
/// `Identity::Rejected(ConflictingCredentials)`, which every route that needs a caller refuses
/// with 401 before its handler runs (`server/src/middleware/credentials.rs`). A session cookie
/// that names no live session, and a blank token header, count as invalid only beside a token:
/// without one, the cookie leaves the browser anonymous and the blank header is ignored, as
/// before.
pub async fn resolve(
    ctx: &AppContext,
    presented: Presented<'_>,
    ip: Option<IpAddr>,
) -> Result<Actor> {
    let tokens = usize::from(presented.bearer.is_some()) + usize::from(presented.api_key.is_some());
    let identity = if tokens == 0 {
        match presented.session {
            Some(session) => match by_session(ctx, session).await? {
                Some(identity) => identity,
                None if ctx.dev_mode() => dev_identity(ctx).await?,
                None => Identity::Anonymous,
            },
            None if ctx.dev_mode() => dev_identity(ctx).await?,
            None => Identity::Anonymous,
        }
    } else if tokens == 1 && !presented.session_cookie && !presented.blank_token {
        match (presented.bearer, presented.api_key) {
            (Some(token), _) => by_bearer(ctx, token).await?,
            (None, Some(key)) => by_api_key(ctx, key.trim()).await?,
            (None, None) => Identity::Anonymous,
        }
    } else {
        several(ctx, &presented).await?
    };
    Ok(Actor { identity, ip })
}

/// More than one credential: each must be valid, and all must name the same member.
async fn several(ctx: &AppContext, presented: &Presented<'_>) -> Result<Identity> {
    let mut identities = Vec::with_capacity(3);
    if let Some(token) = presented.bearer {
        identities.push(by_bearer(ctx, token).await?);
    }
    if let Some(key) = presented.api_key {
        identities.push(by_api_key(ctx, key.trim()).await?);
    }
    if presented.session_cookie {
        let session = match presented.session {
            Some(session) => by_session(ctx, session).await?,
            None => None,
        };
        // Unknown, expired, or the account's session was just flushed.
        identities.push(session.unwrap_or(Identity::Anonymous));
    }
    if presented.blank_token {
        identities.push(Identity::Anonymous);
    }
    let conflict = Identity::Rejected(ErrorCode::ConflictingCredentials);
    let mut principals = identities.iter().map(|identity| match identity {
        Identity::User(p) => Some(p),
        _ => None,
    });
    let Some(Some(first)) = principals.next() else {
        return Ok(conflict);
    };
    let agree = principals
        .all(|p| p.is_some_and(|p| p.user_id == first.user_id && p.org_id == first.org_id));
    Ok(if agree {
        Identity::User(first.clone())
    } else {
        conflict
    })
}

async fn by_bearer(ctx: &AppContext, token: &str) -> Result<Identity> {
    if jwt::looks_like_jwt(token) {
        by_jwt(ctx, token).await
    } else {
        by_api_key(ctx, token.trim()).await
    }
}

/// What a credential naming `user` of `org` is worth: their principal if they are an active
/// member of an organisation that is not suspended.
enum Standing {
    Member(Principal),
    /// The organisation is suspended: every credential of it is refused with 403 `AUTH-009`.
    Suspended,
    /// No such member, or the account is not active.
    Nobody,
}

async fn member(
    ctx: &AppContext,
    org: OrgId,
    user: UserId,
    credential: Credential,
) -> Result<Standing> {
    Ok(
        match store::users::find_member_standing(ctx.db(), org, user).await? {
            Some((u, _, _)) if u.status()? != UserStatus::Active => Standing::Nobody,
            Some((_, _, true)) => Standing::Suspended,
            Some((_, m, false)) => Standing::Member(super::principal_of(&m, credential)?),
            None => Standing::Nobody,
        },
    )
}

async fn by_session(
    ctx: &AppContext,
    session: &tower_sessions::Session,
) -> Result<Option<Identity>> {
    let Some(auth) = super::sessions::session_auth(session).await? else {
        return Ok(None);
    };
    Ok(Some(
        match member(ctx, auth.org_id, auth.user_id, Credential::Session).await? {
            Standing::Member(p) => Identity::User(p),
            // Refused while suspended; the session works again once the organisation resumes.
            Standing::Suspended => Identity::Rejected(ErrorCode::OrganizationSuspended),
            // The account was disabled or removed: the session is worthless.
            Standing::Nobody => {
                let _ = session.flush().await;
                Identity::Anonymous
            }
        },
    ))
}

async fn by_jwt(ctx: &AppContext, token: &str) -> Result<Identity> {
    let Some(claims) = jwt::verify(&ctx.secrets().jwt_signing_key, token) else {
        return Ok(Identity::Rejected(ErrorCode::TokenNotValid));
    };
    Ok(
        match member(ctx, OrgId(claims.org), UserId(claims.sub), Credential::Jwt).await? {
            Standing::Member(p) => Identity::User(p),
            Standing::Suspended => Identity::Rejected(ErrorCode::OrganizationSuspended),
            Standing::Nobody => Identity::Rejected(ErrorCode::TokenNotValid),
        },
    )
}

async fn by_api_key(ctx: &AppContext, key: &str) -> Result<Identity> {
    let rejected = Identity::Rejected(ErrorCode::InvalidApiKey);
    let Some(prefix) = crypto::api_key_prefix(key) else {
        return Ok(rejected);
    };
    let presented = crypto::keyed_hash(&ctx.secrets().token_pepper, key);
    let now = Utc::now();
    let cached = match ctx.key_cache().get(prefix) {
        Some(hit) => hit,
        None => {
            let generation = ctx.key_cache().generation();
            let Some(row) = store::api_keys::find_by_prefix_global(ctx.db(), prefix).await? else {
                return Ok(rejected);
            };
            // The secret first: a caller who knows only a prefix learns nothing of its key.
            if row.revoked_at.is_some() || !crypto::hashes_match(&presented, &row.secret_hash) {
                return Ok(rejected);
            }
            let (org, id) = (OrgId(row.org_id), ApiKeyId(row.id));
            let principal =
                match member(ctx, org, UserId(row.user_id), Credential::ApiKey(id)).await? {
                    Standing::Member(p) => Principal {
                        key_limits: KeyLimits {
                            requests_per_minute: row.requests_per_minute,
                            tokens_per_minute: row.tokens_per_minute,
                        },
                        ..p
                    },
                    Standing::Suspended => {
                        return Ok(Identity::Rejected(ErrorCode::OrganizationSuspended));
                    }
                    Standing::Nobody => return Ok(rejected),
                };
            let entry = CachedKey {
                secret_hash: row.secret_hash,
                expires_at: row.expires_at.map(utc),
                principal,
                at: Instant::now(),
            };
            ctx.key_cache().put(prefix, entry.clone(), generation);
            entry
        }
    };
    if !crypto::hashes_match(&presented, &cached.secret_hash)
        || cached.expires_at.is_some_and(|t| t <= now)
    {
        return Ok(rejected);
    }
    let principal = cached.principal;
    if let Credential::ApiKey(id) = principal.credential
        && should_touch(id)
    {
        store::api_keys::touch(ctx.db(), principal.org_id, id, now).await?;
    }
    Ok(Identity::User(principal))
}

/// Coalesces `last_used_at` writes: true at most once per key per [`TOUCH_EVERY`].
fn should_touch(id: ApiKeyId) -> bool {
    static LAST: LazyLock<Mutex<HashMap<ApiKeyId, Instant>>> = LazyLock::new(Default::default);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    match last.get(&id) {
        Some(t) if now.duration_since(*t) < TOUCH_EVERY => false,
        _ => {
            last.insert(id, now);
            true
        }
    }
}

/// `aerie dev`: the owner of the first organisation, once one exists.
async fn dev_identity(ctx: &AppContext) -> Result<Identity> {
    let Some(org) = store::orgs::first_global(ctx.db()).await? else {
        return Ok(Identity::Dev);
    };
    let org = OrgId(org.id);
    let Some(owner) = store::users::first_owner(ctx.db(), org).await? else {
        return Ok(Identity::Dev);
    };
    Ok(
        match member(ctx, org, UserId(owner.user_id), Credential::Dev).await? {
            Standing::Member(p) => Identity::User(p),
            Standing::Suspended | Standing::Nobody => Identity::Dev,
        },
    )
}
