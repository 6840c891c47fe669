//! API keys: created (secret shown once), listed without secrets, expiry set or cleared,
//! rotated (new secret; the old one stops at once) and revoked. Stored as keyed hashes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use secrecy::ExposeSecret;

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Credential, Principal};
use crate::db::entities::api_keys;
use crate::db::entities::memberships;
use crate::services::auth::principal_of;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto};
use aerie_contract::api_keys::{ApiKey, ApiKeyWithSecret, NewApiKey, UpdateApiKey};
use aerie_contract::ids::{ApiKeyId, OrgId, UserId};
use aerie_contract::{ApiKeyStatus, UserStatus};

fn dto(row: &api_keys::Model) -> ApiKey {
    let status = if row.revoked_at.is_some() {
        ApiKeyStatus::Revoked
    } else if row.expires_at.is_some_and(|t| utc(t) <= Utc::now()) {
        ApiKeyStatus::Expired
    } else {
        ApiKeyStatus::Active
    };
    ApiKey {
        status,
        id: ApiKeyId(row.id),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        created_at: utc(row.created_at),
        last_used_at: row.last_used_at.map(utc),
        expires_at: row.expires_at.map(utc),
        revoked_at: row.revoked_at.map(utc),
        requests_per_minute: row.requests_per_minute,
        tokens_per_minute: row.tokens_per_minute,
    }
}

/// A key's own rate limits, checked: at least 1, and no higher than the plan's unless the
/// caller administers the organisation (a member's key cannot lift the plan's limit).
async fn checked_limits(
    ctx: &AppContext,
    p: &Principal,
    requests_per_minute: Option<i32>,
    tokens_per_minute: Option<i64>,
) -> Result<()> {
    if requests_per_minute.is_some_and(|n| n < 1) {
        return Err(Error::invalid(
            "requests_per_minute",
            "requests_per_minute must be at least 1 (leave it out for the plan's).",
        ));
    }
    if tokens_per_minute.is_some_and(|n| n < 1) {
        return Err(Error::invalid(
            "tokens_per_minute",
            "tokens_per_minute must be at least 1 (leave it out for the plan's).",
        ));
    }
    if p.role.is_admin() || (requests_per_minute.is_none() && tokens_per_minute.is_none()) {
        return Ok(());
    }
    let (plan_rpm, plan_tpm) = super::billing::rate_limits_of(ctx, p.org_id).await?;
    if let (Some(n), Some(plan)) = (requests_per_minute, plan_rpm)
        && n > plan
    {
        return Err(Error::invalid(
            "requests_per_minute",
            format!(
                "requests_per_minute cannot exceed the plan's {plan}; an admin can set a higher limit."
            ),
        ));
    }
    if let (Some(n), Some(plan)) = (tokens_per_minute, plan_tpm)
        && n > plan
    {
        return Err(Error::invalid(
            "tokens_per_minute",
            format!(
                "tokens_per_minute cannot exceed the plan's {plan}; an admin can set a higher limit."
            ),
        ));
    }
    Ok(())
}

/// Parses an expiry: RFC 3339, a date (the key works through that day, UTC), or a duration
/// from now (`30d`, `12h`, `45m`, `1h30m`; humantime's units). It must lie in the future and
/// within ten years. Every part is a real parser (chrono, humantime): no input panics.
pub fn parse_expiry(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let raw = raw.trim();
    let invalid = || {
        Error::invalid(
            "expires_at",
            "expires_at must be an RFC 3339 time, a date like 2027-01-31, or a duration like 30d, 12h or 45m.",
        )
    };
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        d.succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(invalid)?
    } else {
        let span = humantime::parse_duration(raw).map_err(|_| invalid())?;
        Duration::from_std(span)
            .ok()
            .and_then(|span| now.checked_add_signed(span))
            .ok_or_else(invalid)?
    };
    if at <= now {
        return Err(Error::invalid(
            "expires_at",
            "expires_at must be in the future.",
        ));
    }
    if at > now + Duration::days(3653) {
        return Err(Error::invalid(
            "expires_at",
            "expires_at must be within ten years.",
        ));
    }
    Ok(at)
}

async fn owned(ctx: &AppContext, p: &Principal, id: ApiKeyId) -> Result<api_keys::Model> {
    store::api_keys::find_owned(ctx.db(), p.org_id, p.user_id, id)
        .await?
        .ok_or(Error::NotFound)
}

