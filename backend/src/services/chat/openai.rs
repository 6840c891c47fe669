//! The OpenAI-compatible API (`/v1/chat/completions`, `/v1/models`): `model` names an agent
//! (id or name) or a provider's model ([`models`](super::models)); the agent's prompt comes
//! first, then the passages of its knowledge bases for the last user message (their citations
//! go back with the answer), then the client's messages; sampling parameters, client tools and
//! `response_format` pass through. Stateless, like OpenAI's: no conversation is stored, every
//! call writes a usage record.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::engine::{self, Outcome, Turn};
use super::events::TurnEvent;
use super::models;
use crate::actor::{Actor, Principal};
use crate::services::guardrails::policy::{self, Compiled};
use crate::services::guardrails::screen::{self, Screened};
use crate::services::{billing, knowledge, providers, runs};
use crate::{AppContext, Error, Result};
use aerie_contract::agents::Agent;
use aerie_contract::chat::Citation;
use aerie_contract::guardrails::{DlpFinding, GuardrailDirection};
use aerie_contract::openai::ModelKind;
use aerie_contract::{ApprovalMode, CallEndpoint, ErrorCode};

/// A validated request, ready to run.
pub struct Prepared {
    pub principal: Principal,
    pub agent: Arc<Agent>,
    /// `model` named a stored agent (else a provider model).
    pub kind: ModelKind,
    pub provider: providers::ResolvedProvider,
    /// The passages of the agent's knowledge bases the model is given.
    pub citations: Vec<Citation>,
    pub messages: Vec<Value>,
    pub passthrough: Map<String, Value>,
    pub stream: bool,
    pub include_usage: bool,
    /// The `model` as the client sent it (echoed back).
    pub model: String,
    /// Where the usage is recorded: `/v1/chat/completions`, or a governed run.
    pub endpoint: CallEndpoint,
    /// The guardrail policy answers are screened with (a route's own, or the organisation's).
    guardrails: Arc<Compiled>,
    /// The credit meter of the completion's model calls and the first call's hold.
    meter: Option<billing::Meter>,
    hold: Option<billing::Hold>,
}

/// Checks the request and resolves its agent and provider.
pub async fn prepare(
    ctx: &AppContext,
    actor: &Actor,
    body: Map<String, Value>,
) -> Result<Prepared> {
    let p = actor.principal()?.clone();
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.trim().to_owned(),
        _ => {
            return Err(Error::invalid(
                "model",
                "model field is required: an agent id or name, or a provider model (see GET /v1/models).",
            ));
        }
    };
    let mut messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(Error::invalid(
                "messages",
                "messages must be a non-empty array of chat messages.",
            ));
        }
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if ![
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
            "function",
        ]
        .contains(&role)
        {
            return Err(Error::invalid(
                "messages",
                format!("messages[{i}].role must be system, developer, user, assistant or tool."),
            ));
        }
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::invalid("stream", "stream must be a boolean.")),
    };
    match body.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_f64() == Some(1.0) => {}
        Some(_) => return Err(Error::invalid("n", "Only n=1 is supported.")),
    }
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut passthrough = body;
    passthrough.remove("user");
    // A route's name comes first: a route governs the model it names.
    let (target, guardrails) = match runs::routes::named(ctx, p.org_id, &model).await? {
        Some(row) => {
            let route = runs::routes::to_dto(&row)?;
            let target = runs::routes::target(ctx, &p, &route).await?;
            let guardrails = runs::routes::guardrails(ctx, p.org_id, &route).await?;
            let can_ask = route.approval != ApprovalMode::Never;
            let asked = screen_messages(ctx, &p, &mut messages, &guardrails, can_ask).await?;
            if let Some(cap) = route.max_output_tokens {
                cap_output(&mut passthrough, cap);
            }
            let mut body = passthrough.clone();
            body.insert("messages".to_owned(), Value::Array(messages.clone()));
            let estimate =
                billing::estimate(ctx, &target.agent.model, &Value::Object(body)).await?;
            if runs::needs_approval(&route, estimate, !asked.is_empty()) {
                return Err(
                    runs::pause_completion(ctx, &p, &route, &messages, asked, estimate).await,
                );
            }
            (target, guardrails)
        }
        None => {
            let target = models::resolve(ctx, &p, &model).await?;
            let guardrails = policy::compiled(ctx, p.org_id).await?;
            screen_messages(ctx, &p, &mut messages, &guardrails, false).await?;
            (target, guardrails)
        }
    };
    build(
        ctx,
        p,
        target,
        messages,
        passthrough,
        guardrails,
        CallEndpoint::ChatCompletions,
        stream,
        include_usage,
        model,
    )
    .await
}

