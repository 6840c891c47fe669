//! Groups of users inside an organisation: anyone may list them; admins create, rename,
//! delete and manage members.

use chrono::Utc;

use super::audit::{self, Event};
use super::validate;
use crate::actor::{Actor, Role};
use crate::db::entities::groups;
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::UserStatus;
use aerie_contract::ids::{GroupId, OrgId, UserId};
use aerie_contract::orgs::{Group, GroupInput};

fn to_dto(g: &groups::Model, members: &[(GroupId, UserId)]) -> Group {
    Group {
        id: GroupId(g.id),
        name: g.name.clone(),
        description: g.description.clone(),
        members: members
            .iter()
            .filter(|(gid, _)| gid.0 == g.id)
            .map(|(_, u)| *u)
            .collect(),
        created_at: utc(g.created_at),
    }
}

async fn dto(ctx: &AppContext, org: OrgId, g: &groups::Model) -> Result<Group> {
    Ok(to_dto(g, &store::groups::members(ctx.db(), org).await?))
}

pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<Group>> {
    let p = actor.principal()?;
    let groups = store::groups::list(ctx.db(), p.org_id).await?;
    let members = store::groups::members(ctx.db(), p.org_id).await?;
    Ok(groups.iter().map(|g| to_dto(g, &members)).collect())
}

/// Names of the groups `user` belongs to.
pub async fn names_of(ctx: &AppContext, org: OrgId, user: UserId) -> Result<Vec<String>> {
    let groups = store::groups::list(ctx.db(), org).await?;
    let members = store::groups::members(ctx.db(), org).await?;
    Ok(groups
        .into_iter()
        .filter(|g| members.iter().any(|(gid, u)| gid.0 == g.id && *u == user))
        .map(|g| g.name)
        .collect())
}

pub async fn create(ctx: &AppContext, actor: &Actor, input: GroupInput) -> Result<Group> {
    let p = actor.require_role(Role::Admin)?;
    let name = validate::name(
        "name",
        input.name.as_deref().unwrap_or_default(),
        validate::NAME_MAX,
    )?;
    let description = validate::text(
        "description",
        input.description.as_deref().unwrap_or_default(),
        validate::COMMENT_MAX,
    )?
    .trim();
    let g = store::groups::insert(ctx.db(), p.org_id, &name, description, Utc::now())
        .await
        .map_err(Error::on_unique("name"))?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("group.created").target("group", g.id),
    )
    .await?;
    dto(ctx, p.org_id, &g).await
}

pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: GroupId,
    input: GroupInput,
) -> Result<Group> {
    let p = actor.require_role(Role::Admin)?;
    let g = store::groups::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::NAME_MAX))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| {
            validate::text("description", d, validate::COMMENT_MAX).map(|d| d.trim().to_owned())
        })
        .transpose()?;
    let g = store::groups::update(ctx.db(), p.org_id, g, name, description, Utc::now())
        .await
        .map_err(Error::on_unique("name"))?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("group.updated").target("group", g.id),
    )
    .await?;
    dto(ctx, p.org_id, &g).await
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: GroupId) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    if store::groups::delete(ctx.db(), p.org_id, id).await? == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("group.deleted").target("group", id),
    )
    .await
}

pub async fn add_member(
    ctx: &AppContext,
    actor: &Actor,
    id: GroupId,
    user: UserId,
) -> Result<Group> {
    let p = actor.require_role(Role::Admin)?;
    let g = store::groups::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    match store::users::find_member(ctx.db(), p.org_id, user).await? {
        Some((u, _)) if u.status()? != UserStatus::Deleted => {}
        _ => {
            return Err(Error::invalid(
                "user_id",
                "No such user in this organisation.",
            ));
        }
    }
    store::groups::add_member(ctx.db(), p.org_id, id, user, Utc::now()).await?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("group.member_added")
            .target("group", id)
            .details(serde_json::json!({ "user_id": user })),
    )
    .await?;
    dto(ctx, p.org_id, &g).await
}

pub async fn remove_member(
    ctx: &AppContext,
    actor: &Actor,
    id: GroupId,
    user: UserId,
) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    if store::groups::find(ctx.db(), p.org_id, id).await?.is_none() {
        return Err(Error::NotFound);
    }
    if store::groups::remove_member(ctx.db(), p.org_id, id, user).await? == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("group.member_removed")
            .target("group", id)
            .details(serde_json::json!({ "user_id": user })),
    )
    .await
}
