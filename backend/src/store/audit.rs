use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::ts;
use crate::audit_chain;
use crate::db::entities::{audit_events, audit_heads};
use aerie_contract::ids::OrgId;

pub struct NewEvent<'a> {
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
}

/// Appends an event to its organisation's chain (`org` is `None` only for events before any
/// organisation exists: they chain under the nil id), in one transaction: the chain's head is
/// claimed first (an UPDATE, so concurrent writers of one chain queue behind it on both
/// databases), then the event is written with the next place and its hash, then the head moves
/// (`crate::audit_chain`).
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    org: Option<OrgId>,
    event: NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let chain = org.map_or(Uuid::nil(), |o| o.0);
    // Microseconds: what both databases keep, so the hash reads back the same.
    let now = now.trunc_subsecs(6);
    let txn = db.begin().await?;
    let head = claim(&txn, chain, now).await?;
    let id = Uuid::now_v7();
    let hash = audit_chain::hash(
        &head.hash,
        &audit_chain::Link {
            seq: head.seq,
            id,
            chain,
            org_id: org.map(|o| o.0),
            actor_user_id: event.actor_user_id,
            actor_api_key_id: event.actor_api_key_id,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id.as_deref(),
            ip: event.ip.as_deref(),
            details: &event.details,
            created_at: now,
        },
    );
    audit_events::ActiveModel {
        id: Set(id),
        org_id: Set(org.map(|o| o.0)),
        actor_user_id: Set(event.actor_user_id),
        actor_api_key_id: Set(event.actor_api_key_id),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.map(str::to_owned)),
        target_id: Set(event.target_id),
        ip: Set(event.ip),
        details: Set(event.details),
        created_at: Set(ts(now)),
        chain_org: Set(Some(chain)),
        seq: Set(Some(head.seq)),
        hash: Set(Some(hash.clone())),
    }
    .insert(&txn)
    .await?;
    move_head(
        &txn,
        chain,
        head.seq,
        &hash,
        head.base_seq,
        &head.base_hash,
        now,
    )
    .await?;
    txn.commit().await
}

/// A chain's head after [`claim`]: the place the new event takes, and the hash before it.
struct Claimed {
    seq: i64,
    hash: String,
    base_seq: i64,
    base_hash: String,
}

/// Takes the next place of `chain` (creating its head at the genesis when it has none).
async fn claim<C: ConnectionTrait>(
    db: &C,
    chain: Uuid,
    now: DateTime<Utc>,
) -> Result<Claimed, DbErr> {
    use audit_heads::Column as H;
    for _ in 0..2 {
        // The UPDATE takes the head's lock (the row in PostgreSQL, the write lock in SQLite)
        // until the transaction ends; the SELECT after it reads the head as it now stands.
        let claimed = audit_heads::Entity::update_many()
            .col_expr(H::Seq, Expr::col(H::Seq).add(1))
            .filter(H::ChainOrg.eq(chain))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if claimed && let Some(head) = audit_heads::Entity::find_by_id(chain).one(db).await? {
            return Ok(Claimed {
                seq: head.seq,
                hash: head.hash,
                base_seq: head.base_seq,
                base_hash: head.base_hash,
            });
        }
        audit_heads::Entity::insert(audit_heads::ActiveModel {
            chain_org: Set(chain),
            seq: Set(0),
            hash: Set(audit_chain::GENESIS.to_owned()),
            base_seq: Set(0),
            base_hash: Set(audit_chain::GENESIS.to_owned()),
            mac: Set(audit_chain::head_mac(
                chain,
                0,
                audit_chain::GENESIS,
                0,
                audit_chain::GENESIS,
            )),
            updated_at: Set(ts(now)),
        })
        .on_conflict(OnConflict::column(H::ChainOrg).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    }
    Err(DbErr::RecordNotFound("the audit chain's head".to_owned()))
}

async fn move_head<C: ConnectionTrait>(
    db: &C,
    chain: Uuid,
    seq: i64,
    hash: &str,
    base_seq: i64,
    base_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use audit_heads::Column as H;
    audit_heads::Entity::update_many()
        .col_expr(H::Seq, Expr::value(seq))
        .col_expr(H::Hash, Expr::value(hash))
        .col_expr(H::BaseSeq, Expr::value(base_seq))
        .col_expr(H::BaseHash, Expr::value(base_hash))
        .col_expr(
            H::Mac,
            Expr::value(audit_chain::head_mac(chain, seq, hash, base_seq, base_hash)),
        )
        .col_expr(H::UpdatedAt, Expr::value(ts(now)))
        .filter(H::ChainOrg.eq(chain))
        .exec(db)
        .await?;
    Ok(())
}

/// Every chain's head.
pub async fn heads_global<C: ConnectionTrait>(db: &C) -> Result<Vec<audit_heads::Model>, DbErr> {
    audit_heads::Entity::find().all(db).await
}

/// `chain`'s events from place `after + 1` on, in order, at most `limit`.
pub async fn chain_page<C: ConnectionTrait>(
    db: &C,
    chain: Uuid,
    after: i64,
    limit: u64,
) -> Result<Vec<audit_events::Model>, DbErr> {
    use sea_orm::QueryOrder;
    audit_events::Entity::find()
        .filter(audit_events::Column::ChainOrg.eq(chain))
        .filter(audit_events::Column::Seq.gt(after))
        .order_by_asc(audit_events::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Chains that have events but no head, with their number of events.
pub async fn chains_without_head_global<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(Uuid, u64)>, DbErr> {
    use sea_orm::sea_query::Query;
    let rows: Vec<(Option<Uuid>, i64)> = audit_events::Entity::find()
        .select_only()
        .column(audit_events::Column::ChainOrg)
        .column_as(audit_events::Column::Id.count(), "n")
        .filter(audit_events::Column::Seq.is_not_null())
        .filter(
            audit_events::Column::ChainOrg.not_in_subquery(
                Query::select()
                    .column(audit_heads::Column::ChainOrg)
                    .from(audit_heads::Entity)
                    .to_owned(),
            ),
        )
        .group_by(audit_events::Column::ChainOrg)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, n)| c.map(|c| (c, u64::try_from(n).unwrap_or(0))))
        .collect())
}

