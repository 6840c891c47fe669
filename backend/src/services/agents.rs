//! Agents: any member creates them; the owner and the organisation's admins change them;
//! who sees one follows its visibility (private, groups, organisation, public). Published
//! public agents are listed in the marketplace, without their prompt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use super::audit::{self, Event};
use super::visibility::{self, Viewer};
use super::{knowledge, providers, validate};
use crate::actor::{Actor, Principal};
use crate::db::entities::agents;
use crate::store::{self, id_json as json_ids, id_list, utc};
use crate::{AppContext, Error, Result, tools};
use aerie_contract::agents::{
    Agent, AgentParameters, AgentTool, DuplicateAgent, MarketplaceAgent, NewAgent, UpdateAgent,
    Visibility,
};
use aerie_contract::ids::{AgentId, GroupId, KbId, OrgId, ProviderId, UserId};

pub fn to_dto(a: &agents::Model) -> Agent {
    Agent {
        id: AgentId(a.id),
        name: a.name.clone(),
        description: a.description.clone(),
        system_prompt: a.system_prompt.clone(),
        provider_id: a.provider_id.map(ProviderId),
        model: a.model.clone(),
        parameters: serde_json::from_value(a.parameters.clone()).unwrap_or_default(),
        reasoning_enabled: a.reasoning_enabled,
        tools: serde_json::from_value(a.tools.clone()).unwrap_or_default(),
        knowledge_base_ids: id_list::<KbId>(&a.knowledge_base_ids),
        visibility: a.visibility(),
        group_ids: id_list::<GroupId>(&a.group_ids),
        published: a.published,
        owner_id: UserId(a.owner_id),
        created_at: utc(a.created_at),
        updated_at: utc(a.updated_at),
    }
}

/// After every agent change: drop cached resolutions and record the audit event.
async fn changed(
    ctx: &AppContext,
    actor: &Actor,
    org: OrgId,
    action: &str,
    id: impl ToString,
) -> Result<()> {
    ctx.agent_cache().clear();
    audit::record(
        ctx.db(),
        Some(org),
        actor,
        Event::new(action).target("agent", id),
    )
    .await?;
    Ok(())
}

fn sees(viewer: &Viewer, a: &Agent) -> bool {
    viewer.sees(a.owner_id, a.visibility, &a.group_ids)
}

/// An agent the caller may see, and the caller as the visibility rule sees them (another
/// organisation's agent, or an invisible one: 404).
async fn find_seen(ctx: &AppContext, p: &Principal, id: AgentId) -> Result<(Agent, Viewer)> {
    let row = store::agents::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let agent = to_dto(&row);
    let viewer = Viewer::of(ctx, p).await?;
    if sees(&viewer, &agent) {
        Ok((agent, viewer))
    } else {
        Err(Error::NotFound)
    }
}

/// An agent of `org`, whoever may see it (a route's agent answers for everyone the route
/// serves: its admins chose it).
pub(crate) async fn find_in_org(
    ctx: &AppContext,
    org: OrgId,
    id: AgentId,
) -> Result<Option<Agent>> {
    Ok(store::agents::find(ctx.db(), org, id)
        .await?
        .map(|row| to_dto(&row)))
}

/// An agent the caller may see (another organisation's, or an invisible one: 404).
pub async fn find_visible(ctx: &AppContext, p: &Principal, id: AgentId) -> Result<Agent> {
    Ok(find_seen(ctx, p, id).await?.0)
}

async fn find_editable(ctx: &AppContext, p: &Principal, id: AgentId) -> Result<Agent> {
    let (agent, viewer) = find_seen(ctx, p, id).await?;
    if !viewer.may_change(agent.owner_id) {
        return Err(Error::Refused(
            "Only the agent's owner or an organisation admin can change it.",
        ));
    }
    Ok(agent)
}

pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<Agent>> {
    let p = actor.principal()?;
    let viewer = Viewer::of(ctx, p).await?;
    Ok(store::agents::list(ctx.db(), p.org_id)
        .await?
        .iter()
        .map(to_dto)
        .filter(|a| sees(&viewer, a))
        .collect())
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: AgentId) -> Result<Agent> {
    find_visible(ctx, actor.principal()?, id).await
}

fn check_parameters(p: &AgentParameters) -> Result<()> {
    if let Some(t) = p.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(Error::invalid(
            "parameters.temperature",
            "temperature must be between 0 and 2.",
        ));
    }
    if let Some(t) = p.top_p
        && !(0.0..=1.0).contains(&t)
    {
        return Err(Error::invalid(
            "parameters.top_p",
            "top_p must be between 0 and 1.",
        ));
    }
    if let Some(m) = p.max_tokens
        && !(1..=1_000_000).contains(&m)
    {
        return Err(Error::invalid(
            "parameters.max_tokens",
            "max_tokens must be between 1 and 1000000.",
        ));
    }
    Ok(())
}

fn check_tools(names: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if tools::find(n).is_none() {
            let known: Vec<&str> = tools::catalogue().iter().map(|t| t.name).collect();
            return Err(Error::invalid(
                "tools",
                format!("Unknown tool `{n}`; available tools: {}.", known.join(", ")),
            ));
        }
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    Ok(out)
}

pub async fn create(ctx: &AppContext, actor: &Actor, input: NewAgent) -> Result<Agent> {
    let p = actor.principal()?;
    let name = validate::name("name", &input.name, validate::NAME_MAX)?;
    let model = validate::name("model", &input.model, validate::TITLE_MAX)?;
    let description = validate::text("description", &input.description, validate::COMMENT_MAX)?
        .trim()
        .to_owned();
    let system_prompt = validate::text(
        "system_prompt",
        &input.system_prompt,
        validate::SYSTEM_PROMPT_MAX,
    )?
    .to_owned();
    check_parameters(&input.parameters)?;
    let tools = check_tools(&input.tools)?;
    visibility::check_groups(ctx, p.org_id, &input.group_ids).await?;
    let knowledge_bases =
        knowledge::check_for_agent(ctx, p.org_id, p.user_id, &input.knowledge_base_ids).await?;
    providers::check_model(ctx, p.org_id, input.provider_id, &model).await?;
    let row = store::agents::create(
        ctx.db(),
        store::agents::NewAgent {
            org: p.org_id,
            owner: p.user_id,
            name,
            description,
            system_prompt,
            provider: input.provider_id,
            model,
            parameters: serde_json::to_value(&input.parameters).unwrap_or_default(),
            reasoning_enabled: input.reasoning_enabled,
            tools: serde_json::to_value(&tools).unwrap_or_default(),
            knowledge_base_ids: json_ids(&knowledge_bases),
            visibility: input.visibility,
            group_ids: json_ids(&input.group_ids),
            now: Utc::now(),
        },
    )
    .await
    .map_err(Error::on_unique("name"))?;
    changed(ctx, actor, p.org_id, "agent.created", row.id).await?;
    Ok(to_dto(&row))
}

pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: AgentId,
    input: UpdateAgent,
) -> Result<Agent> {
    let p = actor.principal()?;
    let current = find_editable(ctx, p, id).await?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::NAME_MAX))
        .transpose()?;
    let model = input
        .model
        .as_deref()
        .map(|m| validate::name("model", m, validate::TITLE_MAX))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| {
            validate::text("description", d, validate::COMMENT_MAX).map(|d| d.trim().to_owned())
        })
        .transpose()?;
    let prompt = input
        .system_prompt
        .as_deref()
        .map(|d| validate::text("system_prompt", d, validate::SYSTEM_PROMPT_MAX).map(str::to_owned))
        .transpose()?;
    if let Some(params) = &input.parameters {
        check_parameters(params)?;
    }
    let tools = input.tools.as_deref().map(check_tools).transpose()?;
    if let Some(groups) = &input.group_ids {
        visibility::check_groups(ctx, p.org_id, groups).await?;
    }
    // Checked against what the agent's owner sees, not the editor (an admin cannot attach a
    // knowledge base the owner could not read).
    let knowledge_bases = match input.knowledge_base_ids.as_deref() {
        Some(ids) => Some(knowledge::check_for_agent(ctx, p.org_id, current.owner_id, ids).await?),
        None => None,
    };
    if input.provider_id.is_some() || model.is_some() {
        let provider = input.provider_id.unwrap_or(current.provider_id);
        let model = model.as_deref().unwrap_or(&current.model);
        providers::check_model(ctx, p.org_id, provider, model).await?;
    }
    let row = store::agents::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let changes = store::agents::AgentChanges {
        name,
        model,
        description,
        system_prompt: prompt,
        provider: input.provider_id,
        parameters: input
            .parameters
            .as_ref()
            .map(|v| serde_json::to_value(v).unwrap_or_default()),
        reasoning_enabled: input.reasoning_enabled,
        tools: tools
            .as_ref()
            .map(|v| serde_json::to_value(v).unwrap_or_default()),
        knowledge_base_ids: knowledge_bases.as_deref().map(json_ids),
        visibility: input.visibility,
        published: input
            .visibility
            .filter(|v| *v != Visibility::Public)
            .map(|_| false),
        group_ids: input.group_ids.as_deref().map(json_ids),
    };
    let row = store::agents::update(ctx.db(), p.org_id, row, changes, Utc::now())
        .await
        .map_err(Error::on_unique("name"))?;
    changed(ctx, actor, p.org_id, "agent.updated", row.id).await?;
    Ok(to_dto(&row))
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: AgentId) -> Result<()> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    store::agents::delete(ctx.db(), p.org_id, id).await?;
    changed(ctx, actor, p.org_id, "agent.deleted", id).await?;
    Ok(())
}

/// Makes the agent public and lists it in the marketplace.
pub async fn publish(ctx: &AppContext, actor: &Actor, id: AgentId) -> Result<Agent> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    let row = store::agents::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let changes = store::agents::AgentChanges {
        visibility: Some(Visibility::Public),
        published: Some(true),
        ..Default::default()
    };
    let row = store::agents::update(ctx.db(), p.org_id, row, changes, Utc::now()).await?;
    changed(ctx, actor, p.org_id, "agent.published", row.id).await?;
    Ok(to_dto(&row))
}

/// A private copy owned by the caller.
pub async fn duplicate(
    ctx: &AppContext,
    actor: &Actor,
    id: AgentId,
    input: DuplicateAgent,
) -> Result<Agent> {
    let p = actor.principal()?;
    let source = find_visible(ctx, p, id).await?;
    // The copy keeps only the knowledge bases its new owner sees.
    let knowledge_base_ids =
        knowledge::visible_to(ctx, p.org_id, p.user_id, &source.knowledge_base_ids).await?;
    let base = match input.name {
        Some(n) => validate::name("name", &n, validate::NAME_MAX)?,
        None => format!(
            "{} (copy)",
            source.name.chars().take(90).collect::<String>()
        ),
    };
    let mut attempt = 1;
    loop {
        let name = if attempt == 1 {
            base.clone()
        } else {
            format!("{base} {attempt}")
        };
        let result = create(
            ctx,
            actor,
            NewAgent {
                name,
                description: source.description.clone(),
                system_prompt: source.system_prompt.clone(),
                provider_id: source.provider_id,
                model: source.model.clone(),
                parameters: source.parameters.clone(),
                reasoning_enabled: source.reasoning_enabled,
                tools: source.tools.clone(),
                knowledge_base_ids: knowledge_base_ids.clone(),
                visibility: Visibility::Private,
                group_ids: Vec::new(),
            },
        )
        .await;
        match result {
            Err(Error::Conflict { .. }) if attempt < 20 => attempt += 1,
            other => return other,
        }
    }
}

