//! Documents of knowledge bases: their rows (what was uploaded, its state of ingestion), the
//! counts the knowledge bases' views show, and their removal. Every reading but `find_any`
//! skips documents being deleted (`deleted_at` set); the bytes live in the data folder and the
//! chunks in the vector store (`services::knowledge`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::ts;
use crate::db::entities::documents;
use aerie_contract::DocumentStatus;
use aerie_contract::ids::{CategoryId, DocumentId, JobId, KbId, OrgId, UserId};

impl documents::Model {
    /// Its state of ingestion: the one reading of the stored `status` column (a value this
    /// build does not know reads as `failed`, so nothing treats it as searchable).
    pub fn status(&self) -> DocumentStatus {
        self.status.parse().unwrap_or(DocumentStatus::Failed)
    }
}

/// A document to store, `queued`.
pub struct NewDocument {
    pub id: DocumentId,
    pub org: OrgId,
    pub kb: KbId,
    pub category: Option<CategoryId>,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: u64,
    pub content_hash: String,
    /// `upload` or `rag_index`.
    pub source: &'static str,
    pub metadata: Option<Value>,
    pub job: JobId,
    pub created_by: UserId,
    pub now: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    new: NewDocument,
) -> Result<documents::Model, DbErr> {
    let now = ts(new.now);
    documents::ActiveModel {
        id: Set(new.id.0),
        org_id: Set(new.org.0),
        kb_id: Set(new.kb.0),
        category_id: Set(new.category.map(|c| c.0)),
        filename: Set(new.filename),
        media_type: Set(new.media_type),
        size_bytes: Set(i64::try_from(new.size_bytes).unwrap_or(i64::MAX)),
        content_hash: Set(new.content_hash),
        source: Set(new.source.to_owned()),
        metadata: Set(new.metadata),
        status: Set(DocumentStatus::Queued.as_str().to_owned()),
        progress: Set(0),
        error: Set(None),
        chunk_count: Set(0),
        job_id: Set(Some(new.job.0)),
        created_by: Set(new.created_by.0),
        created_at: Set(now),
        updated_at: Set(now),
        indexed_at: Set(None),
        deleted_at: Set(None),
    }
    .insert(db)
    .await
}

fn live_in(org: OrgId, kb: KbId) -> Select<documents::Entity> {
    documents::Entity::find()
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::KbId.eq(kb.0))
        .filter(documents::Column::DeletedAt.is_null())
}

/// The live documents of `kb`, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
) -> Result<Vec<documents::Model>, DbErr> {
    live_in(org, kb)
        .order_by_desc(documents::Column::CreatedAt)
        .order_by_desc(documents::Column::Id)
        .all(db)
        .await
}

/// A live document of `kb`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    id: DocumentId,
) -> Result<Option<documents::Model>, DbErr> {
    live_in(org, kb)
        .filter(documents::Column::Id.eq(id.0))
        .one(db)
        .await
}

/// A document of `org`, deleted or not (for the jobs that work on it).
pub async fn find_any<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: DocumentId,
) -> Result<Option<documents::Model>, DbErr> {
    documents::Entity::find_by_id(id.0)
        .filter(documents::Column::OrgId.eq(org.0))
        .one(db)
        .await
}

/// The live document of `kb` holding bytes of this SHA-256, if any.
pub async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    content_hash: &str,
) -> Result<Option<documents::Model>, DbErr> {
    live_in(org, kb)
        .filter(documents::Column::ContentHash.eq(content_hash))
        .order_by_asc(documents::Column::CreatedAt)
        .one(db)
        .await
}

/// The names of documents of `org`, by id (for passages' sources).
pub async fn filenames<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    ids: &[DocumentId],
) -> Result<HashMap<DocumentId, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = documents::Entity::find()
        .select_only()
        .column(documents::Column::Id)
        .column(documents::Column::Filename)
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::Id.is_in(ids.iter().map(|d| d.0)))
        .filter(documents::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, f)| (DocumentId(id), f))
        .collect())
}

/// How many of `ids` are live documents of `kb`.
pub async fn count_in<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    ids: &[DocumentId],
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    use sea_orm::PaginatorTrait;
    live_in(org, kb)
        .filter(documents::Column::Id.is_in(ids.iter().map(|d| d.0)))
        .count(db)
        .await
}

