//! The guardrail log (seed 004: `GET /api/guardrails/events` and `.csv`, Enterprise+): every
//! finding of the organisation, newest first, to its admins; the CSV is streamed from the
//! database a page at a time, so a million-row export holds one page in memory and no
//! connection while the client reads.

use aerie_contract::guardrails::{GuardrailDirection, GuardrailEvent, GuardrailEventPage};
use aerie_contract::ids::{ApiKeyId, ConversationId, MessageId, UserId};
use aerie_contract::{CallEndpoint, GuardrailAction, GuardrailDetector, LicenseFeature, Role};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::db::entities::guardrail_events;
use crate::services::csv_export::{self, ROWS_PER_PAGE};
use crate::services::license;
use crate::store::guardrails::EventFilter;
use crate::store::utc;
use crate::{AppContext, Error, Result, store};

/// A page holds at most this many events.
pub const PAGE_MAX: u64 = 500;
/// A page's size when the request names none.
pub const PAGE_DEFAULT: u64 = 100;

/// The log's filters.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
    pub user_id: Option<UserId>,
    pub route: Option<CallEndpoint>,
    pub detector: Option<GuardrailDetector>,
    pub action: Option<GuardrailAction>,
    /// 1 to [`PAGE_MAX`] (the list only).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page (the list only).
    pub cursor: Option<String>,
}

impl EventQuery {
    fn filter(&self) -> EventFilter {
        EventFilter {
            from: self.from,
            to: self.to,
            user: self.user_id.map(|u| u.0),
            route: self.route.map(|r| r.as_str().to_owned()),
            detector: self.detector.map(|d| d.as_str().to_owned()),
            action: self.action.map(|a| a.as_str().to_owned()),
        }
    }
}

fn cursor_of(e: &guardrail_events::Model) -> String {
    format!("{}_{}", utc(e.created_at).timestamp_micros(), e.id)
}

fn parse_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let invalid = || {
        Error::invalid(
            "cursor",
            "cursor must be a next_cursor this endpoint returned.",
        )
    };
    let (micros, id) = raw.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(invalid)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((at, id))
}

fn event_dto(e: &guardrail_events::Model) -> Result<GuardrailEvent> {
    let direction = match e.direction.as_str() {
        "output" => GuardrailDirection::Output,
        _ => GuardrailDirection::Input,
    };
    Ok(GuardrailEvent {
        id: e.id,
        created_at: utc(e.created_at),
        user_id: e.user_id.map(UserId),
        api_key_id: e.api_key_id.map(ApiKeyId),
        route: e.route.parse()?,
        direction,
        conversation_id: e.conversation_id.map(ConversationId),
        message_id: e.message_id.map(MessageId),
        detector: e.detector.parse()?,
        pattern: e.pattern.clone(),
        action: e.action.parse()?,
        preview: e.preview.clone(),
    })
}

/// Admins of the organisation, with a well-formed query (the list's `limit` and `cursor` are
/// checked for the export too: one query string, one reading), on an instance whose licence
/// includes the log. Answers the organisation, the page size and where the page starts.
async fn admitted(
    ctx: &AppContext,
    actor: &Actor,
    q: &EventQuery,
) -> Result<(
    aerie_contract::ids::OrgId,
    u64,
    Option<(DateTime<Utc>, Uuid)>,
)> {
    let p = actor.require_role(Role::Admin)?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(Error::invalid("from", "from must not be after to."));
    }
    let limit = q.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("limit must be between 1 and {PAGE_MAX}."),
        ));
    }
    let before = q.cursor.as_deref().map(parse_cursor).transpose()?;
    if let Some(user) = q.user_id {
        // Someone of this organisation (404 for anyone else's people).
        store::users::find_member(ctx.db(), p.org_id, user)
            .await?
            .ok_or(Error::NotFound)?;
    }
    license::require(ctx, LicenseFeature::GuardrailLog).await?;
    Ok((p.org_id, limit, before))
}

/// A page of the organisation's guardrail log, newest first.
pub async fn list(ctx: &AppContext, actor: &Actor, q: &EventQuery) -> Result<GuardrailEventPage> {
    let (org, limit, before) = admitted(ctx, actor, q).await?;
    // One more than asked tells whether a next page exists.
    let mut rows = store::guardrails::page(ctx.db(), org, &q.filter(), before, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    let events = rows.iter().map(event_dto).collect::<Result<Vec<_>>>()?;
    Ok(GuardrailEventPage {
        events,
        next_cursor,
    })
}

pub use crate::services::csv_export::Export;

/// The CSV's columns.
pub const CSV_HEADER: [&str; 12] = [
    "id",
    "created_at",
    "user_id",
    "api_key_id",
    "route",
    "direction",
    "conversation_id",
    "message_id",
    "detector",
    "pattern",
    "action",
    "preview",
];

fn csv_row(e: &guardrail_events::Model) -> [String; 12] {
    let id = |v: Option<Uuid>| v.map(|i| i.to_string()).unwrap_or_default();
    [
        e.id.to_string(),
        utc(e.created_at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        id(e.user_id),
        id(e.api_key_id),
        e.route.clone(),
        e.direction.clone(),
        id(e.conversation_id),
        id(e.message_id),
        e.detector.clone(),
        csv_export::safe(e.pattern.as_deref().unwrap_or_default()),
        e.action.clone(),
        csv_export::safe(&e.preview),
    ]
}

/// Every event matching `q` as CSV, newest first, streamed a page at a time
/// (`services/csv_export.rs`).
pub async fn export(ctx: &AppContext, actor: &Actor, q: &EventQuery) -> Result<Export> {
    let (org, _, _) = admitted(ctx, actor, q).await?;
    let filter = q.filter();
    let db = ctx.db().clone();
    let page = move |before| {
        let (db, filter) = (db.clone(), filter.clone());
        async move { store::guardrails::page(&db, org, &filter, before, ROWS_PER_PAGE).await }
    };
    Ok(csv_export::stream(
        format!("aerie-guardrail-events-{}.csv", Utc::now().format("%Y%m%d")),
        "guardrail log",
        &CSV_HEADER,
        page,
        |e: &guardrail_events::Model| (utc(e.created_at), e.id),
        csv_row,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any text as a cursor: an error or a time and id, never a panic; a cursor this
        /// module wrote reads back.
        #[test]
        fn cursors_read_back_and_junk_is_refused(raw in "\\PC{0,80}", micros in 0i64..4_000_000_000_000_000, id in proptest::array::uniform16(0u8..)) {
            let _ = parse_cursor(&raw);
            let id = Uuid::from_bytes(id);
            let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| proptest::test_runner::TestCaseError::fail("time"))?;
            let text = format!("{}_{}", at.timestamp_micros(), id);
            let back = parse_cursor(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(back, (at, id));
        }
    }
}
