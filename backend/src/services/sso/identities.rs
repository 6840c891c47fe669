//! A user's own linked identities: listing them (`/api/me/identities`) and unlinking one, never
//! the last way in.

use crate::actor::Actor;
use crate::services::audit::{self, Event};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{IdentityId, SsoProviderId};
use aerie_contract::sso::LinkedIdentity;

/// `GET /api/me/identities`. An identity whose provider is gone has no kind.
pub async fn my_identities(ctx: &AppContext, actor: &Actor) -> Result<Vec<LinkedIdentity>> {
    let p = actor.principal()?;
    let providers = store::sso::list(ctx.db(), p.org_id).await?;
    store::sso::identities_of(ctx.db(), p.org_id, p.user_id)
        .await?
        .into_iter()
        .map(|i| {
            let provider = providers.iter().find(|r| r.id.to_string() == i.provider);
            Ok(LinkedIdentity {
                id: IdentityId(i.id),
                provider_id: provider.map(|r| SsoProviderId(r.id)),
                provider_name: provider.map_or_else(|| i.provider.clone(), |r| r.name.clone()),
                kind: provider.map(|r| r.kind()).transpose()?,
                email: i.email,
                created_at: utc(i.created_at),
                last_login_at: i.last_login_at.map(utc),
            })
        })
        .collect()
}

/// `DELETE /api/me/identities/{id}`: never the last way in (no password and no other identity).
pub async fn unlink(ctx: &AppContext, actor: &Actor, id: IdentityId) -> Result<()> {
    let p = actor.principal()?;
    let identities = store::sso::identities_of(ctx.db(), p.org_id, p.user_id).await?;
    if !identities.iter().any(|i| i.id == id.0) {
        return Err(Error::NotFound);
    }
    let (user, _) = store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if user.password_hash.is_none() && identities.len() <= 1 {
        return Err(Error::detailed(
            ErrorCode::Conflict,
            "This is your only way to sign in: set a password or link another identity first.",
        ));
    }
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::sso::delete_identity(&txn, p.org_id, p.user_id, id).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso.identity_unlinked").target("identity", id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
