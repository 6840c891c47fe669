//! Turns: one question of a user in a conversation, answered by the engine. The question and an
//! empty answer are stored first; the turn then runs in the background so a finished, failed or
//! cancelled answer is always stored, and its owner can cancel it while it streams.

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conversations::{self, owned};
use super::engine::{self, Outcome, Turn};
use super::events::TurnEvent;
use super::images;
use super::messages::message_dto;
use super::models::Target;
use super::titles::title_from;
use crate::actor::{Actor, Principal};
use crate::db::entities::{conversations as conversation_rows, messages};
use crate::services::guardrails::screen::{self, Screened};
use crate::services::guardrails::{ask, policy};
use crate::services::{agents, billing, knowledge, providers, usage};
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::agents::Agent;
use aerie_contract::chat::{Citation, Message, ToolCallRecord};
use aerie_contract::guardrails::GuardrailDirection;
use aerie_contract::ids::{AgentId, ConversationId, MessageId};
use aerie_contract::{CallEndpoint, ErrorCode, MessageRole, MessageStatus};

/// Records a model call of a turn (or a title) in the usage log: `agent` answered (a stored
/// agent when `linked`, else a provider model's stand-in, recorded without an agent).
pub(super) fn record_usage(
    ctx: &AppContext,
    p: &Principal,
    agent: &Agent,
    linked: bool,
    provider: &providers::ResolvedProvider,
    out: &Outcome,
    endpoint: CallEndpoint,
) {
    usage::record(
        ctx,
        usage::Call {
            org: p.org_id,
            user: Some(p.user_id),
            api_key: p.api_key_id(),
            agent: linked.then_some(agent.id),
            provider: Some(provider.id),
            model: out
                .upstream_model
                .clone()
                .unwrap_or_else(|| agent.model.clone()),
            endpoint,
            input_tokens: out.usage.prompt_tokens,
            output_tokens: out.usage.completion_tokens,
            latency_ms: out.latency_ms,
            status: out.status(),
            credits: out.credits,
        },
    );
}

/// A chat turn in a conversation, as `/api/chat` and `/v1/chat` ask for it.
#[derive(Clone, Debug)]
pub struct TurnRequest {
    pub conversation_id: Option<ConversationId>,
    /// `/v1/chat`'s `session_id` (seed 002): the UUID of one of the caller's conversations, or a
    /// tracking key of the client's choosing (a new key starts a conversation under it).
    pub tracking_key: Option<String>,
    pub agent_id: Option<AgentId>,
    pub message: String,
    pub reasoning_enabled: Option<bool>,
    pub images: Vec<String>,
    pub endpoint: CallEndpoint,
}

/// What answers a turn and from which knowledge, when the request names a model instead of
/// leaving it to the conversation's agent (`/v1/query/`).
pub struct Answerer {
    pub target: Target,
    /// The passages the model is given (instead of the agent's own knowledge bases').
    pub citations: Vec<Citation>,
    /// The question as the guardrails screened it before it was searched for.
    pub screened: Option<Screened>,
}

/// A started turn: its ids, whether reasoning is shown, and its events (the last one is
/// [`TurnEvent::Finished`] or [`TurnEvent::Failed`]; open them with
/// [`TurnStream`](super::TurnStream)).
pub struct TurnHandle {
    pub conversation_id: ConversationId,
    /// What continues this conversation (`/v1/chat`'s `session_id`): the client's tracking key,
    /// else the conversation's id.
    pub conversation_key: String,
    pub user_message_id: MessageId,
    pub message_id: MessageId,
    pub reasoning: bool,
    pub events: mpsc::Receiver<TurnEvent>,
}

/// The stored message as the model sees it (a role the code does not know is left out).
fn history_message(m: &messages::Model) -> Option<Value> {
    let role = m.role().ok()?;
    match role {
        MessageRole::User => Some(json!({"role": role.as_str(), "content": m.content})),
        MessageRole::Assistant if !m.content.is_empty() => {
            Some(json!({"role": role.as_str(), "content": m.content}))
        }
        MessageRole::Assistant => None,
    }
}