/// Events written before the chain began (no place in any chain).
pub async fn count_unchained_global<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    audit_events::Entity::find()
        .filter(audit_events::Column::Seq.is_null())
        .count(db)
        .await
}

/// Which of an organisation's events [`list_for_org`] answers.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Done by this person (with any credential) …
    pub user: Option<Uuid>,
    /// … or with this API key.
    pub api_key: Option<Uuid>,
    /// Done to this route (`target_type` `route`).
    pub route: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: u64,
}

/// `org`'s events that pass `filter`, newest first.
pub async fn list_for_org<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    filter: &Filter,
) -> Result<Vec<audit_events::Model>, DbErr> {
    use audit_events::Column as E;
    use sea_orm::{Condition, QueryOrder};
    let mut q = audit_events::Entity::find().filter(E::OrgId.eq(org.0));
    match (filter.user, filter.api_key) {
        (Some(u), Some(k)) => {
            q = q.filter(
                Condition::any()
                    .add(E::ActorUserId.eq(u))
                    .add(E::ActorApiKeyId.eq(k)),
            );
        }
        (Some(u), None) => q = q.filter(E::ActorUserId.eq(u)),
        (None, Some(k)) => q = q.filter(E::ActorApiKeyId.eq(k)),
        (None, None) => {}
    }
    if let Some(route) = &filter.route {
        q = q
            .filter(E::TargetType.eq("route"))
            .filter(E::TargetId.eq(route.as_str()));
    }
    if let Some(action) = &filter.action {
        q = q.filter(E::Action.eq(action.as_str()));
    }
    if let Some(since) = filter.since {
        q = q.filter(E::CreatedAt.gte(ts(since)));
    }
    q.order_by_desc(E::CreatedAt)
        .order_by_desc(E::Id)
        .limit(filter.limit)
        .all(db)
        .await
}

/// Events of `org`, newest first (tests read what a request recorded).
#[cfg(feature = "test-support")]
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
) -> Result<Vec<audit_events::Model>, DbErr> {
    use sea_orm::QueryOrder;
    audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org.0))
        .order_by_desc(audit_events::Column::CreatedAt)
        .order_by_desc(audit_events::Column::Id)
        .all(db)
        .await
}

/// Rows deleted per statement when purging, so that no single write holds the database long.
const PURGE_BATCH: u64 = 5_000;

/// Deletes the events of every organisation (and of none) recorded before `cutoff`; returns
/// how many. In each chain a whole prefix goes — every event up to the last one recorded
/// before `cutoff` — and the chain's head keeps the last removed event's place and hash as its
/// new anchor, so what remains still verifies. Events from before the chain, by time, in
/// batches.
pub async fn purge_before<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut purged = 0;
    for head in heads_global(db).await? {
        purged += purge_chain(db, head.chain_org, cutoff).await?;
    }
    loop {
        let ids: Vec<Uuid> = audit_events::Entity::find()
            .select_only()
            .column(audit_events::Column::Id)
            .filter(audit_events::Column::CreatedAt.lt(ts(cutoff)))
            .filter(audit_events::Column::Seq.is_null())
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(purged);
        }
        let batch = ids.len() as u64;
        purged += audit_events::Entity::delete_many()
            .filter(audit_events::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
        if batch < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

/// [`purge_before`] for one chain, in one transaction.
async fn purge_chain<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    chain: Uuid,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use audit_events::Column as E;
    use sea_orm::QueryOrder;
    let last_aged = audit_events::Entity::find()
        .filter(E::ChainOrg.eq(chain))
        .filter(E::Seq.is_not_null())
        .filter(E::CreatedAt.lt(ts(cutoff)))
        .order_by_desc(E::Seq)
        .one(db)
        .await?;
    let Some((base_seq, Some(base_hash))) = last_aged.and_then(|e| e.seq.map(|s| (s, e.hash)))
    else {
        return Ok(0);
    };
    let txn = db.begin().await?;
    // Lock the head (an UPDATE first, as writers do) and read it.
    let locked = audit_heads::Entity::update_many()
        .col_expr(audit_heads::Column::UpdatedAt, Expr::value(ts(Utc::now())))
        .filter(audit_heads::Column::ChainOrg.eq(chain))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let head = if locked {
        audit_heads::Entity::find_by_id(chain).one(&txn).await?
    } else {
        None
    };
    let Some(head) = head else {
        return Ok(0);
    };
    if head.base_seq >= base_seq {
        return Ok(0);
    }
    let removed = audit_events::Entity::delete_many()
        .filter(E::ChainOrg.eq(chain))
        .filter(E::Seq.lte(base_seq))
        .exec(&txn)
        .await?
        .rows_affected;
    move_head(
        &txn,
        chain,
        head.seq,
        &head.hash,
        base_seq,
        &base_hash,
        Utc::now(),
    )
    .await?;
    txn.commit().await?;
    Ok(removed)
}
