//! The audit trail: append-only events with actor (user and key), IP, time and details,
//! hash-chained per organisation (`crate::audit_chain`, docs/AUDIT.md); [`verify`] walks every
//! chain and names each event that was changed or removed.

use chrono::Utc;
use sea_orm::{ConnectionTrait, TransactionTrait};
use uuid::Uuid;

use crate::actor::{Actor, Identity};
use crate::audit_chain;
use crate::store;
use crate::store::audit::NewEvent;
use crate::{AppContext, Error, Result};
use aerie_contract::audit::{AuditPrincipal, AuditRecord};
use aerie_contract::ids::OrgId;
use aerie_contract::kinds::Role;

/// What happened to what.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            target_type: None,
            target_id: None,
            details: serde_json::json!({}),
        }
    }

    pub fn target(mut self, kind: &'a str, id: impl ToString) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Records `event` by `actor` in `org` (inside the caller's transaction when given one).
pub async fn record<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    org: Option<OrgId>,
    actor: &Actor,
    event: Event<'_>,
) -> Result<()> {
    let (user, key) = match &actor.identity {
        Identity::User(p) => (Some(p.user_id.0), p.api_key_id().map(|k| k.0)),
        _ => (None, None),
    };
    store::audit::insert(
        db,
        org,
        NewEvent {
            actor_user_id: user,
            actor_api_key_id: key,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            ip: actor.ip_string(),
            details: event.details,
        },
        Utc::now(),
    )
    .await?;
    Ok(())
}

/// What [`verify`] found wrong, naming the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The event's fields no longer give its hash: it was changed.
    Changed { chain: Uuid, seq: i64, id: Uuid },
    /// Places `from..=to` of the chain hold no event: they were removed.
    Missing { chain: Uuid, from: i64, to: i64 },
    /// The chain's head names a later place than its last event: the newest were removed.
    Truncated { chain: Uuid, last: i64, head: i64 },
    /// The chain's head (its last place, or the anchor retention left) was changed.
    HeadChanged { chain: Uuid },
    /// Events of a chain that has no head.
    Headless { chain: Uuid, events: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Changed { chain, seq, id } => {
                write!(f, "chain {chain}: event #{seq} ({id}) was changed")
            }
            Problem::Missing { chain, from, to } if from == to => {
                write!(f, "chain {chain}: event #{from} was removed")
            }
            Problem::Missing { chain, from, to } => {
                write!(f, "chain {chain}: events #{from} to #{to} were removed")
            }
            Problem::Truncated { chain, last, head } => write!(
                f,
                "chain {chain}: the newest events after #{last} (up to #{head}) were removed"
            ),
            Problem::HeadChanged { chain } => {
                write!(
                    f,
                    "chain {chain}: its head (last place or retention anchor) was changed"
                )
            }
            Problem::Headless { chain, events } => {
                write!(
                    f,
                    "chain {chain}: {events} events belong to a chain without a head"
                )
            }
        }
    }
}

/// What [`verify`] checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    pub chains: usize,
    pub events: u64,
    /// Events written before the chain began (not verifiable).
    pub unchained: u64,
    pub problems: Vec<Problem>,
}

/// Events read per query while verifying.
const VERIFY_PAGE: u64 = 1_000;

/// Walks every organisation's chain from its anchor to its head (`aerie audit verify`).
pub async fn verify(ctx: &AppContext) -> Result<Verification> {
    let db = ctx.db();
    let mut out = Verification {
        unchained: store::audit::count_unchained_global(db).await?,
        ..Verification::default()
    };
    let heads = store::audit::heads_global(db).await?;
    out.chains = heads.len();
    for head in &heads {
        verify_chain(ctx, head, &mut out).await?;
    }
    for (chain, events) in store::audit::chains_without_head_global(db).await? {
        out.problems.push(Problem::Headless { chain, events });
    }
    Ok(out)
}

