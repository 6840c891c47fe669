//! Conversations (= sessions) and chat turns. One engine ([`engine`]) serves `/api/chat`,
//! `/v1/chat` and `/v1/chat/completions`; this module keeps conversations and their messages,
//! starts turns in the background so a finished or cancelled answer is always stored, and lets
//! the owner cancel a turn in flight.

pub mod engine;
mod images;
pub mod openai;
mod think;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use sea_orm::Set;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{agents, providers, usage};
use crate::actor::{Actor, Principal};
use crate::db::entities::{conversations, messages};
use crate::store::{self, ts, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::agents::Agent;
use aerie_contract::chat::{
    ChatEvent, Conversation, Feedback, Message, MessagePage, NewConversation, ToolCallRecord,
};
use aerie_contract::ids::{AgentId, ConversationId, MessageId, OrgId, UserId};
use engine::{EngineEvent, Outcome, Turn};

/// Turns in flight on this instance, by answer message id.
#[derive(Default)]
pub struct InFlight {
    turns: Mutex<HashMap<MessageId, (OrgId, UserId, CancellationToken)>>,
}

impl InFlight {
    pub(crate) fn add(&self, id: MessageId, org: OrgId, user: UserId, token: CancellationToken) {
        if let Ok(mut m) = self.turns.lock() {
            m.insert(id, (org, user, token));
        }
    }

    pub(crate) fn remove(&self, id: MessageId) {
        if let Ok(mut m) = self.turns.lock() {
            m.remove(&id);
        }
    }

    fn cancel(&self, id: MessageId, org: OrgId, user: UserId) -> bool {
        let Ok(m) = self.turns.lock() else {
            return false;
        };
        match m.get(&id) {
            Some((o, u, token)) if *o == org && *u == user => {
                token.cancel();
                true
            }
            _ => false,
        }
    }

    /// Cancels every turn (shutdown): each stores what it has and ends its stream.
    pub fn cancel_all(&self) {
        if let Ok(m) = self.turns.lock() {
            for (_, _, token) in m.values() {
                token.cancel();
            }
        }
    }
}

pub fn conversation_dto(c: &conversations::Model) -> Conversation {
    Conversation {
        id: ConversationId(c.id),
        title: c.title.clone(),
        agent_id: c.agent_id.map(AgentId),
        parent_id: c.parent_id.map(ConversationId),
        branched_from_message_id: c.branched_from_message_id.map(MessageId),
        created_at: utc(c.created_at),
        updated_at: utc(c.updated_at),
    }
}

pub fn message_dto(m: &messages::Model) -> Message {
    Message {
        id: MessageId(m.id),
        conversation_id: ConversationId(m.conversation_id),
        role: m.role.clone(),
        content: m.content.clone(),
        reasoning: m.reasoning.clone(),
        tool_calls: m
            .tool_calls
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        images: u32::try_from(m.images).unwrap_or(0),
        status: m.status.clone(),
        error: m.error.clone(),
        model: m.model.clone(),
        input_tokens: m.input_tokens.map(i64::from),
        output_tokens: m.output_tokens.map(i64::from),
        latency_ms: m.latency_ms.map(i64::from),
        feedback: m.feedback,
        feedback_comment: m.feedback_comment.clone(),
        created_at: utc(m.created_at),
    }
}

async fn owned(
    ctx: &AppContext,
    p: &Principal,
    id: ConversationId,
) -> Result<conversations::Model> {
    store::conversations::find_for_user(ctx.db(), p.org_id, p.user_id, id)
        .await?
        .ok_or(Error::NotFound)
}

fn title_from(message: &str) -> String {
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

pub async fn list(
    ctx: &AppContext,
    actor: &Actor,
    limit: Option<u64>,
    offset: Option<u64>,
) -> Result<Vec<Conversation>> {
    let p = actor.principal()?;
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 200."));
    }
    Ok(store::conversations::list_for_user(
        ctx.db(),
        p.org_id,
        p.user_id,
        limit,
        offset.unwrap_or(0),
    )
    .await?
    .iter()
    .map(conversation_dto)
    .collect())
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: ConversationId) -> Result<Conversation> {
    Ok(conversation_dto(&owned(ctx, actor.principal()?, id).await?))
}

/// Stores a new conversation. With a tracking key, a conversation its owner started with the
/// same key meanwhile (a concurrent first turn) is answered instead.
async fn insert_conversation<C: sea_orm::ConnectionTrait>(
    db: &C,
    p: &Principal,
    agent: &Agent,
    title: String,
    source: &str,
    session_key: Option<String>,
) -> Result<conversations::Model> {
    let now = ts(Utc::now());
    let keyed = session_key.is_some();
    let row = conversations::ActiveModel {
        id: Set(ConversationId::new().0),
        org_id: Set(p.org_id.0),
        user_id: Set(p.user_id.0),
        agent_id: Set(Some(agent.id.0)),
        title: Set(title),
        parent_id: Set(None),
        branched_from_message_id: Set(None),
        source: Set(source.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        session_key: Set(session_key),
    };
    Ok(if keyed {
        store::conversations::insert_keyed(db, row).await?
    } else {
        store::conversations::insert(db, row).await?
    })
}

/// The longest `session_id` a client may choose, in characters (seed 002 sets none; the column
/// holds 200).
pub const MAX_SESSION_KEY_CHARS: usize = 200;

/// Checks a client's tracking key: at most [`MAX_SESSION_KEY_CHARS`] characters, no NUL (no
/// database stores it in text); an empty key is no key.
pub fn session_key(raw: Option<String>) -> Result<Option<String>> {
    let Some(key) = raw.filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if key.chars().count() > MAX_SESSION_KEY_CHARS {
        return Err(Error::invalid(
            "session_id",
            format!("session_id must be at most {MAX_SESSION_KEY_CHARS} characters."),
        ));
    }
    if key.contains('\0') {
        return Err(Error::invalid(
            "session_id",
            "session_id must not contain NUL characters.",
        ));
    }
    Ok(Some(key))
}

/// The caller's conversation a `session_id` names: the UUID of one of their conversations, else
/// the conversation they started with that key (`None`: a new session).
async fn find_session(
    ctx: &AppContext,
    p: &Principal,
    key: &str,
) -> Result<Option<conversations::Model>> {
    if let Ok(id) = uuid::Uuid::parse_str(key)
        && let Some(c) =
            store::conversations::find_for_user(ctx.db(), p.org_id, p.user_id, ConversationId(id))
                .await?
    {
        return Ok(Some(c));
    }
    Ok(store::conversations::find_by_key(ctx.db(), p.org_id, p.user_id, key).await?)
}

pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: NewConversation,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let agent = agents::find_visible(ctx, p, input.agent_id).await?;
    let title = match input.title {
        Some(t) => super::validate::name("title", &t, 200)?,
        None => "New chat".to_owned(),
    };
    Ok(conversation_dto(
        &insert_conversation(ctx.db(), p, &agent, title, "web", None).await?,
    ))
}

pub async fn rename(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    title: &str,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let title = super::validate::name("title", title, 200)?;
    let c = owned(ctx, p, id).await?;
    let c = store::conversations::update(ctx.db(), p.org_id, c, |m| {
        m.title = Set(title);
        m.updated_at = Set(ts(Utc::now()));
    })
    .await?;
    Ok(conversation_dto(&c))
}

pub async fn delete(ctx: &AppContext, actor: &Actor, id: ConversationId) -> Result<()> {
    let p = actor.principal()?;
    owned(ctx, p, id).await?;
    store::conversations::soft_delete(ctx.db(), p.org_id, id, Utc::now()).await?;
    Ok(())
}

/// A page of messages, oldest first; `before` pages backwards.
pub async fn messages(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    limit: Option<u64>,
    before: Option<MessageId>,
) -> Result<MessagePage> {
    let p = actor.principal()?;
    owned(ctx, p, id).await?;
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 500."));
    }
    let before_seq = match before {
        Some(m) => Some(
            store::conversations::find_message(ctx.db(), p.org_id, m)
                .await?
                .filter(|m| m.conversation_id == id.0)
                .ok_or_else(|| {
                    Error::invalid("before", "before is not a message of this conversation.")
                })?
                .seq,
        ),
        None => None,
    };
    let mut rows =
        store::conversations::messages_page(ctx.db(), p.org_id, id, before_seq, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    rows.reverse();
    Ok(MessagePage {
        next_before: if has_more {
            rows.first().map(|m| MessageId(m.id))
        } else {
            None
        },
        data: rows.iter().map(message_dto).collect(),
        has_more,
    })
}

/// Copies the conversation up to `message_id` (included) into a new conversation.
pub async fn branch(
    ctx: &AppContext,
    actor: &Actor,
    id: ConversationId,
    message_id: MessageId,
) -> Result<Conversation> {
    let p = actor.principal()?;
    let source = owned(ctx, p, id).await?;
    let all = store::conversations::messages(ctx.db(), p.org_id, id).await?;
    let Some(at) = all.iter().position(|m| m.id == message_id.0) else {
        return Err(Error::invalid(
            "message_id",
            "message_id is not a message of this conversation.",
        ));
    };
    let now = ts(Utc::now());
    let txn = crate::db::begin_write(ctx.db()).await?;
    let copy = store::conversations::insert(
        &txn,
        conversations::ActiveModel {
            id: Set(ConversationId::new().0),
            org_id: Set(p.org_id.0),
            user_id: Set(p.user_id.0),
            agent_id: Set(source.agent_id),
            title: Set(format!(
                "{} (branch)",
                source.title.chars().take(180).collect::<String>()
            )),
            parent_id: Set(Some(source.id)),
            branched_from_message_id: Set(Some(message_id.0)),
            source: Set(source.source.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            session_key: Set(None),
        },
    )
    .await?;
    for (seq, m) in all.into_iter().take(at + 1).enumerate() {
        let mut row: messages::ActiveModel = m.into();
        row.id = Set(MessageId::new().0);
        row.conversation_id = Set(copy.id);
        row.seq = Set(i32::try_from(seq).unwrap_or(i32::MAX));
        row.feedback = Set(None);
        row.feedback_comment = Set(None);
        store::conversations::insert_message(&txn, row).await?;
    }
    txn.commit().await?;
    Ok(conversation_dto(&copy))
}

/// Thumbs up/down and a comment on an answer of the caller's conversation.
pub async fn feedback(
    ctx: &AppContext,
    actor: &Actor,
    id: MessageId,
    input: Feedback,
) -> Result<Message> {
    let p = actor.principal()?;
    let m = store::conversations::find_message(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    owned(ctx, p, ConversationId(m.conversation_id)).await?;
    if m.role != "assistant" {
        return Err(Error::invalid(
            "message_id",
            "Feedback applies to answers (assistant messages).",
        ));
    }
    let rating = match input.rating.as_deref() {
        Some("up") => Some(1),
        Some("down") => Some(-1),
        None => None,
        Some(_) => {
            return Err(Error::invalid(
                "rating",
                "rating must be \"up\", \"down\" or null.",
            ));
        }
    };
    let comment = input
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(Error::invalid(
            "comment",
            "comment must be at most 2000 characters.",
        ));
    }
    let m = store::conversations::update_message(ctx.db(), p.org_id, m, |row| {
        row.feedback = Set(rating);
        row.feedback_comment = Set(comment);
    })
    .await?;
    Ok(message_dto(&m))
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
                && row.status != "streaming"
            {
                return Ok(message_dto(&row));
            }
        }
    }
    let m = store::conversations::find_message(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(message_dto(&m))
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
    usage::check_quota(ctx, p.org_id).await?;
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
        messages: vec![json!({"role": "user", "content": format!(
            "Write a short title (at most 6 words, no quotes, no trailing punctuation) for this conversation:\n\n{transcript}"
        )})],
        passthrough: serde_json::Map::new(),
        run_agent_tools: false,
    };
    let out = engine::run(ctx, turn, None, &CancellationToken::new()).await;
    record_usage(ctx, p, Some(&agent), &provider, &out, "title");
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

pub(super) fn record_usage(
    ctx: &AppContext,
    p: &Principal,
    agent: Option<&Agent>,
    provider: &providers::ResolvedProvider,
    out: &Outcome,
    endpoint: &'static str,
) {
    usage::record(
        ctx,
        usage::Call {
            org: p.org_id,
            user: Some(p.user_id),
            api_key: p.api_key_id(),
            agent: agent.map(|a| a.id),
            provider: Some(provider.id),
            model: out
                .upstream_model
                .clone()
                .or_else(|| agent.map(|a| a.model.clone()))
                .unwrap_or_default(),
            endpoint,
            input_tokens: out.usage.prompt_tokens,
            output_tokens: out.usage.completion_tokens,
            latency_ms: out.latency_ms,
            status: out.status(),
        },
    );
}

/// A chat turn in a conversation, as `/api/chat` and `/v1/chat` ask for it.
#[derive(Clone, Debug, Default)]
pub struct TurnRequest {
    pub conversation_id: Option<ConversationId>,
    /// `/v1/chat`'s `session_id` (seed 002): the UUID of one of the caller's conversations, or a
    /// tracking key of the client's choosing (a new key starts a session under it).
    pub session_key: Option<String>,
    pub agent_id: Option<AgentId>,
    pub message: String,
    pub reasoning_enabled: Option<bool>,
    pub images: Vec<String>,
    pub endpoint: &'static str,
}

/// A started turn: its ids, whether reasoning is shown, and its events (the last one is
/// `Done` or `Error`).
pub struct TurnHandle {
    pub conversation_id: ConversationId,
    /// What continues this session: the client's tracking key, else the conversation's id.
    pub session_id: String,
    pub user_message_id: MessageId,
    pub message_id: MessageId,
    pub reasoning: bool,
    pub events: mpsc::Receiver<ChatEvent>,
}

fn history_message(m: &messages::Model) -> Option<Value> {
    match m.role.as_str() {
        "user" => Some(json!({"role": "user", "content": m.content})),
        "assistant" if !m.content.is_empty() => {
            Some(json!({"role": "assistant", "content": m.content}))
        }
        _ => None,
    }
}

/// Validates and stores the question, then runs the turn in the background.
pub async fn start_turn(ctx: &AppContext, actor: &Actor, req: TurnRequest) -> Result<TurnHandle> {
    let p = actor.principal()?.clone();
    if req.message.trim().is_empty() && req.images.is_empty() {
        return Err(Error::invalid("message", "message field is required."));
    }
    if req.message.chars().count() > 200_000 {
        return Err(Error::invalid(
            "message",
            "message must be at most 200000 characters.",
        ));
    }
    let images = images::validate(&req.images)?;
    let session_key = session_key(req.session_key)?;
    let conversation = match (req.conversation_id, session_key.as_deref()) {
        (Some(id), _) => Some(owned(ctx, &p, id).await?),
        (None, Some(key)) => find_session(ctx, &p, key).await?,
        (None, None) => None,
    };
    let agent_id = match (req.agent_id, conversation.as_ref().and_then(|c| c.agent_id)) {
        (Some(a), _) => a,
        (None, Some(a)) => AgentId(a),
        (None, None) => {
            return Err(Error::invalid("agent_id", "agent_id field is required."));
        }
    };
    let agent = agents::find_visible(ctx, &p, agent_id).await?;
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
    usage::check_quota(ctx, p.org_id).await?;
    let reasoning = req.reasoning_enabled.unwrap_or(agent.reasoning_enabled);

    // Store the question and an empty answer, in one transaction.
    let now = Utc::now();
    let txn = crate::db::begin_write(ctx.db()).await?;
    let session_id = session_key.clone();
    let conversation = match conversation {
        Some(c) => c,
        None => {
            let source = if req.endpoint == "api_chat" {
                "web"
            } else {
                "api"
            };
            insert_conversation(
                &txn,
                &p,
                &agent,
                title_from(&req.message),
                source,
                session_key,
            )
            .await?
        }
    };
    let conversation_id = ConversationId(conversation.id);
    let session_id = session_id.unwrap_or_else(|| conversation_id.0.to_string());
    let previous = store::conversations::messages(&txn, p.org_id, conversation_id).await?;
    let seq = previous.last().map_or(0, |m| m.seq + 1);
    let user_row = store::conversations::insert_message(
        &txn,
        new_message(
            &p,
            conversation_id,
            seq,
            "user",
            &req.message,
            i32::try_from(images.len()).unwrap_or(0),
            "complete",
        ),
    )
    .await?;
    let answer_row = store::conversations::insert_message(
        &txn,
        new_message(
            &p,
            conversation_id,
            seq + 1,
            "assistant",
            "",
            0,
            "streaming",
        ),
    )
    .await?;
    if previous.is_empty() && conversation.title == "New chat" {
        store::conversations::update(&txn, p.org_id, conversation, |m| {
            m.title = Set(title_from(&req.message));
            m.updated_at = Set(ts(now));
        })
        .await?;
    } else {
        store::conversations::touch(&txn, p.org_id, conversation_id, now).await?;
    }
    txn.commit().await?;

    // The model sees the history (memory), then the question with its images.
    let mut history: Vec<Value> = previous.iter().filter_map(history_message).collect();
    history.push(images::user_message(&req.message, &images));

    let (tx, rx) = mpsc::channel(64);
    let token = CancellationToken::new();
    let message_id = MessageId(answer_row.id);
    ctx.in_flight()
        .add(message_id, p.org_id, p.user_id, token.clone());
    let ctx2 = ctx.clone();
    let endpoint = req.endpoint;
    tokio::spawn(async move {
        run_turn(
            ctx2, p, agent, provider, history, answer_row, token, tx, endpoint, reasoning,
        )
        .await;
    });
    Ok(TurnHandle {
        conversation_id,
        session_id,
        user_message_id: MessageId(user_row.id),
        message_id,
        reasoning,
        events: rx,
    })
}

fn new_message(
    p: &Principal,
    conversation: ConversationId,
    seq: i32,
    role: &str,
    content: &str,
    images: i32,
    status: &str,
) -> messages::ActiveModel {
    messages::ActiveModel {
        id: Set(MessageId::new().0),
        org_id: Set(p.org_id.0),
        conversation_id: Set(conversation.0),
        seq: Set(seq),
        role: Set(role.to_owned()),
        content: Set(content.to_owned()),
        reasoning: Set(None),
        tool_calls: Set(None),
        images: Set(images),
        status: Set(status.to_owned()),
        error: Set(None),
        model: Set(None),
        input_tokens: Set(None),
        output_tokens: Set(None),
        latency_ms: Set(None),
        feedback: Set(None),
        feedback_comment: Set(None),
        created_at: Set(ts(Utc::now())),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_turn(
    ctx: AppContext,
    p: Principal,
    agent: Agent,
    provider: providers::ResolvedProvider,
    history: Vec<Value>,
    answer: messages::Model,
    token: CancellationToken,
    tx: mpsc::Sender<ChatEvent>,
    endpoint: &'static str,
    reasoning: bool,
) {
    let message_id = MessageId(answer.id);
    let (etx, mut erx) = mpsc::channel::<EngineEvent>(64);
    let turn = Turn {
        agent: &agent,
        provider: &provider,
        messages: history,
        passthrough: serde_json::Map::new(),
        run_agent_tools: true,
    };
    let forward = async {
        let mut listening = true;
        while let Some(e) = erx.recv().await {
            let event = match e {
                EngineEvent::Delta(content) => ChatEvent::Delta { content },
                EngineEvent::Reasoning(content) if reasoning => ChatEvent::Reasoning { content },
                EngineEvent::Reasoning(_) | EngineEvent::ClientToolCallDelta(_) => continue,
                EngineEvent::ToolCall(call) => ChatEvent::ToolCall { call },
            };
            if listening && tx.send(event).await.is_err() {
                // The client went away: stop the upstream, keep what was generated.
                listening = false;
                token.cancel();
            }
        }
    };
    let (out, ()) = tokio::join!(
        async {
            let out = engine::run(&ctx, turn, Some(&etx), &token).await;
            drop(etx);
            out
        },
        forward
    );
    ctx.in_flight().remove(message_id);
    record_usage(&ctx, &p, Some(&agent), &provider, &out, endpoint);
    let status = match (&out.error, out.cancelled) {
        (Some(_), _) => "error",
        (None, true) => "cancelled",
        (None, false) => "complete",
    };
    let tool_calls: Vec<ToolCallRecord> = out.tool_calls.clone();
    let stored = store::conversations::update_message(ctx.db(), p.org_id, answer, |m| {
        m.content = Set(out.content.clone());
        m.reasoning = Set(Some(out.reasoning.clone()).filter(|r| reasoning && !r.is_empty()));
        m.tool_calls =
            Set((!tool_calls.is_empty())
                .then(|| serde_json::to_value(&tool_calls).unwrap_or_default()));
        m.status = Set(status.to_owned());
        m.error = Set(out.error.as_ref().map(|(_, d)| d.clone()));
        m.model = Set(Some(
            out.upstream_model
                .clone()
                .unwrap_or_else(|| agent.model.clone()),
        ));
        m.input_tokens = Set(i32::try_from(out.usage.prompt_tokens).ok());
        m.output_tokens = Set(i32::try_from(out.usage.completion_tokens).ok());
        m.latency_ms = Set(i32::try_from(out.latency_ms).ok());
    })
    .await;
    let event = match (stored, &out.error) {
        (Ok(m), None) => ChatEvent::Done {
            message: Box::new(message_dto(&m)),
            usage: out.usage,
        },
        (Ok(_), Some((code, detail))) => ChatEvent::Error {
            code: code.info().code.to_owned(),
            message: detail.clone(),
            message_id: Some(message_id),
        },
        (Err(e), _) => {
            tracing::error!(error = %e, "storing a chat answer failed");
            ChatEvent::Error {
                code: ErrorCode::Internal.info().code.to_owned(),
                message: ErrorCode::Internal.info().detail.to_owned(),
                message_id: Some(message_id),
            }
        }
    };
    let _ = tx.send(event).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any string is a tracking key up to 200 characters (not bytes); longer ones and NUL
        /// are refused naming `session_id`; nothing panics.
        #[test]
        fn session_keys(raw in proptest::prelude::any::<String>(), n in 190usize..210) {
            for key in [raw, "é".repeat(n)] {
                let expected = key.chars().count() <= MAX_SESSION_KEY_CHARS && !key.contains('\0');
                match session_key(Some(key.clone())) {
                    Ok(k) => {
                        proptest::prop_assert!(expected);
                        proptest::prop_assert_eq!(k, Some(key).filter(|k| !k.is_empty()));
                    }
                    Err(e) => {
                        proptest::prop_assert!(!expected);
                        proptest::prop_assert_eq!(e.body().error.param, Some("session_id".to_owned()));
                    }
                }
            }
        }
    }
}
