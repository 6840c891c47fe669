//! Egret's RAG query (seed 000, `POST /v1/query/`): a question about one domain (a knowledge
//! base of the caller's organisation that they see) answered by a model from the domain's best
//! passages, numbered as citations, in a session (a conversation) that later queries continue.
//! The organisation's `allowed_domains`, when not empty, names the only domains it may query
//! (seed 001's 403). The answer runs as a chat turn (`services::chat::turns`), so it is stored,
//! cancellable and streamed like every other.

use super::retrieve;
use super::search::{self, Query};
use super::{category_by_key, find_visible};
use crate::actor::Actor;
use crate::services::chat::models::{self, Target};
use crate::services::chat::turns::{Answerer, TurnHandle, TurnRequest, start_turn_with};
use crate::services::guardrails::screen;
use crate::services::orgs;
use crate::{AppContext, Error, Result, store};
use aerie_contract::CallEndpoint;
use aerie_contract::chat::Citation;
use aerie_contract::ids::KbId;
use aerie_contract::knowledge::SearchMode;
use aerie_contract::query::QueryRequest;

/// Seed 001's 403 sentence.
pub const NOT_ALLOWED: &str = "Your organization does not have access to this domain.";

/// A started query: the turn, and what its answer echoes.
pub struct QueryStarted {
    pub turn: TurnHandle,
    /// The domain's slug.
    pub domain: String,
    /// The `model` that answers, as `GET /v1/models/` lists it.
    pub model: String,
    pub citations: Vec<Citation>,
}

/// `POST /v1/query/`: checks the question, the domain (allowed, then visible), the category
/// and the model, retrieves the passages and starts the answer.
pub async fn query(ctx: &AppContext, actor: &Actor, input: QueryRequest) -> Result<QueryStarted> {
    let p = actor.principal()?;
    let text = search::query_text(&input.query)?;
    // The guardrails see the question before it is embedded and searched for.
    let screened = screen::input(ctx, p, CallEndpoint::Query, text, None).await?;
    let text = screened.text.as_str();
    let top_k = search::top_k(input.top_k)?;
    let slug = input
        .domain
        .as_deref()
        .map(|d| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| Error::invalid("domain", "domain field is required."))?;
    // Before the lookup: a domain outside the list is refused whether it exists or not.
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    let allowed = orgs::domains(&org);
    if !allowed.is_empty() && !allowed.iter().any(|d| d.eq_ignore_ascii_case(&slug)) {
        return Err(Error::Refused(NOT_ALLOWED));
    }
    let row = store::knowledge_bases::find_by_slug(ctx.db(), p.org_id, &slug)
        .await?
        .ok_or(Error::NotFound)?;
    let (kb, _) = find_visible(ctx, p, KbId(row.id)).await?;
    let category = match input.category.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(category_by_key(ctx, p.org_id, KbId(kb.id), c, "domain").await?),
    };
    let (model, target): (String, Target) = match input.model.as_deref().map(str::trim) {
        None | Some("") => models::default(ctx, actor).await?,
        Some(m) => (m.to_owned(), models::resolve(ctx, p, m).await?),
    };
    let passages = retrieve::search_many(
        ctx,
        p.org_id,
        std::slice::from_ref(&kb),
        &Query {
            text,
            top_k,
            category,
            documents: None,
            mode: SearchMode::Hybrid,
        },
    )
    .await?;
    let citations = retrieve::citations(passages);
    let turn = start_turn_with(
        ctx,
        actor,
        TurnRequest {
            conversation_id: None,
            tracking_key: input.session_id,
            agent_id: None,
            message: text.to_owned(),
            reasoning_enabled: Some(false),
            images: Vec::new(),
            endpoint: CallEndpoint::Query,
        },
        Some(Answerer {
            target,
            citations: citations.clone(),
            screened: Some(screened.clone()),
        }),
    )
    .await?;
    Ok(QueryStarted {
        turn,
        domain: kb.slug,
        model,
        citations,
    })
}
