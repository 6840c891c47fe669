//! Routes: an organisation's named policies for runs (docs/RUNS.md). Any member lists them (a
//! route's name is what `route` and `model` take); admins create, change and delete them. The
//! `default` route exists in every organisation: it is created the first time anything names
//! or lists it, answers with the organisation's default model and never waits for approval
//! until an admin changes it; it cannot be deleted.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actor::{Actor, Principal, Role};
use crate::db::entities::routes;
use crate::services::audit::{self, Event};
use crate::services::chat::models::{self, Target};
use crate::services::guardrails::policy::{self, Compiled};
use crate::services::{agents, validate};
use crate::store::{self, id_json, id_list, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::guardrails::GuardrailPolicy;
use aerie_contract::ids::{AgentId, GroupId, OrgId, RouteId, UserId};
use aerie_contract::openai::ModelKind;
use aerie_contract::runs::{DEFAULT_ROUTE, NewRoute, Route, UpdateRoute};
use aerie_contract::{ApprovalMode, ErrorCode};

/// A route's name: at most this many characters.
pub const NAME_MAX: usize = 64;
/// A model's name: at most this many characters.
pub const MODEL_MAX: usize = 255;
/// How long a paused run waits for an approver unless the route says otherwise (minutes).
pub const TIMEOUT_DEFAULT: u32 = 60;
/// The longest a route may let a paused run wait: a week (minutes).
pub const TIMEOUT_MAX: u32 = 7 * 24 * 60;
/// At most this many default approvers (people and groups each).
pub const APPROVERS_MAX: usize = 50;

pub(crate) fn to_dto(r: &routes::Model) -> Result<Route> {
    let guardrails = r
        .guardrails
        .clone()
        .map(serde_json::from_value::<GuardrailPolicy>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("a stored route policy does not read: {e}"))?;
    Ok(Route {
        id: RouteId(r.id),
        name: r.name.clone(),
        description: r.description.clone(),
        agent_id: r.agent_id.map(AgentId),
        model: r.model.clone(),
        approval: r.approval.parse()?,
        approval_cost_above: r.approval_cost_above,
        approver_user_ids: id_list(&r.approver_user_ids),
        approver_group_ids: id_list(&r.approver_group_ids),
        approval_timeout_minutes: u32::try_from(r.approval_timeout_minutes).unwrap_or(0),
        guardrails,
        max_output_tokens: r.max_output_tokens.and_then(|t| u32::try_from(t).ok()),
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
    })
}

fn default_row(org: OrgId, now: DateTime<Utc>) -> routes::Model {
    routes::Model {
        id: RouteId::new().0,
        org_id: org.0,
        name: DEFAULT_ROUTE.to_owned(),
        description: "The organisation's default model, without approval.".to_owned(),
        agent_id: None,
        model: None,
        approval: ApprovalMode::Never.as_str().to_owned(),
        approval_cost_above: None,
        approver_user_ids: id_json::<UserId>(&[]),
        approver_group_ids: id_json::<GroupId>(&[]),
        approval_timeout_minutes: i32::try_from(TIMEOUT_DEFAULT).unwrap_or(60),
        guardrails: None,
        max_output_tokens: None,
        created_at: store::ts(now),
        updated_at: store::ts(now),
    }
}

/// Creates `org`'s `default` route unless it has one.
async fn ensure_default(ctx: &AppContext, org: OrgId) -> Result<()> {
    store::routes::insert_if_absent(ctx.db(), default_row(org, Utc::now())).await?;
    Ok(())
}

/// The route of `org` named `name` (the `default` route is created on first use).
pub(crate) async fn named(
    ctx: &AppContext,
    org: OrgId,
    name: &str,
) -> Result<Option<routes::Model>> {
    let name = name.trim().to_ascii_lowercase();
    if let Some(row) = store::routes::find_by_name(ctx.db(), org, &name).await? {
        return Ok(Some(row));
    }
    if name != DEFAULT_ROUTE {
        return Ok(None);
    }
    ensure_default(ctx, org).await?;
    Ok(store::routes::find_by_name(ctx.db(), org, &name).await?)
}

/// What answers on `route`, for `p`: its agent, else its model, else the organisation's
/// default model.
pub(crate) async fn target(ctx: &AppContext, p: &Principal, route: &Route) -> Result<Target> {
    if let Some(id) = route.agent_id {
        let agent = agents::find_in_org(ctx, p.org_id, id).await?.ok_or_else(|| {
            Error::detailed(
                ErrorCode::Conflict,
                format!(
                    "The route `{}` names an agent that no longer exists; an admin must point it at another agent or model.",
                    route.name
                ),
            )
        })?;
        return Ok(Target {
            agent: Arc::new(agent),
            kind: ModelKind::Agent,
        });
    }
    if let Some(model) = &route.model {
        return models::resolve(ctx, p, model).await;
    }
    Ok(models::default(ctx, &Actor::user(p.clone(), None)).await?.1)
}

/// The guardrail policy a route of `org` screens with: its own, else the organisation's.
pub(crate) async fn guardrails(
    ctx: &AppContext,
    org: OrgId,
    route: &Route,
) -> Result<Arc<Compiled>> {
    match &route.guardrails {
        Some(own) => policy::compiled_route(ctx, route.id, route.updated_at, own),
        None => policy::compiled(ctx, org).await,
    }
}

/// Every route of the caller's organisation (any member).
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<Route>> {
    let p = actor.principal()?;
    ensure_default(ctx, p.org_id).await?;
    store::routes::list(ctx.db(), p.org_id)
        .await?
        .iter()
        .map(to_dto)
        .collect()
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: RouteId) -> Result<Route> {
    let p = actor.principal()?;
    to_dto(
        &store::routes::find(ctx.db(), p.org_id, id)
            .await?
            .ok_or(Error::NotFound)?,
    )
}

fn check_name(raw: &str) -> Result<String> {
    let name = validate::slug("name", raw.trim())?;
    if name.chars().count() > NAME_MAX {
        return Err(Error::invalid(
            "name",
            format!("name must be at most {NAME_MAX} characters."),
        ));
    }
    Ok(name)
}

/// Checks a route's settings against the organisation (its agents, people and groups) and
/// writes them into `row`.
async fn apply(ctx: &AppContext, org: OrgId, row: &mut routes::Model, r: &Route) -> Result<()> {
    if let Some(agent) = r.agent_id
        && agents::find_in_org(ctx, org, agent).await?.is_none()
    {
        return Err(Error::invalid(
            "agent_id",
            "agent_id names no agent of the organisation.",
        ));
    }
    let model = r
        .model
        .as_deref()
        .map(|m| validate::name("model", m, MODEL_MAX))
        .transpose()?;
    match (r.approval, r.approval_cost_above) {
        (ApprovalMode::AboveCost, None) => {
            return Err(Error::invalid(
                "approval_cost_above",
                "approval_cost_above (credits) is required when approval is above_cost.",
            ));
        }
        (_, Some(c)) if c < 0 => {
            return Err(Error::invalid(
                "approval_cost_above",
                "approval_cost_above must be 0 or more credits.",
            ));
        }
        _ => {}
    }
    if r.approver_user_ids.len() > APPROVERS_MAX || r.approver_group_ids.len() > APPROVERS_MAX {
        return Err(Error::invalid(
            "approver_user_ids",
            format!("A route names at most {APPROVERS_MAX} people and {APPROVERS_MAX} groups."),
        ));
    }
    for user in &r.approver_user_ids {
        if store::users::find_member(ctx.db(), org, *user)
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                "approver_user_ids",
                format!("approver_user_ids: {user} is no one of the organisation."),
            ));
        }
    }
    for group in &r.approver_group_ids {
        if store::groups::find(ctx.db(), org, *group).await?.is_none() {
            return Err(Error::invalid(
                "approver_group_ids",
                format!("approver_group_ids: {group} is no group of the organisation."),
            ));
        }
    }
    if !(1..=TIMEOUT_MAX).contains(&r.approval_timeout_minutes) {
        return Err(Error::invalid(
            "approval_timeout_minutes",
            format!("approval_timeout_minutes must be 1 to {TIMEOUT_MAX}."),
        ));
    }
    if let Some(policy) = &r.guardrails {
        Compiled::build(policy)?;
    }
    if let Some(t) = r.max_output_tokens
        && !(1..=1_000_000).contains(&t)
    {
        return Err(Error::invalid(
            "max_output_tokens",
            "max_output_tokens must be 1 to 1000000.",
        ));
    }
    let description = validate::text("description", &r.description, validate::COMMENT_MAX)?;
    row.name = r.name.clone();
    row.description = description.trim().to_owned();
    row.agent_id = r.agent_id.map(|a| a.0);
    row.model = model;
    row.approval = r.approval.as_str().to_owned();
    row.approval_cost_above = r.approval_cost_above;
    row.approver_user_ids = id_json(&r.approver_user_ids);
    row.approver_group_ids = id_json(&r.approver_group_ids);
    row.approval_timeout_minutes = i32::try_from(r.approval_timeout_minutes).unwrap_or(i32::MAX);
    row.guardrails = r
        .guardrails
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    row.max_output_tokens = r.max_output_tokens.and_then(|t| i32::try_from(t).ok());
    Ok(())
}

