//! Governed runs (seed 003, docs/RUNS.md): `POST /v1/runs` screens the input with the route's
//! guardrails, estimates its worst-case cost, and then either blocks it, pauses it for an
//! approver, queues it (`background`), or runs it inside the request. Every change of status
//! is a transition with its time and reason; creation, decisions and refused decisions are
//! audited.
//!
//! Who sees a run: the person who created it (or their API keys), its approvers, and the
//! organisation's admins; anyone else of the organisation gets 404 for it, except on resume,
//! where a non-approver gets 403 (`RUN-002`, audited). A run names its approvers (people and
//! groups); a run that names none is approved by the route's approvers, and a route with none
//! by the organisation's admins and owners. Nobody approves their own run.

pub mod execute;
pub mod routes;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Principal, Role};
use crate::db::entities::runs;
use crate::services::audit::{self, Event};
use crate::services::guardrails::screen;
use crate::services::{billing, validate};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result};
use aerie_contract::chat::Usage;
use aerie_contract::guardrails::DlpFinding;
use aerie_contract::ids::{ApiKeyId, OrgId, RunId, UserId};
use aerie_contract::runs::{
    CreateRun, DEFAULT_ROUTE, ResumeRun, Route, Run, RunApproval, RunApprover, RunError,
    RunMessage, RunPage, RunRole, RunTransition,
};
use aerie_contract::{ApprovalMode, CallEndpoint, ErrorCode, RunDecision, RunStatus};

/// A run's input: at most this many messages.
pub const MESSAGES_MAX: usize = 200;
/// At most this many approvers named by a run.
pub const APPROVERS_MAX: usize = 50;
/// A page of runs: at most this many.
pub const PAGE_MAX: u64 = 200;

/// Whether a run on `route` with this worst-case cost (credits) and these `ask` findings must
/// wait for an approver.
pub fn needs_approval(route: &Route, estimated_cost: i64, asked: bool) -> bool {
    match route.approval {
        ApprovalMode::Never => false,
        ApprovalMode::Always => true,
        ApprovalMode::AboveCost => {
            asked
                || route
                    .approval_cost_above
                    .is_some_and(|c| estimated_cost > c)
        }
        ApprovalMode::OnAsk => asked,
    }
}

fn read<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn json<T: serde::Serialize>(v: &T) -> Result<Value> {
    Ok(serde_json::to_value(v).map_err(|e| anyhow::anyhow!(e))?)
}