/// Checks the question's text; answers its validated images.
fn checked_question(req: &TurnRequest) -> Result<Vec<String>> {
    if req.message.trim().is_empty() && req.images.is_empty() {
        return Err(Error::invalid("message", "message field is required."));
    }
    if req.message.chars().count() > 200_000 {
        return Err(Error::invalid(
            "message",
            "message must be at most 200000 characters.",
        ));
    }
    images::validate(&req.images)
}

/// Everything a turn needs before anything is stored.
struct Prepared {
    conversation: Option<conversation_rows::Model>,
    tracking_key: Option<String>,
    agent: Agent,
    /// `agent` is stored (else a provider model's stand-in).
    linked: bool,
    provider: providers::ResolvedProvider,
    images: Vec<String>,
    reasoning: bool,
    citations: Vec<Citation>,
    /// The turn's credit meter and its first call's hold (taken before anything is stored).
    meter: Option<billing::Meter>,
    hold: Option<billing::Hold>,
    /// What the guardrails found in the question (recorded once it is stored).
    screened: Screened,
}

impl Prepared {
    /// The engine's request for this turn over `history`.
    fn turn(&mut self, history: Vec<Value>) -> Turn<'_> {
        Turn {
            agent: &self.agent,
            provider: &self.provider,
            knowledge: knowledge::knowledge_instructions(&self.citations),
            messages: history,
            passthrough: serde_json::Map::new(),
            run_agent_tools: true,
            show_reasoning: self.reasoning,
            meter: self.meter.clone(),
            hold: self.hold.take(),
        }
    }

    /// Admits the turn under the caller's rate limits and holds the credits of its first model
    /// call, sized on the conversation so far.
    async fn reserve(&mut self, ctx: &AppContext, p: &Principal, question: Value) -> Result<()> {
        let mut history = match &self.conversation {
            Some(c) => store::conversations::messages(ctx.db(), p.org_id, ConversationId(c.id))
                .await?
                .iter()
                .filter_map(history_message)
                .collect(),
            None => Vec::new(),
        };
        history.push(question);
        let meter = billing::Meter::for_request(ctx, p, &self.agent.model).await?;
        let hold = meter
            .reserve(&self.turn(history).first_request(true))
            .await?;
        self.meter = Some(meter);
        self.hold = Some(hold);
        Ok(())
    }
}

/// Validates the request and finds its conversation (if it continues one), agent and provider;
/// checks the model takes the images; retrieves the passages of the agent's knowledge bases.
async fn prepare(
    ctx: &AppContext,
    p: &Principal,
    req: &mut TurnRequest,
    mut answerer: Option<Answerer>,
) -> Result<Prepared> {
    let images = checked_question(req)?;
    // The guardrails see the text first: knowledge retrieval embeds it, a provider answers it.
    let screened = match answerer.as_mut().and_then(|a| a.screened.take()) {
        Some(screened) => screened,
        None => {
            screen::input(
                ctx,
                p,
                req.endpoint,
                &req.message,
                req.conversation_id.map(|c| c.0),
            )
            .await?
        }
    };
    req.message.clone_from(&screened.text);
    let tracking_key = conversations::tracking_key(req.tracking_key.take())?;
    let conversation = match (req.conversation_id, tracking_key.as_deref()) {
        (Some(id), _) => Some(owned(ctx, p, id).await?),
        (None, Some(key)) => conversations::find_by_tracking_key(ctx, p, key).await?,
        (None, None) => None,
    };
    let (agent, linked, citations) = match answerer {
        Some(a) => (
            (*a.target.agent).clone(),
            a.target.stored_agent().is_some(),
            Some(a.citations),
        ),
        None => {
            let id = match (req.agent_id, conversation.as_ref().and_then(|c| c.agent_id)) {
                (Some(a), _) => a,
                (None, Some(a)) => AgentId(a),
                (None, None) => {
                    return Err(Error::invalid("agent_id", "agent_id field is required."));
                }
            };
            (agents::find_visible(ctx, p, id).await?, true, None)
        }
    };
    let provider = providers::resolve(ctx, p.org_id, agent.provider_id).await?;
    if !images.is_empty() && !provider.models.is_empty() && !provider.vision(&agent.model) {
        return Err(Error::invalid(
            "images",
            format!(
                "The agent's model `{}` does not accept images; an admin can mark a vision model on the provider.",
                agent.model
            ),
        ));
    }
    let reasoning = req.reasoning_enabled.unwrap_or(agent.reasoning_enabled);
    let citations = match citations {
        Some(c) => c,
        None => knowledge::agent_citations(ctx, p.org_id, &agent, &req.message).await?,
    };
    Ok(Prepared {
        conversation,
        tracking_key,
        agent,
        linked,
        provider,
        images,
        reasoning,
        citations,
        meter: None,
        hold: None,
        screened,
    })
}

