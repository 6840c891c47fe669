//! What `model` may name wherever a client names one (`/v1/chat/completions`, `/v1/query/`,
//! `GET /v1/models`): a route of the organisation (`services::runs::routes`; only
//! `/v1/chat/completions` honours its policy), an agent the caller sees (by id or name), or a model of one of the
//! organisation's providers, which then answers as it is — no system prompt, tools or
//! knowledge of an agent. Any member may call the organisation's provider models (any member
//! may already build an agent on them).

use std::collections::HashSet;
use std::sync::Arc;

use super::super::{agents, providers};
use crate::actor::{Actor, Principal};
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::agents::{Agent, AgentParameters, Visibility};
use aerie_contract::ids::AgentId;
use aerie_contract::openai::ModelKind;
use aerie_contract::providers::Provider;
use aerie_contract::runs::Route;

/// A model of a provider, as `GET /v1/models` lists it.
#[derive(Clone, Debug)]
pub struct ProviderModel {
    /// What `model` takes: the model's id, or `<provider name>/<model id>` when a provider
    /// listed before this one offers the same id.
    pub id: String,
    pub model: String,
    pub provider: Provider,
}

impl ProviderModel {
    /// How `GET /v1/models` and its stand-in agent describe it.
    pub fn description(&self) -> String {
        format!("{} on {}", self.model, self.provider.name)
    }
}

/// What a `model` named.
#[derive(Clone, Debug)]
pub struct Target {
    /// The agent, or a provider model's stand-in agent (nil id, no prompt, tools or knowledge).
    pub agent: Arc<Agent>,
    pub kind: ModelKind,
}

impl Target {
    /// The stored agent, if `model` named one (conversations and usage records link it).
    pub fn stored_agent(&self) -> Option<&Agent> {
        (self.kind == ModelKind::Agent).then_some(&*self.agent)
    }
}

/// The organisation's provider models, in listing order (providers as `providers::of_org`
/// lists them, each one's models in its order).
pub async fn provider_models(ctx: &AppContext, p: &Principal) -> Result<Vec<ProviderModel>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for provider in providers::of_org(ctx, p.org_id).await? {
        for m in &provider.models {
            let id = if seen.insert(m.id.clone()) {
                m.id.clone()
            } else {
                format!("{}/{}", provider.name, m.id)
            };
            out.push(ProviderModel {
                id,
                model: m.id.clone(),
                provider: provider.clone(),
            });
        }
    }
    Ok(out)
}

/// `GET /v1/models`: the organisation's routes, the agents the caller sees and the
/// organisation's provider models (listed agents, models, routes).
pub async fn list(
    ctx: &AppContext,
    actor: &Actor,
) -> Result<(Vec<Route>, Vec<Agent>, Vec<ProviderModel>)> {
    let p = actor.principal()?;
    Ok((
        super::super::runs::routes::list(ctx, actor).await?,
        agents::list(ctx, actor).await?,
        provider_models(ctx, p).await?,
    ))
}

/// The agent that answers for a provider model.
fn stand_in(p: &Principal, m: &ProviderModel) -> Agent {
    Agent {
        id: AgentId(uuid::Uuid::nil()),
        name: m.id.clone(),
        description: m.description(),
        system_prompt: String::new(),
        provider_id: Some(m.provider.id).filter(|id| *id != providers::CONFIGURED),
        model: m.model.clone(),
        parameters: AgentParameters::default(),
        reasoning_enabled: false,
        tools: Vec::new(),
        knowledge_base_ids: Vec::new(),
        visibility: Visibility::Private,
        group_ids: Vec::new(),
        published: false,
        owner_id: p.user_id,
        created_at: m.provider.created_at,
        updated_at: m.provider.updated_at,
    }
}

/// The agent or provider model named by `model` (404 in the contract's shape otherwise).
pub async fn resolve(ctx: &AppContext, p: &Principal, model: &str) -> Result<Target> {
    match agents::resolve_model(ctx, p, model).await {
        Ok(agent) => {
            return Ok(Target {
                agent,
                kind: ModelKind::Agent,
            });
        }
        Err(e) if e.code() == ErrorCode::NotFound => {}
        Err(e) => return Err(e),
    }
    let models = provider_models(ctx, p).await?;
    let found = models.iter().find(|m| m.id == model).or_else(|| {
        // `<provider name>/<model id>` also names the first listing of a model.
        models
            .iter()
            .find(|m| format!("{}/{}", m.provider.name, m.model) == model)
    });
    match found {
        Some(m) => Ok(Target {
            agent: Arc::new(stand_in(p, m)),
            kind: ModelKind::Model,
        }),
        None => Err(not_found(model)),
    }
}

/// The organisation's first provider model, else the caller's first agent (`/v1/query/`
/// without `model`).
pub async fn default(ctx: &AppContext, actor: &Actor) -> Result<(String, Target)> {
    let p = actor.principal()?;
    if let Some(m) = provider_models(ctx, p).await?.into_iter().next() {
        return Ok((
            m.id.clone(),
            Target {
                agent: Arc::new(stand_in(p, &m)),
                kind: ModelKind::Model,
            },
        ));
    }
    match agents::list(ctx, actor).await?.into_iter().next() {
        Some(a) => Ok((
            a.id.0.to_string(),
            Target {
                agent: Arc::new(a),
                kind: ModelKind::Agent,
            },
        )),
        None => Err(Error::invalid(
            "model",
            "model field is required: your organisation has no provider model nor agent to answer (see GET /v1/models/).",
        )),
    }
}

fn not_found(model: &str) -> Error {
    Error::detailed(
        ErrorCode::NotFound,
        format!(
            "The model `{model}` does not exist or you do not have access to it. Use an id from GET /v1/models."
        ),
    )
}
