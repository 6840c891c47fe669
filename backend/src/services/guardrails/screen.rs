//! Screening text against an organisation's guardrail policy (docs/GUARDRAILS.md): what a
//! caller sends before it reaches a provider, and — when the policy asks — what a model
//! answered. Every finding becomes a guardrail event.

use aerie_contract::guardrails::{DlpFinding, GuardrailDirection};
use aerie_contract::{CallEndpoint, ErrorCode, GuardrailAction, GuardrailDetector};
use chrono::Utc;
use uuid::Uuid;

use super::detect::{self, Finding};
use super::policy;
use crate::actor::Principal;
use crate::store::guardrails::NewEvent;
use crate::{AppContext, Error, Result, store};

/// Texts longer than this are scanned on the blocking pool, off the async threads.
const INLINE_SCAN_MAX: usize = 32 * 1024;

/// A finding and what the policy did with it.
#[derive(Clone, Debug)]
pub struct Noted {
    pub finding: Finding,
    pub action: GuardrailAction,
}

/// A screened text.
#[derive(Clone, Debug, Default)]
pub struct Screened {
    /// The text to pass on: the original with every `redact` finding replaced (and every `ask`
    /// one, until the caller allows it).
    pub text: String,
    /// Everything found (to record with [`record`] once the text has its message).
    pub noted: Vec<Noted>,
    /// The `ask` findings the caller must decide about, when the route can ask.
    pub ask: Option<Asked>,
}

/// What a caller is asked about (a `dlp_finding` event of `/api/chat`).
#[derive(Clone, Debug)]
pub struct Asked {
    pub findings: Vec<DlpFinding>,
    /// The text to pass on if the caller allows it: only the `redact` findings replaced.
    pub allowed_text: String,
    /// The findings asked about, for the events that record the decision.
    pub noted: Vec<Noted>,
}

impl Screened {
    /// Whether anything was found.
    pub fn found(&self) -> bool {
        !self.noted.is_empty()
    }
}

/// How a detector's finding reads in a refusal.
fn describe(f: &Finding) -> String {
    let what = match f.detector {
        GuardrailDetector::Email => "an email address".to_owned(),
        GuardrailDetector::Phone => "a phone number".to_owned(),
        GuardrailDetector::PaymentCard => "a payment card number".to_owned(),
        GuardrailDetector::Iban => "an IBAN".to_owned(),
        GuardrailDetector::Secret => "a secret or API key".to_owned(),
        GuardrailDetector::HighEntropy => "a random-looking token (a possible secret)".to_owned(),
        GuardrailDetector::Custom => format!(
            "text matching the pattern {}",
            f.pattern.as_deref().unwrap_or("of the organisation")
        ),
    };
    if f.preview.is_empty() {
        what
    } else {
        format!("{what} ({})", f.preview)
    }
}

async fn scan(compiled: std::sync::Arc<policy::Compiled>, text: &str) -> Result<Vec<Finding>> {
    if text.len() <= INLINE_SCAN_MAX {
        return Ok(compiled.scan(text));
    }
    let owned = text.to_owned();
    tokio::task::spawn_blocking(move || compiled.scan(&owned))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("the guardrail scan stopped: {e}")))
}

/// Screens `text` that `p` sends through `route`. A `block` finding — or an `ask` one, which
/// only the workspace chat can put to its caller (`route` is [`CallEndpoint::ApiChat`]) —
/// refuses the text (recorded); otherwise the answer holds the text to pass on, the findings to
/// record and what to ask.
pub async fn input(
    ctx: &AppContext,
    p: &Principal,
    route: CallEndpoint,
    text: &str,
    conversation: Option<Uuid>,
) -> Result<Screened> {
    let compiled = policy::compiled(ctx, p.org_id).await?;
    input_with(
        ctx,
        p,
        route,
        compiled,
        route == CallEndpoint::ApiChat,
        text,
        conversation,
    )
    .await
}