/// Creates a key for the calling user; the answer carries the secret, once.
pub async fn create(ctx: &AppContext, actor: &Actor, input: NewApiKey) -> Result<ApiKeyWithSecret> {
    let p = actor.principal()?;
    let name = validate::name("name", &input.name, validate::NAME_MAX)?;
    let now = Utc::now();
    let expires_at = input
        .expires_at
        .as_deref()
        .map(|e| parse_expiry(e, now))
        .transpose()?;
    checked_limits(ctx, p, input.requests_per_minute, input.tokens_per_minute).await?;
    let parts = crypto::new_api_key();
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, parts.key.expose_secret());
    let row = store::api_keys::insert(
        ctx.db(),
        p.org_id,
        p.user_id,
        store::api_keys::NewKey {
            name: &name,
            prefix: &parts.prefix,
            secret_hash: &hash,
            expires_at,
            requests_per_minute: input.requests_per_minute,
            tokens_per_minute: input.tokens_per_minute,
        },
        now,
    )
    .await?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("api_key.created")
            .target("api_key", row.id)
            .details(
                serde_json::json!({ "name": name, "prefix": row.prefix, "expires_at": expires_at,
                    "requests_per_minute": row.requests_per_minute,
                    "tokens_per_minute": row.tokens_per_minute }),
            ),
    )
    .await?;
    Ok(ApiKeyWithSecret {
        api_key: dto(&row),
        key: parts.key.expose_secret().to_owned(),
    })
}

/// The calling user's keys, newest first; never a secret.
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<ApiKey>> {
    let p = actor.principal()?;
    let rows = store::api_keys::list_owned(ctx.db(), p.org_id, p.user_id).await?;
    Ok(rows.iter().map(dto).collect())
}

/// Changes a key: its expiry (`"expires_at": "..."` sets, `null` clears) and its own rate
/// limits (`null`: back to the plan's). Fields left out stay as they are.
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: ApiKeyId,
    input: UpdateApiKey,
) -> Result<ApiKey> {
    let p = actor.principal()?;
    if input == UpdateApiKey::default() {
        return Err(Error::invalid(
            "expires_at",
            "Send expires_at, requests_per_minute or tokens_per_minute (null clears each).",
        ));
    }
    let row = owned(ctx, p, id).await?;
    if row.revoked_at.is_some() {
        return Err(Error::state("id", "This key is revoked; create a new one."));
    }
    let expires_at = match &input.expires_at {
        Some(requested) => Some(
            requested
                .as_deref()
                .map(|e| parse_expiry(e, Utc::now()))
                .transpose()?,
        ),
        None => None,
    };
    checked_limits(
        ctx,
        p,
        input.requests_per_minute.flatten(),
        input.tokens_per_minute.flatten(),
    )
    .await?;
    let changes = store::api_keys::KeyChanges {
        expires_at,
        requests_per_minute: input.requests_per_minute,
        tokens_per_minute: input.tokens_per_minute,
    };
    let row = store::api_keys::apply(ctx.db(), p.org_id, row, changes).await?;
    // After the write: cleared before it, a concurrent request could cache the old row again.
    ctx.key_cache().clear();
    let mut details = serde_json::Map::new();
    if let Some(at) = expires_at {
        details.insert("expires_at".to_owned(), serde_json::json!(at));
    }
    if input.requests_per_minute.is_some() || input.tokens_per_minute.is_some() {
        details.insert(
            "requests_per_minute".to_owned(),
            serde_json::json!(row.requests_per_minute),
        );
        details.insert(
            "tokens_per_minute".to_owned(),
            serde_json::json!(row.tokens_per_minute),
        );
    }
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new(
            if input.requests_per_minute.is_some() || input.tokens_per_minute.is_some() {
                "api_key.limits_changed"
            } else {
                "api_key.expiry_changed"
            },
        )
        .target("api_key", row.id)
        .details(serde_json::Value::Object(details)),
    )
    .await?;
    Ok(dto(&row))
}

/// Replaces a key's secret (and prefix); the old key stops working at once.
pub async fn rotate(ctx: &AppContext, actor: &Actor, id: ApiKeyId) -> Result<ApiKeyWithSecret> {
    let p = actor.principal()?;
    let row = owned(ctx, p, id).await?;
    if row.revoked_at.is_some() {
        return Err(Error::state("id", "This key is revoked; create a new one."));
    }
    let parts = crypto::new_api_key();
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, parts.key.expose_secret());
    let old_prefix = row.prefix.clone();
    let prefix = parts.prefix.clone();
    let row = store::api_keys::replace_secret(ctx.db(), p.org_id, row, prefix, hash).await?;
    ctx.key_cache().clear();
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("api_key.rotated")
            .target("api_key", row.id)
            .details(serde_json::json!({ "old_prefix": old_prefix, "prefix": row.prefix })),
    )
    .await?;
    Ok(ApiKeyWithSecret {
        api_key: dto(&row),
        key: parts.key.expose_secret().to_owned(),
    })
}