/// Sets the answer's token cap to at most `cap` (`max_tokens` and `max_completion_tokens`).
fn cap_output(passthrough: &mut Map<String, Value>, cap: u32) {
    let mut capped = false;
    for key in ["max_completion_tokens", "max_tokens"] {
        if let Some(v) = passthrough.get_mut(key) {
            capped = true;
            if v.as_u64().is_none_or(|n| n > u64::from(cap)) {
                *v = Value::from(cap);
            }
        }
    }
    if !capped {
        passthrough.insert("max_tokens".to_owned(), Value::from(cap));
    }
}

/// A request for `target` whose messages were screened: finds its agent's passages, admits
/// it under the caller's rate limits and holds its worst-case cost.
#[expect(clippy::too_many_arguments)]
pub(crate) async fn build(
    ctx: &AppContext,
    p: Principal,
    target: models::Target,
    messages: Vec<Value>,
    passthrough: Map<String, Value>,
    guardrails: Arc<Compiled>,
    endpoint: CallEndpoint,
    stream: bool,
    include_usage: bool,
    model: String,
) -> Result<Prepared> {
    let provider = providers::resolve(ctx, p.org_id, target.agent.provider_id).await?;
    let citations =
        knowledge::agent_citations(ctx, p.org_id, &target.agent, &last_user_text(&messages))
            .await?;
    let meter = billing::Meter::for_request(ctx, &p, &target.agent.model).await?;
    let mut prep = Prepared {
        principal: p,
        agent: target.agent,
        kind: target.kind,
        provider,
        citations,
        messages,
        passthrough,
        stream,
        include_usage,
        model,
        endpoint,
        guardrails,
        meter: None,
        hold: None,
    };
    let hold = meter
        .reserve(&turn(&prep, None).first_request(stream))
        .await?;
    prep.meter = Some(meter);
    prep.hold = Some(hold);
    Ok(prep)
}

/// Screens the text the client wrote (its `system`, `developer` and `user` messages, plain or
/// as text parts) with `guardrails` before anything reads it: a `block` finding refuses the
/// request, `redact` ones are replaced in place; every finding is recorded. With `can_ask`
/// (a route whose runs an approver can agree to), `ask` findings are left in place and
/// answered; otherwise they block.
pub(crate) async fn screen_messages(
    ctx: &AppContext,
    p: &Principal,
    messages: &mut [Value],
    guardrails: &Arc<Compiled>,
    can_ask: bool,
) -> Result<Vec<DlpFinding>> {
    let mut found = Screened::default();
    let mut asked = Vec::new();
    for m in messages.iter_mut() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if !matches!(role, "system" | "developer" | "user") {
            continue;
        }
        let texts: Vec<&mut Value> = match m.get_mut("content") {
            Some(text @ Value::String(_)) => vec![text],
            Some(Value::Array(parts)) => parts
                .iter_mut()
                .filter_map(|part| part.get_mut("text"))
                .filter(|t| t.is_string())
                .collect(),
            _ => Vec::new(),
        };
        for text in texts {
            let Some(raw) = text.as_str() else { continue };
            let screened = screen::input_with(
                ctx,
                p,
                CallEndpoint::ChatCompletions,
                guardrails.clone(),
                can_ask,
                raw,
                None,
            )
            .await?;
            if screened.found() {
                *text = Value::String(match screened.ask {
                    Some(ask) => {
                        asked.extend(ask.findings);
                        ask.allowed_text
                    }
                    None => screened.text,
                });
                found.noted.extend(screened.noted);
            }
        }
    }
    screen::record(
        ctx,
        p,
        CallEndpoint::ChatCompletions,
        GuardrailDirection::Input,
        &found,
        None,
        None,
    )
    .await?;
    Ok(asked)
}

