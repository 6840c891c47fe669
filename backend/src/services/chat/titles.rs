//! Conversation titles: a new conversation is titled after the first line of its first
//! question; on request the agent's model writes a short one.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::conversations::{owned, rename};
use super::engine::{self, Turn};
use super::turns::record_usage;
use crate::actor::Actor;
use crate::services::{agents, billing, providers};
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::agents::Agent;
use aerie_contract::chat::Conversation;
use aerie_contract::ids::{AgentId, ConversationId};
use aerie_contract::{CallEndpoint, ErrorCode};

/// The first non-blank line of a question, cut at 60 characters (`New chat` when there is none).
pub(super) fn title_from(message: &str) -> String {
    let line = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("New chat")
        .trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

/// Asks the agent's model for a short title and stores it.
pub async fn regenerate_title(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let c = owned(ctx, p, id).await?;
    let agent_id = c
        .agent_id
        .map(AgentId)
        .ok_or_else(|| Error::invalid("conversation_id", "The conversation has no agent."))?;
    let agent = agents::find_visible(ctx, p, agent_id).await?;
    let history = store::conversations::messages(ctx.db(), p.org_id, id).await?;
    if history.is_empty() {
        return Err(Error::invalid(
            "conversation_id",
            "The conversation has no messages to title yet.",
        ));
    }
    let provider = providers::resolve(ctx, p.org_id, agent.provider_id).await?;
    let transcript: String = history
        .iter()
        .take(6)
        .map(|m| {
            format!(
                "{}: {}\n",
                m.role,
                m.content.chars().take(500).collect::<String>()
            )
        })
        .collect();
    let titler = Agent {
        system_prompt: String::new(),
        tools: Vec::new(),
        ..agent.clone()
    };
    let turn = Turn {
        agent: &titler,
        provider: &provider,
        knowledge: None,
        messages: vec![json!({"role": "user", "content": format!(
            "Write a short title (at most 6 words, no quotes, no trailing punctuation) for this conversation:\n\n{transcript}"
        )})],
        passthrough: serde_json::Map::new(),
        run_agent_tools: false,
        show_reasoning: false,
        meter: None,
        hold: None,
    };
    let hold = billing::Meter::for_request(ctx, p, &titler.model)
        .await?
        .reserve(&turn.first_request(false))
        .await?;
    let turn = Turn {
        hold: Some(hold),
        ..turn
    };
    let out = engine::run(ctx, turn, None, &CancellationToken::new()).await;
    record_usage(ctx, p, &agent, true, &provider, &out, CallEndpoint::Title);
    if let Some((code, detail)) = out.error {
        return Err(Error::detailed(code, detail));
    }
    let title = out
        .content
        .trim()
        .trim_matches('"')
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if title.is_empty() {
        return Err(Error::detailed(
            ErrorCode::Upstream,
            "The model answered an empty title.",
        ));
    }
    rename(ctx, actor, id, &title.chars().take(200).collect::<String>()).await
}