/// What [`store_question`] stored.
struct Stored {
    conversation_id: ConversationId,
    conversation_key: String,
    previous: Vec<messages::Model>,
    question: messages::Model,
    answer: messages::Model,
}

/// Stores the question and an empty (streaming) answer in one transaction, in a new
/// conversation unless the turn continues one.
async fn store_question(
    ctx: &AppContext,
    p: &Principal,
    req: &TurnRequest,
    prepared: &mut Prepared,
) -> Result<Stored> {
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let tracking_key = prepared.tracking_key.take();
    let conversation_key = tracking_key.clone();
    let conversation = match prepared.conversation.take() {
        Some(c) => c,
        None => {
            let source = if req.endpoint == CallEndpoint::ApiChat {
                "web"
            } else {
                "api"
            };
            conversations::insert(
                &txn,
                p,
                prepared.linked.then_some(prepared.agent.id),
                title_from(&req.message),
                source,
                tracking_key,
            )
            .await?
        }
    };
    let conversation_id = ConversationId(conversation.id);
    let conversation_key = conversation_key.unwrap_or_else(|| conversation_id.0.to_string());
    let previous = store::conversations::messages(&txn, p.org_id, conversation_id).await?;
    let seq = previous.last().map_or(0, |m| m.seq + 1);
    let question = store::conversations::insert_message(
        &txn,
        store::conversations::NewMessage {
            org: p.org_id,
            conversation: conversation_id,
            seq,
            role: MessageRole::User,
            content: &req.message,
            images: i32::try_from(prepared.images.len()).unwrap_or(0),
            status: MessageStatus::Complete,
        },
    )
    .await?;
    let answer = store::conversations::insert_message(
        &txn,
        store::conversations::NewMessage {
            org: p.org_id,
            conversation: conversation_id,
            seq: seq + 1,
            role: MessageRole::Assistant,
            content: "",
            images: 0,
            status: MessageStatus::Streaming,
        },
    )
    .await?;
    if previous.is_empty() && conversation.title == "New chat" {
        store::conversations::set_title(
            &txn,
            p.org_id,
            conversation,
            title_from(&req.message),
            now,
        )
        .await?;
    } else {
        store::conversations::touch(&txn, p.org_id, conversation_id, now).await?;
    }
    txn.commit().await?;
    Ok(Stored {
        conversation_id,
        conversation_key,
        previous,
        question,
        answer,
    })
}

/// Validates and stores the question, then runs the turn in the background.
pub async fn start_turn(ctx: &AppContext, actor: &Actor, req: TurnRequest) -> Result<TurnHandle> {
    start_turn_with(ctx, actor, req, None).await
}

