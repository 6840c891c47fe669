//! Agents: list, create, edit, duplicate, publish, delete; and the tools they may enable.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::agents::{Agent, AgentTool, NewAgent, UpdateAgent};
use crate::contract::ids::AgentId;

#[server(prefix = "/_server", endpoint = "agents_list")]
pub async fn list_agents() -> Result<Vec<Agent>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "agents_create", input = server_fn::codec::Json)]
pub async fn create_agent(input: NewAgent) -> Result<Agent, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "agents_update", input = server_fn::codec::Json)]
pub async fn edit_agent(id: AgentId, input: UpdateAgent) -> Result<Agent, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "agents_delete")]
pub async fn delete_agent(id: AgentId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "agents_publish")]
pub async fn publish_agent(id: AgentId) -> Result<Agent, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::publish(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// A private copy named "<name> (copy)".
#[server(prefix = "/_server", endpoint = "agents_duplicate")]
pub async fn copy_agent(id: AgentId) -> Result<Agent, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    let input = crate::contract::agents::DuplicateAgent::default();
    crate::backend::services::agents::duplicate(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

/// The built-in tools, marked as enabled on this agent.
#[server(prefix = "/_server", endpoint = "agents_tools")]
pub async fn agent_tools(id: AgentId) -> Result<Vec<AgentTool>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::agents::tools(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

/// The built-in tools, none enabled (the form of a new agent).
#[server(prefix = "/_server", endpoint = "tools_catalogue")]
pub async fn tool_catalogue() -> Result<Vec<AgentTool>, ErrorBody> {
    let (_, actor) = super::ssr::context().await?;
    crate::backend::services::agents::tool_catalogue(&actor).map_err(super::ssr::err)
}