/// Creates a route (admins); audited.
pub async fn create(ctx: &AppContext, actor: &Actor, input: NewRoute) -> Result<Route> {
    let p = actor.require_role(Role::Admin)?;
    let now = Utc::now();
    let mut row = default_row(p.org_id, now);
    let wanted = Route {
        id: RouteId(row.id),
        name: check_name(&input.name)?,
        description: input.description,
        agent_id: input.agent_id,
        model: input.model,
        approval: input.approval,
        approval_cost_above: input.approval_cost_above,
        approver_user_ids: input.approver_user_ids,
        approver_group_ids: input.approver_group_ids,
        approval_timeout_minutes: input.approval_timeout_minutes.unwrap_or(TIMEOUT_DEFAULT),
        guardrails: input.guardrails,
        max_output_tokens: input.max_output_tokens,
        created_at: now,
        updated_at: now,
    };
    apply(ctx, p.org_id, &mut row, &wanted).await?;
    let row = store::routes::insert(ctx.db(), row)
        .await
        .map_err(Error::on_unique("name"))?;
    let route = to_dto(&row)?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("route.created")
            .target("route", &route.name)
            .details(serde_json::json!({ "id": route.id })),
    )
    .await?;
    Ok(route)
}

/// Changes a route (admins); absent fields stay. The `default` route keeps its name.
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: RouteId,
    input: UpdateRoute,
) -> Result<Route> {
    let p = actor.require_role(Role::Admin)?;
    let mut row = store::routes::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let mut r = to_dto(&row)?;
    if let Some(name) = input.name {
        let name = check_name(&name)?;
        if r.name == DEFAULT_ROUTE && name != DEFAULT_ROUTE {
            return Err(Error::State {
                field: "name",
                message: "The default route keeps its name (`model: \"default\"` names it)."
                    .to_owned(),
            });
        }
        r.name = name;
    }
    if let Some(d) = input.description {
        r.description = d;
    }
    if let Some(a) = input.agent_id {
        r.agent_id = a;
    }
    if let Some(m) = input.model {
        r.model = m;
    }
    if let Some(a) = input.approval {
        r.approval = a;
    }
    if let Some(c) = input.approval_cost_above {
        r.approval_cost_above = c;
    }
    if let Some(u) = input.approver_user_ids {
        r.approver_user_ids = u;
    }
    if let Some(g) = input.approver_group_ids {
        r.approver_group_ids = g;
    }
    if let Some(t) = input.approval_timeout_minutes {
        r.approval_timeout_minutes = t;
    }
    if let Some(g) = input.guardrails {
        r.guardrails = g;
    }
    if let Some(t) = input.max_output_tokens {
        r.max_output_tokens = t;
    }
    apply(ctx, p.org_id, &mut row, &r).await?;
    row.updated_at = store::ts(Utc::now());
    let row = store::routes::update(ctx.db(), p.org_id, row)
        .await
        .map_err(Error::on_unique("name"))?;
    let route = to_dto(&row)?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("route.updated")
            .target("route", &route.name)
            .details(serde_json::to_value(&route).unwrap_or_default()),
    )
    .await?;
    Ok(route)
}

/// Deletes a route (admins; not `default`); its runs keep its name. Audited.
pub async fn delete(ctx: &AppContext, actor: &Actor, id: RouteId) -> Result<()> {
    let p = actor.require_role(Role::Admin)?;
    let row = store::routes::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if row.name == DEFAULT_ROUTE {
        return Err(Error::State {
            field: "id",
            message: "The default route cannot be deleted; change it instead.".to_owned(),
        });
    }
    store::routes::delete(ctx.db(), p.org_id, id).await?;
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("route.deleted")
            .target("route", &row.name)
            .details(serde_json::json!({ "id": id })),
    )
    .await
}