/// [`start_turn`], answered by `answerer` when given instead of the conversation's agent.
pub(crate) async fn start_turn_with(
    ctx: &AppContext,
    actor: &Actor,
    mut req: TurnRequest,
    answerer: Option<Answerer>,
) -> Result<TurnHandle> {
    let p = actor.principal()?.clone();
    let mut prepared = prepare(ctx, &p, &mut req, answerer).await?;
    // A refused reservation is a 402 before anything is stored; a failure after it releases
    // the hold (dropped).
    prepared
        .reserve(
            ctx,
            &p,
            images::user_message(&req.message, &prepared.images),
        )
        .await?;
    let stored = store_question(ctx, &p, &req, &mut prepared).await?;
    if let Err(e) = screen::record(
        ctx,
        &p,
        req.endpoint,
        GuardrailDirection::Input,
        &prepared.screened,
        Some(stored.conversation_id.0),
        Some(stored.question.id),
    )
    .await
    {
        tracing::error!(error = %e, "recording guardrail findings failed");
    }

    // The model sees the history (memory), then the question with its images.
    let mut history: Vec<Value> = stored.previous.iter().filter_map(history_message).collect();
    history.push(images::user_message(&req.message, &prepared.images));

    let (tx, rx) = mpsc::channel(64);
    let token = CancellationToken::new();
    let message_id = MessageId(stored.answer.id);
    ctx.in_flight()
        .add(message_id, p.org_id, p.user_id, token.clone());
    // Registered before the turn runs, so a decision sent as soon as the caller sees the
    // `dlp_finding` event finds it.
    let waiting = prepared.screened.ask.take().map(|asked| Waiting {
        decision: ctx
            .guardrails()
            .pending
            .register(message_id, p.org_id, p.user_id),
        asked,
        question: stored.question.clone(),
    });
    let ctx2 = ctx.clone();
    let endpoint = req.endpoint;
    let reasoning = prepared.reasoning;
    let answer = stored.answer;
    tokio::spawn(async move {
        run_turn(
            ctx2, p, prepared, history, answer, token, tx, endpoint, waiting,
        )
        .await;
    });
    Ok(TurnHandle {
        conversation_id: stored.conversation_id,
        conversation_key: stored.conversation_key,
        user_message_id: MessageId(stored.question.id),
        message_id,
        reasoning,
        events: rx,
    })
}