/// [`input`] against `compiled` (a route's own policy, say); `can_ask`: someone can be asked
/// about `ask` findings (else they block).
pub async fn input_with(
    ctx: &AppContext,
    p: &Principal,
    route: CallEndpoint,
    compiled: std::sync::Arc<policy::Compiled>,
    can_ask: bool,
    text: &str,
    conversation: Option<Uuid>,
) -> Result<Screened> {
    let findings = scan(compiled.clone(), text).await?;
    if findings.is_empty() {
        return Ok(Screened {
            text: text.to_owned(),
            ..Screened::default()
        });
    }
    let noted: Vec<Noted> = findings
        .into_iter()
        .map(|finding| {
            let action = match compiled.action(&finding) {
                // Nobody can be asked on this route: the text does not go.
                GuardrailAction::Ask if !can_ask => GuardrailAction::Block,
                a => a,
            };
            Noted { finding, action }
        })
        .collect();
    let blocked: Vec<&Noted> = noted
        .iter()
        .filter(|n| n.action == GuardrailAction::Block)
        .collect();
    if !blocked.is_empty() {
        let found: Vec<String> = blocked.iter().map(|n| describe(&n.finding)).collect();
        let why = format!("Found {}.", found.join(", "));
        let screened = Screened {
            noted: noted.clone(),
            ..Screened::default()
        };
        record(
            ctx,
            p,
            route,
            GuardrailDirection::Input,
            &screened,
            conversation,
            None,
        )
        .await?;
        return Err(Error::Explained {
            code: ErrorCode::GuardrailBlocked,
            why,
            fix: "Remove it and send the message again; an administrator sees the finding in \
                  the guardrail log (GET /api/guardrails/events)."
                .to_owned(),
        });
    }
    let replaced = |actions: &[GuardrailAction]| {
        let found: Vec<Finding> = noted
            .iter()
            .filter(|n| actions.contains(&n.action))
            .map(|n| n.finding.clone())
            .collect();
        if found.is_empty() {
            text.to_owned()
        } else {
            detect::redact(text, &found)
        }
    };
    let asked: Vec<Noted> = noted
        .iter()
        .filter(|n| n.action == GuardrailAction::Ask)
        .cloned()
        .collect();
    let ask = (!asked.is_empty()).then(|| Asked {
        findings: asked
            .iter()
            .map(|n| DlpFinding {
                detector: n.finding.detector,
                pattern: n.finding.pattern.clone(),
                preview: n.finding.preview.clone(),
            })
            .collect(),
        allowed_text: replaced(&[GuardrailAction::Redact]),
        noted: asked,
    });
    Ok(Screened {
        text: replaced(&[GuardrailAction::Redact, GuardrailAction::Ask]),
        noted,
        ask,
    })
}

/// Screens a model's answer when the organisation's policy scans answers: `redact` and `block`
/// findings are replaced in the returned text (an answer cannot be refused after the model
/// wrote it, only kept from being stored or shown). `None` when answers are not scanned.
pub async fn output(ctx: &AppContext, p: &Principal, text: &str) -> Result<Option<Screened>> {
    output_with(policy::compiled(ctx, p.org_id).await?, text).await
}

/// [`output`] against `compiled`.
pub async fn output_with(
    compiled: std::sync::Arc<policy::Compiled>,
    text: &str,
) -> Result<Option<Screened>> {
    if !compiled.scan_output {
        return Ok(None);
    }
    let findings = scan(compiled.clone(), text).await?;
    let noted: Vec<Noted> = findings
        .into_iter()
        .map(|finding| {
            let action = match compiled.action(&finding) {
                GuardrailAction::Ask => GuardrailAction::Redact,
                a => a,
            };
            Noted { finding, action }
        })
        .collect();
    let removed: Vec<Finding> = noted
        .iter()
        .filter(|n| matches!(n.action, GuardrailAction::Redact | GuardrailAction::Block))
        .map(|n| n.finding.clone())
        .collect();
    let text = if removed.is_empty() {
        text.to_owned()
    } else {
        detect::redact(text, &removed)
    };
    Ok(Some(Screened {
        text,
        noted,
        ask: None,
    }))
}

/// Screens a model's whole answer with `compiled` when it scans answers and records the
/// findings; answers the text to keep in its place (`None`: nothing found). A finding that
/// cannot be recorded is logged, and the answer is screened all the same: the text a policy
/// removes never goes out because the log was unavailable.
pub async fn answer(
    ctx: &AppContext,
    p: &Principal,
    compiled: std::sync::Arc<policy::Compiled>,
    endpoint: CallEndpoint,
    text: &str,
    conversation: Option<Uuid>,
    message: Option<Uuid>,
) -> Result<Option<String>> {
    let Some(screened) = output_with(compiled, text).await? else {
        return Ok(None);
    };
    if !screened.found() {
        return Ok(None);
    }
    if let Err(e) = record(
        ctx,
        p,
        endpoint,
        GuardrailDirection::Output,
        &screened,
        conversation,
        message,
    )
    .await
    {
        tracing::error!(error = %e, "recording guardrail findings in an answer failed");
    }
    Ok(Some(screened.text))
}

/// Records `screened`'s findings as guardrail events.
pub async fn record(
    ctx: &AppContext,
    p: &Principal,
    route: CallEndpoint,
    direction: GuardrailDirection,
    screened: &Screened,
    conversation: Option<Uuid>,
    message: Option<Uuid>,
) -> Result<()> {
    if screened.noted.is_empty() {
        return Ok(());
    }
    let at = Utc::now();
    let events = screened
        .noted
        .iter()
        .map(|n| NewEvent {
            org: p.org_id,
            at,
            user: Some(p.user_id.0),
            api_key: p.api_key_id().map(|k| k.0),
            route: route.as_str().to_owned(),
            direction: direction.as_str().to_owned(),
            conversation,
            message,
            detector: n.finding.detector.as_str().to_owned(),
            pattern: n.finding.pattern.clone(),
            action: n.action.as_str().to_owned(),
            preview: n.finding.preview.chars().take(128).collect(),
        })
        .collect();
    store::guardrails::insert_events(ctx.db(), events).await?;
    Ok(())
}
