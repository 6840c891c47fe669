//! Documents of knowledge bases. Until uploads are served (issue 13, the documents item) this
//! module counts them for the knowledge bases' views and removes them with their knowledge
//! base; every count skips documents being deleted (`deleted_at` set).

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};
use uuid::Uuid;

use crate::db::entities::documents;
use aerie_contract::DocumentStatus;
use aerie_contract::ids::{CategoryId, KbId, OrgId};

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