/// What the answer stores of a turn's outcome.
fn finished_answer(
    out: &Outcome,
    agent: &Agent,
    reasoning: bool,
    citations: &[Citation],
) -> store::conversations::FinishedAnswer {
    let status = match (&out.error, out.cancelled) {
        (Some(_), _) => MessageStatus::Error,
        (None, true) => MessageStatus::Cancelled,
        (None, false) => MessageStatus::Complete,
    };
    let tool_calls: Vec<ToolCallRecord> = out.tool_calls.clone();
    store::conversations::FinishedAnswer {
        content: out.content.clone(),
        reasoning: Some(out.reasoning.clone()).filter(|r| reasoning && !r.is_empty()),
        tool_calls: (!tool_calls.is_empty())
            .then(|| serde_json::to_value(&tool_calls).unwrap_or_default()),
        citations: (!citations.is_empty())
            .then(|| serde_json::to_value(citations).unwrap_or_default()),
        status,
        error: out.error.as_ref().map(|(_, d)| d.clone()),
        model: Some(
            out.upstream_model
                .clone()
                .unwrap_or_else(|| agent.model.clone()),
        ),
        input_tokens: i32::try_from(out.usage.prompt_tokens).ok(),
        output_tokens: i32::try_from(out.usage.completion_tokens).ok(),
        latency_ms: i32::try_from(out.latency_ms).ok(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_turn(
    ctx: AppContext,
    p: Principal,
    mut prepared: Prepared,
    history: Vec<Value>,
    answer: messages::Model,
    token: CancellationToken,
    tx: mpsc::Sender<TurnEvent>,
    endpoint: CallEndpoint,
    waiting: Option<Waiting>,
) {
    let message_id = MessageId(answer.id);
    if !prepared.citations.is_empty() {
        // A client that went away meanwhile is noticed by the engine's first send.
        let _ = tx
            .send(TurnEvent::Citations(prepared.citations.clone()))
            .await;
    }
    let mut history = history;
    let blocked = match waiting {
        Some(w) => {
            !decided(
                &ctx,
                &p,
                w,
                &mut history,
                &prepared.images,
                &token,
                &tx,
                message_id,
            )
            .await
        }
        None => false,
    };
    let out = if blocked {
        Outcome {
            error: Some((
                ErrorCode::GuardrailBlocked,
                "The message was not sent: what the guardrails found in it was blocked.".to_owned(),
            )),
            ..Outcome::default()
        }
    } else {
        // When the client goes away the engine stops the upstream and keeps what was generated.
        let mut out = engine::run(&ctx, prepared.turn(history), Some(&tx), &token).await;
        screen_answer(&ctx, &p, endpoint, &mut out, &answer).await;
        out
    };
    let Prepared {
        agent,
        linked,
        provider,
        reasoning,
        citations,
        ..
    } = prepared;
    ctx.in_flight().remove(message_id);
    if !blocked {
        record_usage(&ctx, &p, &agent, linked, &provider, &out, endpoint);
    }
    let stored = store::conversations::finish_answer(
        ctx.db(),
        p.org_id,
        answer,
        finished_answer(&out, &agent, reasoning, &citations),
    )
    .await
    .map_err(Error::from)
    .and_then(|m| message_dto(&m));
    let event = match (stored, out.error) {
        (Ok(m), None) => TurnEvent::Finished {
            message: Box::new(m),
            usage: out.usage,
        },
        (Ok(_), Some((code, detail))) => TurnEvent::Failed { code, detail },
        (Err(e), _) => {
            tracing::error!(error = %e, "storing a chat answer failed");
            TurnEvent::Failed {
                code: ErrorCode::Internal,
                detail: ErrorCode::Internal.info().detail.to_owned(),
            }
        }
    };
    let _ = tx.send(event).await;
}

/// A turn whose question holds `ask` findings, waiting for its caller's decision.
struct Waiting {
    asked: screen::Asked,
    decision: tokio::sync::oneshot::Receiver<aerie_contract::guardrails::DlpChoice>,
    question: messages::Model,
}

/// Puts the `ask` findings to the caller (a `dlp_finding` event) and applies the decision:
/// `allow` sends (and stores) the question with only its `redact` findings replaced, `redact`
/// keeps it as screened; answers false when the turn is blocked (the decision, its timeout, a
/// cancel, or the client going away).
#[allow(clippy::too_many_arguments)]
async fn decided(
    ctx: &AppContext,
    p: &Principal,
    w: Waiting,
    history: &mut Vec<Value>,
    images: &[String],
    token: &CancellationToken,
    tx: &mpsc::Sender<TurnEvent>,
    message_id: MessageId,
) -> bool {
    use aerie_contract::guardrails::DlpChoice;
    let _ = tx
        .send(TurnEvent::DlpFinding(w.asked.findings.clone()))
        .await;
    let stop = async {
        tokio::select! {
            () = token.cancelled() => {}
            () = tx.closed() => {}
        }
    };
    let ids = (w.question.conversation_id, w.question.id, message_id);
    match ask::await_decision(ctx, p, &w.asked, w.decision, stop, ids).await {
        DlpChoice::Allow => {
            history.pop();
            history.push(images::user_message(&w.asked.allowed_text, images));
            let text = w.asked.allowed_text.clone();
            if let Err(e) =
                store::conversations::set_content(ctx.db(), p.org_id, w.question, text).await
            {
                tracing::error!(error = %e, "storing an allowed question failed");
            }
            true
        }
        DlpChoice::Redact => true,
        DlpChoice::Block => false,
    }
}

/// When the organisation's policy scans answers: records the findings in `out`'s answer and
/// keeps the ones it redacts or blocks out of what is stored (and of the non-streamed reply,
/// which is read from the stored message). A failure is logged: the answer exists either way.
async fn screen_answer(
    ctx: &AppContext,
    p: &Principal,
    endpoint: CallEndpoint,
    out: &mut Outcome,
    answer: &messages::Model,
) {
    let screened = async {
        let compiled = policy::compiled(ctx, p.org_id).await?;
        screen::answer(
            ctx,
            p,
            compiled,
            endpoint,
            &out.content,
            Some(answer.conversation_id),
            Some(answer.id),
        )
        .await
    };
    match screened.await {
        Ok(Some(text)) => out.content = text,
        Ok(None) => {}
        // Streamed already and stored as it is: the failure is the operator's to see.
        Err(e) => tracing::error!(error = %e, "screening an answer failed"),
    }
}

/// Cancels a turn in flight; the partial answer is kept. Answers the message as stored.
pub async fn cancel(ctx: &AppContext, actor: &Actor, id: MessageId) -> Result<Message> {
    let p = actor.principal()?;
    let m = store::conversations::find_message(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    owned(ctx, p, ConversationId(m.conversation_id)).await?;
    if ctx.in_flight().cancel(id, p.org_id, p.user_id) {
        // Wait (briefly) until the turn has stored what it had.
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if let Some(row) = store::conversations::find_message(ctx.db(), p.org_id, id).await?
                && row.status()? != MessageStatus::Streaming
            {
                return message_dto(&row);
            }
        }
    }
    let m = store::conversations::find_message(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    message_dto(&m)
}