/// The text of the last user message (its text parts, for content arrays).
fn last_user_text(messages: &[Value]) -> String {
    let Some(m) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn turn(prep: &Prepared, hold: Option<billing::Hold>) -> Turn<'_> {
    let client_tools = prep
        .passthrough
        .get("tools")
        .is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()));
    Turn {
        agent: &prep.agent,
        provider: &prep.provider,
        messages: prep.messages.clone(),
        knowledge: knowledge::knowledge_instructions(&prep.citations),
        passthrough: prep.passthrough.clone(),
        run_agent_tools: !client_tools,
        show_reasoning: true,
        meter: prep.meter.clone(),
        hold,
    }
}

fn record(ctx: &AppContext, prep: &Prepared, out: &Outcome) {
    super::turns::record_usage(
        ctx,
        &prep.principal,
        &prep.agent,
        prep.kind == ModelKind::Agent,
        &prep.provider,
        out,
        prep.endpoint,
    );
}

/// Runs a non-streaming completion. A failure before any output is an error; the usage is
/// recorded either way.
pub async fn complete(ctx: &AppContext, prep: &mut Prepared) -> Result<Outcome> {
    complete_until(ctx, prep, &CancellationToken::new()).await
}

/// [`complete`], stopped when `cancel` fires (the outcome then says `cancelled`).
pub async fn complete_until(
    ctx: &AppContext,
    prep: &mut Prepared,
    cancel: &CancellationToken,
) -> Result<Outcome> {
    let hold = prep.hold.take();
    let mut out = engine::run(ctx, turn(prep, hold), None, cancel).await;
    record(ctx, prep, &out);
    if let Some((code, detail)) = &out.error {
        return Err(Error::detailed(*code, detail.clone()));
    }
    // When the policy scans answers, a whole answer is screened before it is returned.
    if let Some(text) = screen::answer(
        ctx,
        &prep.principal,
        prep.guardrails.clone(),
        prep.endpoint,
        &out.content,
        None,
        None,
    )
    .await?
    {
        out.content = text;
    }
    Ok(out)
}

/// Starts a streaming completion in the background. Its pieces arrive on the receiver, then
/// [`TurnEvent::Completed`] (with the usage) or [`TurnEvent::Failed`]. Dropping the receiver
/// stops the upstream.
pub fn stream(ctx: &AppContext, mut prep: Prepared) -> mpsc::Receiver<TurnEvent> {
    let (tx, rx) = mpsc::channel(64);
    let ctx = ctx.clone();
    tokio::spawn(async move {
        // Registered so that shutdown can end the stream (it is not cancellable by id).
        let token = CancellationToken::new();
        let id = aerie_contract::ids::MessageId::new();
        let p = &prep.principal;
        ctx.in_flight().add(id, p.org_id, p.user_id, token.clone());
        if !prep.citations.is_empty() {
            let _ = tx.send(TurnEvent::Citations(prep.citations.clone())).await;
        }
        let hold = prep.hold.take();
        let out = engine::run(&ctx, turn(&prep, hold), Some(&tx), &token).await;
        ctx.in_flight().remove(id);
        record(&ctx, &prep, &out);
        let last = match out.error {
            Some((code, detail)) => TurnEvent::Failed { code, detail },
            // Only shutdown cancels a stream whose client is still reading.
            None if out.cancelled => TurnEvent::Failed {
                code: ErrorCode::Unavailable,
                detail: "The server is shutting down; the answer was cut short. Retry the request."
                    .to_owned(),
            },
            None => TurnEvent::Completed {
                finish_reason: out.finish_reason,
                usage: out.usage,
            },
        };
        let _ = tx.send(last).await;
    });
    rx
}