async fn verify_chain(
    ctx: &AppContext,
    head: &crate::db::entities::audit_heads::Model,
    out: &mut Verification,
) -> Result<()> {
    let chain = head.chain_org;
    let mac = audit_chain::head_mac(chain, head.seq, &head.hash, head.base_seq, &head.base_hash);
    if !audit_chain::same(&mac, &head.mac) {
        out.problems.push(Problem::HeadChanged { chain });
    }
    let mut expected = head.base_seq + 1;
    let mut prev = head.base_hash.clone();
    let mut after = head.base_seq;
    loop {
        let page = store::audit::chain_page(ctx.db(), chain, after, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq.unwrap_or(after);
        for e in &page {
            let seq = e.seq.unwrap_or_default();
            out.events += 1;
            if seq != expected {
                out.problems.push(Problem::Missing {
                    chain,
                    from: expected,
                    to: seq - 1,
                });
                // The hash before a gap is gone with it: go on from the stored hash.
                prev = String::new();
            }
            let stored = e.hash.clone().unwrap_or_default();
            let computed = audit_chain::hash(
                &prev,
                &audit_chain::Link {
                    seq,
                    id: e.id,
                    chain,
                    org_id: e.org_id,
                    actor_user_id: e.actor_user_id,
                    actor_api_key_id: e.actor_api_key_id,
                    action: &e.action,
                    target_type: e.target_type.as_deref(),
                    target_id: e.target_id.as_deref(),
                    ip: e.ip.as_deref(),
                    details: &e.details,
                    created_at: crate::store::utc(e.created_at),
                },
            );
            if !prev.is_empty() && !audit_chain::same(&computed, &stored) {
                out.problems.push(Problem::Changed {
                    chain,
                    seq,
                    id: e.id,
                });
            }
            prev = stored;
            expected = seq + 1;
        }
        if (page.len() as u64) < VERIFY_PAGE {
            break;
        }
    }
    if expected - 1 < head.seq {
        out.problems.push(Problem::Truncated {
            chain,
            last: expected - 1,
            head: head.seq,
        });
    }
    Ok(())
}

/// `GET /v1/audit`'s filters (seed 003: `principal`, `route`, `since`; and `action`, `limit`).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// A person (their id or email) or an API key (its id).
    pub principal: Option<String>,
    pub route: Option<String>,
    pub action: Option<String>,
    pub since: Option<chrono::DateTime<Utc>>,
    /// 1–1000, default 100.
    pub limit: Option<u64>,
}

/// The organisation's audit trail, newest first (its admins and owners).
pub async fn list(ctx: &AppContext, actor: &Actor, q: AuditQuery) -> Result<Vec<AuditRecord>> {
    let p = actor.require_role(Role::Admin)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "limit must be between 1 and 1000."));
    }
    let members = store::users::list_members(ctx.db(), p.org_id, None).await?;
    let email_of = |id: Uuid| {
        members
            .iter()
            .find(|(u, _)| u.id == id)
            .map(|(u, _)| u.email.clone())
    };
    let mut filter = store::audit::Filter {
        route: q.route.filter(|r| !r.is_empty()),
        action: q.action.filter(|a| !a.is_empty()),
        since: q.since,
        limit,
        ..Default::default()
    };
    if let Some(who) = q
        .principal
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        match Uuid::parse_str(who) {
            // A person's id or a key's: either matches.
            Ok(id) => {
                filter.user = Some(id);
                filter.api_key = Some(id);
            }
            Err(_) => {
                let Some((user, _)) = members
                    .iter()
                    .find(|(u, _)| u.email.eq_ignore_ascii_case(who))
                else {
                    // Nobody of the organisation: nothing they did is here.
                    return Ok(Vec::new());
                };
                filter.user = Some(user.id);
            }
        }
    }
    let rows = store::audit::list_for_org(ctx.db(), p.org_id, &filter).await?;
    Ok(rows
        .into_iter()
        .map(|e| AuditRecord {
            id: e.id,
            seq: e.seq,
            principal: AuditPrincipal {
                user_id: e.actor_user_id,
                email: e.actor_user_id.and_then(email_of),
                api_key_id: e.actor_api_key_id,
            },
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            ip: e.ip,
            details: e.details,
            created_at: crate::store::utc(e.created_at),
            hash: e.hash,
        })
        .collect())
}