/// The ids of the live documents of `kb` in any of `statuses`, oldest first.
pub async fn ids_with_status<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    statuses: &[DocumentStatus],
) -> Result<Vec<DocumentId>, DbErr> {
    let ids: Vec<Uuid> = live_in(org, kb)
        .select_only()
        .column(documents::Column::Id)
        .filter(documents::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .order_by_asc(documents::Column::CreatedAt)
        .order_by_asc(documents::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(DocumentId).collect())
}

/// A change of a document's ingestion state; absent fields stay.
#[derive(Debug, Default)]
pub struct StateChange {
    pub status: Option<DocumentStatus>,
    pub progress: Option<u8>,
    /// `Some(None)` clears it.
    pub error: Option<Option<String>>,
    pub chunk_count: Option<u32>,
    pub indexed_at: Option<DateTime<Utc>>,
    pub job: Option<JobId>,
}

/// Writes `change` to document `id` of `org` (deleted or not: a job may finish after the
/// document was removed, and then writes nothing anyone reads). Returns whether it exists.
pub async fn set_state<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    id: DocumentId,
    change: StateChange,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = documents::Entity::update_many()
        .col_expr(documents::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(documents::Column::Id.eq(id.0))
        .filter(documents::Column::OrgId.eq(org.0));
    if let Some(s) = change.status {
        update = update.col_expr(documents::Column::Status, Expr::value(s.as_str()));
    }
    if let Some(p) = change.progress {
        update = update.col_expr(
            documents::Column::Progress,
            Expr::value(i16::from(std::cmp::min(p, 100))),
        );
    }
    if let Some(e) = change.error {
        update = update.col_expr(documents::Column::Error, Expr::value(e));
    }
    if let Some(n) = change.chunk_count {
        update = update.col_expr(
            documents::Column::ChunkCount,
            Expr::value(i32::try_from(n).unwrap_or(i32::MAX)),
        );
    }
    if let Some(t) = change.indexed_at {
        update = update.col_expr(documents::Column::IndexedAt, Expr::value(Some(ts(t))));
    }
    if let Some(j) = change.job {
        update = update.col_expr(documents::Column::JobId, Expr::value(Some(j.0)));
    }
    Ok(update.exec(db).await?.rows_affected > 0)
}

/// Hides a live document of `kb` from every view; its removal job deletes the rest. Returns
/// whether a live one was marked.
pub async fn mark_deleted<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    id: DocumentId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = documents::Entity::update_many()
        .col_expr(documents::Column::DeletedAt, Expr::value(Some(ts(now))))
        .col_expr(documents::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(documents::Column::Id.eq(id.0))
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::KbId.eq(kb.0))
        .filter(documents::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Removes document `id` of `org` (its row; the caller removed its file and chunks).
pub async fn delete<C: ConnectionTrait>(db: &C, org: OrgId, id: DocumentId) -> Result<u64, DbErr> {
    Ok(documents::Entity::delete_many()
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::Id.eq(id.0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Documents and chunks of one knowledge base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Live documents, whatever their status.
    pub documents: u64,
    /// Chunks of `ready` documents.
    pub chunks: u64,
}

fn live(kbs: &[KbId]) -> Select<documents::Entity> {
    documents::Entity::find()
        .filter(documents::Column::KbId.is_in(kbs.iter().map(|k| k.0)))
        .filter(documents::Column::DeletedAt.is_null())
}

async fn counts_of<C: ConnectionTrait>(
    db: &C,
    query: Select<documents::Entity>,
) -> Result<HashMap<KbId, Counts>, DbErr> {
    // One row per knowledge base and status: (kb, status, documents, chunks).
    let rows: Vec<(Uuid, String, i64, Option<i64>)> = query
        .select_only()
        .column(documents::Column::KbId)
        .column(documents::Column::Status)
        .column_as(Expr::col(documents::Column::Id).count(), "documents")
        .column_as(
            Expr::col(documents::Column::ChunkCount)
                .sum()
                .cast_as("bigint"),
            "chunks",
        )
        .group_by(documents::Column::KbId)
        .group_by(documents::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<KbId, Counts> = HashMap::new();
    for (kb, status, docs, chunks) in rows {
        let c = out.entry(KbId(kb)).or_default();
        c.documents += u64::try_from(docs).unwrap_or_default();
        if status == DocumentStatus::Ready.as_str() {
            c.chunks += chunks
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_default();
        }
    }
    Ok(out)
}

/// Counts for the knowledge bases `kbs` of `org` (absent: none).
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kbs: &[KbId],
) -> Result<HashMap<KbId, Counts>, DbErr> {
    if kbs.is_empty() {
        return Ok(HashMap::new());
    }
    counts_of(db, live(kbs).filter(documents::Column::OrgId.eq(org.0))).await
}

/// Counts for public knowledge bases of any organisation (the marketplace); the caller passes
/// only ids it read as public.
pub async fn counts_global<C: ConnectionTrait>(
    db: &C,
    kbs: &[KbId],
) -> Result<HashMap<KbId, Counts>, DbErr> {
    if kbs.is_empty() {
        return Ok(HashMap::new());
    }
    counts_of(db, live(kbs)).await
}

/// Live documents per category of the knowledge bases `kbs` of `org` (uncategorised ones are
/// not counted).
pub async fn category_counts<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kbs: &[KbId],
) -> Result<HashMap<CategoryId, u64>, DbErr> {
    if kbs.is_empty() {
        return Ok(HashMap::new());
    }
    category_counts_of(db, live(kbs).filter(documents::Column::OrgId.eq(org.0))).await
}

/// [`category_counts`] for public knowledge bases of any organisation (the marketplace, Egret's
/// anonymous views); the caller passes only ids it read as public.
pub async fn category_counts_global<C: ConnectionTrait>(
    db: &C,
    kbs: &[KbId],
) -> Result<HashMap<CategoryId, u64>, DbErr> {
    if kbs.is_empty() {
        return Ok(HashMap::new());
    }
    category_counts_of(db, live(kbs)).await
}

async fn category_counts_of<C: ConnectionTrait>(
    db: &C,
    query: Select<documents::Entity>,
) -> Result<HashMap<CategoryId, u64>, DbErr> {
    let rows: Vec<(Option<Uuid>, i64)> = query
        .filter(documents::Column::CategoryId.is_not_null())
        .select_only()
        .column(documents::Column::CategoryId)
        .column_as(Expr::col(documents::Column::Id).count(), "documents")
        .group_by(documents::Column::CategoryId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, n)| Some((CategoryId(c?), u64::try_from(n).unwrap_or_default())))
        .collect())
}

/// Removes up to `batch` documents of `kb` (deleted or not); returns how many went. The
/// deletion job calls it until it returns 0, so that no transaction holds many rows.
pub async fn delete_batch<C: ConnectionTrait>(
    db: &C,
    org: OrgId,
    kb: KbId,
    batch: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = documents::Entity::find()
        .select_only()
        .column(documents::Column::Id)
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::KbId.eq(kb.0))
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(documents::Entity::delete_many()
        .filter(documents::Column::OrgId.eq(org.0))
        .filter(documents::Column::Id.is_in(ids))
        .exec(db)
        .await?
        .rows_affected)
}