/// The built-in tools, marked as enabled or not on this agent.
pub async fn tools(ctx: &AppContext, actor: &Actor, id: AgentId) -> Result<Vec<AgentTool>> {
    let agent = get(ctx, actor, id).await?;
    Ok(tool_list(|name| agent.tools.iter().any(|n| n == name)))
}

/// The built-in tools, none enabled (the form of a new agent): for any signed-in caller.
pub fn tool_catalogue(actor: &Actor) -> Result<Vec<AgentTool>> {
    actor.principal()?;
    Ok(tool_list(|_| false))
}

fn tool_list(enabled: impl Fn(&str) -> bool) -> Vec<AgentTool> {
    tools::catalogue()
        .into_iter()
        .map(|t| AgentTool {
            enabled: enabled(t.name),
            name: t.name.to_owned(),
            title: t.title.to_owned(),
            description: t.description.to_owned(),
            parameters: t.parameters,
        })
        .collect()
}

/// Published public agents of every organisation.
pub async fn marketplace(ctx: &AppContext) -> Result<Vec<MarketplaceAgent>> {
    let rows = store::agents::marketplace_global(ctx.db(), 200).await?;
    let orgs = store::orgs::names_global(ctx.db(), rows.iter().map(|a| a.org_id)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        let organization = orgs.get(&a.org_id).cloned().unwrap_or_default();
        let dto = to_dto(&a);
        out.push(MarketplaceAgent {
            id: dto.id,
            name: dto.name,
            description: dto.description,
            model: dto.model,
            tools: dto.tools,
            organization,
            updated_at: dto.updated_at,
        });
    }
    Ok(out)
}

/// Agents resolved by the OpenAI-compatible API's `model` (id or name), cached for a few
/// seconds per caller and cleared by every agent or provider change.
#[derive(Default)]
pub struct AgentCache {
    entries: Mutex<HashMap<CacheKey, (Instant, Arc<Agent>)>>,
}

type CacheKey = (UserId, OrgId, String);

const AGENT_TTL: Duration = Duration::from_secs(5);

impl AgentCache {
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }

    fn get(&self, key: &CacheKey) -> Option<Arc<Agent>> {
        let map = self.entries.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < AGENT_TTL)
            .map(|(_, a)| a.clone())
    }

    fn put(&self, key: CacheKey, agent: Arc<Agent>) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (at, _)| at.elapsed() < AGENT_TTL);
            }
            map.insert(key, (Instant::now(), agent));
        }
    }
}

/// The visible agent named by `model`: an agent id, else an agent name.
pub async fn resolve_model(ctx: &AppContext, p: &Principal, model: &str) -> Result<Arc<Agent>> {
    let key = (p.user_id, p.org_id, model.to_owned());
    if let Some(a) = ctx.agent_cache().get(&key) {
        return Ok(a);
    }
    let row = match Uuid::parse_str(model) {
        Ok(id) => store::agents::find(ctx.db(), p.org_id, AgentId(id)).await?,
        Err(_) => None,
    };
    let row = match row {
        Some(r) => Some(r),
        None => store::agents::find_by_name(ctx.db(), p.org_id, model).await?,
    };
    let not_found = || {
        Error::detailed(
            aerie_contract::ErrorCode::NotFound,
            format!(
                "The model `{model}` does not exist or you do not have access to it. Use an agent id or name from GET /v1/models."
            ),
        )
    };
    let agent = to_dto(&row.ok_or_else(not_found)?);
    if !sees(&Viewer::of(ctx, p).await?, &agent) {
        return Err(not_found());
    }
    let agent = Arc::new(agent);
    ctx.agent_cache().put(key, agent.clone());
    Ok(agent)
}