/// Revokes a key; it stops working at once. Revoking twice is harmless.
pub async fn revoke(ctx: &AppContext, actor: &Actor, id: ApiKeyId) -> Result<ApiKey> {
    let p = actor.principal()?;
    let row = owned(ctx, p, id).await?;
    if row.revoked_at.is_some() {
        return Ok(dto(&row));
    }
    let now = Utc::now();
    let row = store::api_keys::revoke(ctx.db(), p.org_id, row, now).await?;
    ctx.key_cache().clear();
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("api_key.revoked").target("api_key", row.id),
    )
    .await?;
    Ok(dto(&row))
}

/// The operator's view for `aerie keys …`: acts as the key's owner, from the server's shell.
pub mod cli {
    use super::*;

    /// The user with this email, acting in their first organisation through the CLI.
    pub async fn actor_for_email(ctx: &AppContext, email: &str) -> Result<Actor> {
        let email = validate::email(email)?;
        let user = store::users::find_by_email_global(ctx.db(), &email)
            .await?
            .filter(|u| u.status() == Ok(UserStatus::Active))
            .ok_or_else(|| {
                Error::invalid("user", format!("No active user has the email {email}."))
            })?;
        let m = store::users::first_membership_global(ctx.db(), UserId(user.id))
            .await?
            .ok_or_else(|| {
                Error::invalid("user", format!("{email} belongs to no organisation."))
            })?;
        cli_actor(&m)
    }

    fn cli_actor(membership: &memberships::Model) -> Result<Actor> {
        Ok(Actor::user(
            principal_of(membership, Credential::Cli)?,
            None,
        ))
    }

    /// Every key of the instance's first organisation, or of one user.
    pub async fn list(ctx: &AppContext, user_email: Option<&str>) -> Result<Vec<ApiKey>> {
        if let Some(email) = user_email {
            return super::list(ctx, &actor_for_email(ctx, email).await?).await;
        }
        let Some(org) = store::orgs::first_global(ctx.db()).await? else {
            return Ok(Vec::new());
        };
        let rows = store::api_keys::list(ctx.db(), OrgId(org.id)).await?;
        Ok(rows.iter().map(dto).collect())
    }

    /// Revokes a key given by id or prefix, as its owner.
    pub async fn revoke(ctx: &AppContext, id_or_prefix: &str) -> Result<ApiKey> {
        let needle = id_or_prefix.trim();
        let row = match uuid::Uuid::parse_str(needle) {
            Ok(id) => store::api_keys::find_by_id_global(ctx.db(), ApiKeyId(id)).await?,
            Err(_) => {
                let prefix = crypto::api_key_prefix(needle).unwrap_or(needle);
                store::api_keys::find_by_prefix_global(ctx.db(), prefix).await?
            }
        }
        .ok_or(Error::NotFound)?;
        let m = store::users::find_member(ctx.db(), OrgId(row.org_id), UserId(row.user_id))
            .await?
            .ok_or(Error::NotFound)?;
        let actor = cli_actor(&m.1)?;
        super::revoke(ctx, &actor, ApiKeyId(row.id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_formats() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_expiry("30d", now).unwrap(), now + Duration::days(30));
        assert_eq!(parse_expiry("12h", now).unwrap(), now + Duration::hours(12));
        assert_eq!(
            parse_expiry("45m", now).unwrap(),
            now + Duration::minutes(45)
        );
        assert_eq!(
            parse_expiry(" 1h30m ", now).unwrap(),
            now + Duration::minutes(90)
        );
        assert_eq!(
            parse_expiry("2027-01-31", now).unwrap().to_rfc3339(),
            "2027-02-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("2027-01-31T10:00:00+02:00", now)
                .unwrap()
                .to_rfc3339(),
            "2027-01-31T08:00:00+00:00"
        );
        for bad in [
            "",
            "soon",
            "30x",
            "-5d",
            "2020-01-01",
            "2026-13-01",
            "99999999999d",
            "50000d",
            "0d",
            "1é",
            "30д",
            "３０d",
            "🗓",
        ] {
            let err = parse_expiry(bad, now).unwrap_err();
            assert_eq!(
                err.body().error.param.as_deref(),
                Some("expires_at"),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// No string a client can send makes the parser panic; a failure names the field.
        #[test]
        fn parse_expiry_never_panics(raw in proptest::prelude::any::<String>(), secs in 0i64..4_000_000_000) {
            let now = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            if let Err(e) = parse_expiry(&raw, now) {
                proptest::prop_assert_eq!(e.body().error.param, Some("expires_at".to_owned()));
            }
        }

        /// Durations made of digits and a unit, with any Unicode around them.
        #[test]
        fn parse_expiry_never_panics_near_durations(
            n in 0u64..100_000,
            unit in "[dhmsMyw]|µs|min|days",
            noise in "\\PC{0,3}",
        ) {
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
            let _ = parse_expiry(&format!("{n}{unit}{noise}"), now);
            let _ = parse_expiry(&format!("{noise}{n}{noise}{unit}"), now);
        }
    }
}