/// The run as its API shows it.
pub(crate) async fn dto(ctx: &AppContext, r: &runs::Model) -> Result<Run> {
    let transitions = store::runs::transitions(ctx.db(), RunId(r.id))
        .await?
        .into_iter()
        .map(|t| {
            Ok(RunTransition {
                status: t.status.parse()?,
                at: utc(t.at),
                reason: t.reason,
                by: t.by_user.map(UserId),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let usage = match (r.prompt_tokens, r.completion_tokens) {
        (Some(p), Some(c)) => {
            let (p, c) = (u64::try_from(p).unwrap_or(0), u64::try_from(c).unwrap_or(0));
            Some(Usage {
                prompt_tokens: p,
                completion_tokens: c,
                total_tokens: p.saturating_add(c),
            })
        }
        _ => None,
    };
    let approval = match (&r.decision, r.decided_by, r.decided_at) {
        (Some(d), Some(by), Some(at)) => Some(RunApproval {
            decision: d.parse()?,
            by: UserId(by),
            comment: r.decision_comment.clone().unwrap_or_default(),
            at: utc(at),
        }),
        _ => None,
    };
    let requested_by = store::users::find_member(ctx.db(), OrgId(r.org_id), UserId(r.user_id))
        .await?
        .map(|(u, _)| u.email);
    Ok(Run {
        run_id: RunId(r.id),
        status: r.status.parse()?,
        response: r.response.clone(),
        usage,
        route: r.route_name.clone(),
        background: r.background,
        messages: read(&r.messages),
        user_id: UserId(r.user_id),
        requested_by,
        api_key_id: r.api_key_id.map(ApiKeyId),
        approvers: read(&r.approvers),
        approval,
        findings: read(&r.findings),
        estimated_cost: r.estimated_cost,
        error: match (&r.error_code, &r.error_message) {
            (Some(code), Some(message)) => Some(RunError {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        },
        expires_at: r.expires_at.map(utc),
        transitions,
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
    })
}

/// The people and groups `names` stand for in `org`: a person's id or email, a group's id or
/// name.
async fn resolve_approvers(
    ctx: &AppContext,
    org: OrgId,
    names: &[String],
) -> Result<Vec<RunApprover>> {
    if names.len() > APPROVERS_MAX {
        return Err(Error::invalid(
            "approvers",
            format!("approvers must name at most {APPROVERS_MAX} people or groups."),
        ));
    }
    let members = store::users::list_members(ctx.db(), org, None).await?;
    let groups = store::groups::list(ctx.db(), org).await?;
    let mut out: Vec<RunApprover> = Vec::new();
    for raw in names {
        let name = raw.trim();
        let id = Uuid::parse_str(name).ok();
        let person = members
            .iter()
            .find(|(u, _)| Some(u.id) == id || u.email.eq_ignore_ascii_case(name));
        let approver = if let Some((u, _)) = person {
            RunApprover {
                kind: "user".to_owned(),
                id: u.id,
                name: u.email.clone(),
            }
        } else if let Some(g) = groups.iter().find(|g| Some(g.id) == id || g.name == name) {
            RunApprover {
                kind: "group".to_owned(),
                id: g.id,
                name: g.name.clone(),
            }
        } else {
            return Err(Error::invalid(
                "approvers",
                format!(
                    "approvers: `{}` is no person (id or email) or group (id or name) of the organisation.",
                    name.chars().take(100).collect::<String>()
                ),
            ));
        };
        if !out.iter().any(|a| a.id == approver.id) {
            out.push(approver);
        }
    }
    Ok(out)
}

/// A route's default approvers, as a run names them.
async fn route_approvers(ctx: &AppContext, org: OrgId, route: &Route) -> Result<Vec<RunApprover>> {
    let names: Vec<String> = route
        .approver_user_ids
        .iter()
        .map(|u| u.to_string())
        .chain(route.approver_group_ids.iter().map(|g| g.to_string()))
        .collect();
    // A person or group removed since the route was saved is skipped, not an error.
    let mut out = Vec::new();
    for name in names {
        if let Ok(mut found) = resolve_approvers(ctx, org, std::slice::from_ref(&name)).await {
            out.append(&mut found);
        }
    }
    Ok(out)
}

/// A run may name its approvers only among those its route allows (so whoever asks cannot
/// pick a friendly colleague past the route's policy): the route's people, the members of its
/// groups and its groups themselves; a route that names none allows the organisation's admins.
async fn check_eligible(
    ctx: &AppContext,
    org: OrgId,
    route: &Route,
    named: &[RunApprover],
) -> Result<()> {
    let route_names_some =
        !route.approver_user_ids.is_empty() || !route.approver_group_ids.is_empty();
    let memberships = store::groups::members(ctx.db(), org).await?;
    let admins: HashSet<Uuid> = store::users::list_members(ctx.db(), org, None)
        .await?
        .into_iter()
        .filter(|(_, m)| m.role().is_ok_and(|r| r >= Role::Admin))
        .map(|(u, _)| u.id)
        .collect();
    for a in named {
        let allowed = match (a.kind.as_str(), route_names_some) {
            ("user", true) => {
                route.approver_user_ids.iter().any(|u| u.0 == a.id)
                    || memberships
                        .iter()
                        .any(|(g, u)| u.0 == a.id && route.approver_group_ids.contains(g))
            }
            ("user", false) => admins.contains(&a.id),
            ("group", _) => route.approver_group_ids.iter().any(|g| g.0 == a.id),
            _ => false,
        };
        if !allowed {
            return Err(Error::invalid(
                "approvers",
                format!(
                    "approvers: {} may not approve runs of the route `{}`; a run's approvers are chosen among the route's (its people and groups, or the organisation's admins when it names none).",
                    a.name, route.name
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `p` may decide on `run` (never on their own).
async fn may_decide(ctx: &AppContext, p: &Principal, run: &runs::Model) -> Result<bool> {
    if run.user_id == p.user_id.0 {
        return Ok(false);
    }
    approves(ctx, p, run).await
}

/// Whether `p` is one of `run`'s approvers.
async fn approves(ctx: &AppContext, p: &Principal, run: &runs::Model) -> Result<bool> {
    let approvers: Vec<RunApprover> = read(&run.approvers);
    if approvers.is_empty() {
        return Ok(p.role >= Role::Admin);
    }
    if approvers
        .iter()
        .any(|a| a.kind == "user" && a.id == p.user_id.0)
    {
        return Ok(true);
    }
    let groups: HashSet<Uuid> = approvers
        .iter()
        .filter(|a| a.kind == "group")
        .map(|a| a.id)
        .collect();
    if groups.is_empty() {
        return Ok(false);
    }
    Ok(store::groups::members(ctx.db(), p.org_id)
        .await?
        .iter()
        .any(|(g, u)| *u == p.user_id && groups.contains(&g.0)))
}

/// Whether `p` sees `run`.
async fn sees(ctx: &AppContext, p: &Principal, run: &runs::Model) -> Result<bool> {
    Ok(run.user_id == p.user_id.0 || p.role >= Role::Admin || approves(ctx, p, run).await?)
}

fn check_messages(messages: &[RunMessage]) -> Result<()> {
    if messages.is_empty() || messages.len() > MESSAGES_MAX {
        return Err(Error::invalid(
            "messages",
            format!("messages must hold 1 to {MESSAGES_MAX} messages."),
        ));
    }
    for m in messages {
        validate::text("messages", &m.content, validate::MESSAGE_MAX)?;
    }
    Ok(())
}

/// What a run is created with, once checked and screened.
struct Draft {
    route: Route,
    messages: Vec<RunMessage>,
    findings: Vec<DlpFinding>,
    approvers: Vec<RunApprover>,
    estimated_cost: i64,
    background: bool,
}

/// Stores a new run in `status` (`reason` is its first transition).
async fn insert(
    ctx: &AppContext,
    p: &Principal,
    draft: &Draft,
    status: RunStatus,
    reason: &str,
    error: Option<(ErrorCode, String)>,
) -> Result<runs::Model> {
    let now = Utc::now();
    let expires_at = (status == RunStatus::Paused)
        .then(|| now + chrono::Duration::minutes(i64::from(draft.route.approval_timeout_minutes)));
    let row = runs::Model {
        id: RunId::new().0,
        org_id: p.org_id.0,
        route_id: draft.route.id.0,
        route_name: draft.route.name.clone(),
        user_id: p.user_id.0,
        api_key_id: p.api_key_id().map(|k| k.0),
        status: status.as_str().to_owned(),
        background: draft.background,
        messages: json(&draft.messages)?,
        approvers: json(&draft.approvers)?,
        findings: json(&draft.findings)?,
        estimated_cost: draft.estimated_cost,
        response: None,
        prompt_tokens: None,
        completion_tokens: None,
        error_code: error.as_ref().map(|(c, _)| c.info().code.to_owned()),
        error_message: error.map(|(_, m)| m),
        decision: None,
        decided_by: None,
        decision_comment: None,
        decided_at: None,
        expires_at: expires_at.map(store::ts),
        lease_until: (status == RunStatus::Running).then(|| store::ts(now + execute::lease())),
        created_at: store::ts(now),
        updated_at: store::ts(now),
    };
    let run = store::runs::insert(ctx.db(), row, reason).await?;
    if status == RunStatus::Paused {
        execute::schedule_expiry(ctx, &run, draft.route.approval_timeout_minutes).await?;
    }
    Ok(run)
}

fn error_of(e: &Error) -> (ErrorCode, String) {
    let body = e.body();
    let message = if body.error.why.is_empty() || body.error.why == e.code().info().why {
        body.detail
    } else {
        format!("{} {}", body.detail, body.error.why)
    };
    (e.code(), message)
}

/// `POST /v1/runs`: creates and executes a governed run. A foreground run answers when it has
/// ended or paused; a background one answers `pending` at once.
pub async fn create(ctx: &AppContext, actor: &Actor, input: CreateRun) -> Result<Run> {
    let p = actor.principal()?;
    check_messages(&input.messages)?;
    let name = input.route.as_deref().unwrap_or(DEFAULT_ROUTE);
    let row = routes::named(ctx, p.org_id, name).await?.ok_or_else(|| {
        Error::detailed(
            ErrorCode::NotFound,
            format!(
                "The route `{}` does not exist; GET /api/routes lists the organisation's routes.",
                name.chars().take(64).collect::<String>()
            ),
        )
    })?;
    let route = routes::to_dto(&row)?;
    let mut approvers = resolve_approvers(ctx, p.org_id, &input.approvers).await?;
    if approvers.is_empty() {
        approvers = route_approvers(ctx, p.org_id, &route).await?;
    } else {
        check_eligible(ctx, p.org_id, &route, &approvers).await?;
    }
    let target = routes::target(ctx, p, &route).await?;
    let guardrails = routes::guardrails(ctx, p.org_id, &route).await?;
    let can_ask = route.approval != ApprovalMode::Never;
    let mut draft = Draft {
        route,
        messages: input.messages,
        findings: Vec::new(),
        approvers,
        estimated_cost: 0,
        background: input.background,
    };
    // Screen what reaches the model (the client's own texts; earlier answers are the model's).
    let mut found = screen::Screened::default();
    let mut asked = false;
    for m in draft.messages.iter_mut() {
        if m.role == RunRole::Assistant {
            continue;
        }
        match screen::input_with(
            ctx,
            p,
            CallEndpoint::Run,
            guardrails.clone(),
            can_ask,
            &m.content,
            None,
        )
        .await
        {
            Ok(screened) => {
                draft
                    .findings
                    .extend(screened.noted.iter().map(|n| DlpFinding {
                        detector: n.finding.detector,
                        pattern: n.finding.pattern.clone(),
                        preview: n.finding.preview.clone(),
                    }));
                m.content = match screened.ask {
                    Some(ask) => {
                        asked = true;
                        ask.allowed_text
                    }
                    None => screened.text,
                };
                found.noted.extend(screened.noted);
            }
            Err(e) if e.code() == ErrorCode::GuardrailBlocked => {
                // Recorded by the screen; the run is kept as blocked, without its input.
                draft.messages = Vec::new();
                let run = insert(
                    ctx,
                    p,
                    &draft,
                    RunStatus::Blocked,
                    "Blocked by a guardrail.",
                    Some(error_of(&e)),
                )
                .await?;
                return created(ctx, actor, run).await;
            }
            Err(e) => return Err(e),
        }
    }
    screen::record(
        ctx,
        p,
        CallEndpoint::Run,
        aerie_contract::guardrails::GuardrailDirection::Input,
        &found,
        None,
        None,
    )
    .await?;
    let body = serde_json::json!({
        "messages": execute::wire_messages(&draft.messages),
        "max_tokens": draft.route.max_output_tokens,
    });
    draft.estimated_cost = billing::estimate(ctx, &target.agent.model, &body).await?;
    let run = if needs_approval(&draft.route, draft.estimated_cost, asked) {
        let reason = approval_reason(&draft.route, draft.estimated_cost, asked);
        insert(ctx, p, &draft, RunStatus::Paused, &reason, None).await?
    } else if draft.background {
        let run = insert(ctx, p, &draft, RunStatus::Pending, "Queued.", None).await?;
        execute::enqueue(ctx, &run).await?;
        run
    } else {
        let run = insert(ctx, p, &draft, RunStatus::Running, "Started.", None).await?;
        execute::inline(ctx, run).await?
    };
    created(ctx, actor, run).await
}

fn approval_reason(route: &Route, estimated_cost: i64, asked: bool) -> String {
    if asked {
        return "Waiting for an approver: a guardrail asks about the input.".to_owned();
    }
    match (route.approval, route.approval_cost_above) {
        (ApprovalMode::AboveCost, Some(limit)) => format!(
            "Waiting for an approver: the estimated cost ({estimated_cost} credits) is above the route's {limit}."
        ),
        _ => format!(
            "Waiting for an approver: the route `{}` needs approval.",
            route.name
        ),
    }
}

async fn created(ctx: &AppContext, actor: &Actor, run: runs::Model) -> Result<Run> {
    audit::record(
        ctx.db(),
        Some(OrgId(run.org_id)),
        actor,
        Event::new("run.created")
            .target("route", &run.route_name)
            .details(serde_json::json!({ "run_id": run.id, "status": run.status })),
    )
    .await?;
    dto(ctx, &run).await
}

/// A chat completion on a route that must wait: the request becomes a paused run (its text
/// messages, screened), and the answer is the error that names it.
pub(crate) async fn pause_completion(
    ctx: &AppContext,
    p: &Principal,
    route: &Route,
    messages: &[Value],
    findings: Vec<DlpFinding>,
    estimated_cost: i64,
) -> Error {
    let paused = async {
        let asked = !findings.is_empty();
        let mut approvers = route_approvers(ctx, p.org_id, route).await?;
        approvers.dedup_by_key(|a| a.id);
        let draft = Draft {
            route: route.clone(),
            messages: execute::text_messages(messages),
            findings,
            approvers,
            estimated_cost,
            background: true,
        };
        let reason = approval_reason(route, estimated_cost, asked);
        let run = insert(ctx, p, &draft, RunStatus::Paused, &reason, None).await?;
        audit::record(
            ctx.db(),
            Some(p.org_id),
            &Actor::user(p.clone(), None),
            Event::new("run.created").target("route", &run.route_name).details(
                serde_json::json!({ "run_id": run.id, "status": run.status, "via": "chat_completions" }),
            ),
        )
        .await?;
        Ok::<_, Error>((run, reason))
    };
    match paused.await {
        Ok((run, reason)) => Error::Explained {
            code: ErrorCode::ApprovalRequired,
            why: format!("{reason} The request is run {}.", run.id),
            fix: format!(
                "Follow it with GET /v1/runs/{}: once an approver agrees, its answer is there (`response`).",
                run.id
            ),
        },
        Err(e) => e,
    }
}

/// `GET /v1/runs/{id}`.
pub async fn get(ctx: &AppContext, actor: &Actor, id: RunId) -> Result<Run> {
    let p = actor.principal()?;
    let run = store::runs::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if !sees(ctx, p, &run).await? {
        return Err(Error::NotFound);
    }
    dto(ctx, &run).await
}

/// `POST /v1/runs/{id}/resume`: an approver's decision on a paused run. `approved` queues it;
/// `rejected` blocks it. Anyone else of the organisation: 403, audited.
pub async fn resume(ctx: &AppContext, actor: &Actor, id: RunId, input: ResumeRun) -> Result<Run> {
    let p = actor.principal()?;
    let comment = validate::text("comment", &input.comment, validate::COMMENT_MAX)?
        .trim()
        .to_owned();
    let run = store::runs::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if !may_decide(ctx, p, &run).await? {
        audit::record(
            ctx.db(),
            Some(p.org_id),
            actor,
            Event::new("run.resume_refused")
                .target("route", &run.route_name)
                .details(
                    serde_json::json!({ "run_id": run.id, "decision": input.decision.as_str() }),
                ),
        )
        .await?;
        let why = if run.user_id == p.user_id.0 {
            "Nobody approves or rejects their own run."
        } else {
            "Only the people and groups named as the run's approvers may approve or reject it."
        };
        return Err(Error::Explained {
            code: ErrorCode::NotAnApprover,
            why: why.to_owned(),
            fix: "Ask one of the approvers listed in GET /v1/runs/{id} to decide.".to_owned(),
        });
    }
    let status: RunStatus = run.status.parse()?;
    if status != RunStatus::Paused {
        return Err(not_paused(status));
    }
    let who = store::users::find_member(ctx.db(), p.org_id, p.user_id)
        .await?
        .map(|(u, _)| u.email)
        .unwrap_or_else(|| p.user_id.to_string());
    let said = if comment.is_empty() {
        String::new()
    } else {
        format!(": {comment}")
    };
    let decision = Some((
        input.decision.as_str().to_owned(),
        p.user_id,
        comment.clone(),
    ));
    let (to, reason, error) = match input.decision {
        RunDecision::Approved => (RunStatus::Pending, format!("Approved by {who}{said}"), None),
        RunDecision::Rejected => {
            let reason = format!("Rejected by {who}{said}");
            (
                RunStatus::Blocked,
                reason.clone(),
                Some((ErrorCode::RunRejected.info().code.to_owned(), reason)),
            )
        }
    };
    let change = store::runs::Change {
        decision,
        error,
        ..Default::default()
    };
    let Some(moved) = store::runs::transition(
        ctx.db(),
        p.org_id,
        id,
        &[RunStatus::Paused],
        to,
        change,
        &reason,
        Some(p.user_id),
        Utc::now(),
    )
    .await?
    else {
        // Decided, or timed out, meanwhile.
        let now: RunStatus = store::runs::find(ctx.db(), p.org_id, id)
            .await?
            .ok_or(Error::NotFound)?
            .status
            .parse()?;
        return Err(not_paused(now));
    };
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new(match input.decision {
            RunDecision::Approved => "run.approved",
            RunDecision::Rejected => "run.rejected",
        })
        .target("route", &moved.route_name)
        .details(serde_json::json!({ "run_id": id, "comment": comment })),
    )
    .await?;
    if to == RunStatus::Pending {
        execute::enqueue(ctx, &moved).await?;
    }
    dto(ctx, &moved).await
}

fn not_paused(status: RunStatus) -> Error {
    Error::State {
        field: "decision",
        message: format!("The run is {status}; only a paused run can be approved or rejected."),
    }
}

/// What [`list`] shows.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    pub status: Option<RunStatus>,
    /// Only runs the caller may decide on (paused ones, not their own): an approver's inbox.
    pub awaiting_me: bool,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

fn parse_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let bad = || Error::invalid("cursor", "cursor must be a next_cursor of an earlier page.");
    let (micros, id) = raw.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

/// The runs the caller sees, newest first: admins every run of the organisation, others
/// their own and those they approve.
pub async fn list(ctx: &AppContext, actor: &Actor, q: &RunQuery) -> Result<RunPage> {
    let p = actor.principal()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("limit must be 1 to {PAGE_MAX}."),
        ));
    }
    let status = if q.awaiting_me {
        Some(RunStatus::Paused)
    } else {
        q.status
    };
    let mut before = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let want = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut runs = Vec::new();
    let mut more = true;
    // Rows the caller may not see are skipped; at most five pages are read for one answer.
    for _ in 0..5 {
        let rows = store::runs::page(ctx.db(), p.org_id, status, before, limit).await?;
        more = rows.len() == want;
        let count = rows.len();
        for (i, row) in rows.into_iter().enumerate() {
            before = Some((utc(row.created_at), row.id));
            let shown = if q.awaiting_me {
                may_decide(ctx, p, &row).await?
            } else {
                sees(ctx, p, &row).await?
            };
            if shown {
                runs.push(dto(ctx, &row).await?);
            }
            if runs.len() == want {
                more = more || i + 1 < count;
                break;
            }
        }
        if !more || runs.len() == want {
            break;
        }
    }
    let next_cursor = more
        .then(|| before.map(|(at, id)| format!("{}_{id}", at.timestamp_micros())))
        .flatten();
    Ok(RunPage { runs, next_cursor })
}
