//! `ask`: the workspace chat puts a finding to its caller (a `dlp_finding` event) and waits for
//! `POST /api/chat/{msgId}/dlp-decision` — allow, redact or block — before anything reaches the
//! provider (docs/GUARDRAILS.md). Like cancelling, deciding reaches the instance that streams
//! the turn (the turns waiting here are in this instance's memory).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aerie_contract::guardrails::{DlpChoice, DlpDecision, GuardrailDirection};
use aerie_contract::ids::{MessageId, OrgId, UserId};
use aerie_contract::{CallEndpoint, ErrorCode, GuardrailAction};
use tokio::sync::oneshot;

use super::screen::{self, Asked, Screened};
use crate::actor::{Actor, Principal};
use crate::{AppContext, Error, Result};

/// How long a turn waits for its caller's decision; then it is blocked.
pub const WAIT: Duration = Duration::from_secs(5 * 60);

/// A waiting turn: whose it is, and where its decision goes.
type Waiter = (OrgId, UserId, oneshot::Sender<DlpChoice>);

/// The turns of this instance waiting for a decision, by answer message id.
#[derive(Default)]
pub struct Pending {
    waiting: Mutex<HashMap<MessageId, Waiter>>,
}

impl Pending {
    /// Registers the turn answering `id` as waiting for `user`'s decision.
    pub(crate) fn register(
        &self,
        id: MessageId,
        org: OrgId,
        user: UserId,
    ) -> oneshot::Receiver<DlpChoice> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id, (org, user, tx));
        }
        rx
    }

    fn forget(&self, id: MessageId) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(&id);
        }
    }

    /// Gives `choice` to the turn answering `id` if `user` of `org` started it.
    fn decide(&self, id: MessageId, org: OrgId, user: UserId, choice: DlpChoice) -> bool {
        let Ok(mut waiting) = self.waiting.lock() else {
            return false;
        };
        match waiting.get(&id) {
            Some((o, u, _)) if *o == org && *u == user => waiting
                .remove(&id)
                .is_some_and(|(_, _, tx)| tx.send(choice).is_ok()),
            _ => false,
        }
    }
}

/// `POST /api/chat/{msgId}/dlp-decision`: the caller's decision on their waiting turn.
pub async fn decide(
    ctx: &AppContext,
    actor: &Actor,
    id: MessageId,
    choice: DlpChoice,
) -> Result<DlpDecision> {
    let p = actor.principal()?;
    if ctx
        .guardrails()
        .pending
        .decide(id, p.org_id, p.user_id, choice)
    {
        Ok(DlpDecision { decision: choice })
    } else {
        Err(Error::detailed(
            ErrorCode::NotFound,
            "No turn of yours waits for a decision on this message: it was decided, timed out, \
             or ended.",
        ))
    }
}

/// Waits for the decision on a turn's `ask` findings (until [`WAIT`], the turn's cancellation,
/// or its client going away, each of which blocks it) and records it: one event per finding,
/// with the action chosen.
pub(crate) async fn await_decision(
    ctx: &AppContext,
    p: &Principal,
    asked: &Asked,
    decision: oneshot::Receiver<DlpChoice>,
    cancelled: impl std::future::Future<Output = ()>,
    ids: (uuid::Uuid, uuid::Uuid, MessageId),
) -> DlpChoice {
    let (conversation, question, answer) = ids;
    let choice = tokio::select! {
        choice = decision => choice.unwrap_or(DlpChoice::Block),
        () = cancelled => DlpChoice::Block,
        () = tokio::time::sleep(WAIT) => DlpChoice::Block,
    };
    ctx.guardrails().pending.forget(answer);
    let action = match choice {
        DlpChoice::Allow => GuardrailAction::Allow,
        DlpChoice::Redact => GuardrailAction::Redact,
        DlpChoice::Block => GuardrailAction::Block,
    };
    let decided = Screened {
        noted: asked
            .noted
            .iter()
            .cloned()
            .map(|mut n| {
                n.action = action;
                n
            })
            .collect(),
        ..Screened::default()
    };
    if let Err(e) = screen::record(
        ctx,
        p,
        CallEndpoint::ApiChat,
        GuardrailDirection::Input,
        &decided,
        Some(conversation),
        Some(question),
    )
    .await
    {
        tracing::error!(error = %e, "recording a guardrail decision failed");
    }
    choice
}
