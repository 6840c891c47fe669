//! Searching a knowledge base: the query is embedded with the model of the knowledge base's live
//! index (`ingest::live_model_of`) and matched against its chunks by vector, by BM25, or both fused by reciprocal rank
//! (`aerie-vectors`). Every search is scoped to the caller's organisation twice: the knowledge
//! base must be one the caller sees, and the vector store filters every row on the
//! organisation. Passages of documents removed meanwhile are dropped.

use std::collections::HashSet;

use super::find_visible;
use super::ingest::{live_model_of, table};
use crate::actor::Actor;
use crate::db::entities::knowledge_bases;
use crate::services::embeddings;
use crate::{AppContext, Error, Result, store};
use aerie_contract::ids::{CategoryId, DocumentId, KbId, OrgId};
use aerie_contract::knowledge::{Passage, SearchMode, SearchRequest, SearchResults};

/// Longest query, in characters.
pub const QUERY_MAX: usize = 4000;
/// Passages a search answers by default and at most.
pub const TOP_K_DEFAULT: u32 = 5;
pub const TOP_K_MAX: u32 = 50;
/// Documents a search may be narrowed to.
const DOCUMENTS_MAX: usize = 500;

/// A checked search of one knowledge base.
pub(crate) struct Query<'a> {
    pub text: &'a str,
    pub top_k: usize,
    pub category: Option<CategoryId>,
    pub documents: Option<&'a [DocumentId]>,
    pub mode: SearchMode,
}

/// The query text, checked: required (seed 001's sentence), at most [`QUERY_MAX`] characters.
pub(crate) fn query_text(query: &str) -> Result<&str> {
    let q = query.trim();
    if q.is_empty() {
        return Err(Error::invalid("query", "query field is required."));
    }
    if q.chars().count() > QUERY_MAX {
        return Err(Error::invalid(
            "query",
            format!("query is longer than {QUERY_MAX} characters."),
        ));
    }
    Ok(q)
}

/// `top_k`, checked (1–50, default 5).
pub(crate) fn top_k(top_k: Option<u32>) -> Result<usize> {
    match top_k.unwrap_or(TOP_K_DEFAULT) {
        k @ 1..=TOP_K_MAX => Ok(usize::try_from(k).unwrap_or(5)),
        _ => Err(Error::invalid(
            "top_k",
            format!("top_k must be between 1 and {TOP_K_MAX}."),
        )),
    }
}

/// Searches a knowledge base the caller sees.
pub async fn search(
    ctx: &AppContext,
    actor: &Actor,
    kb: KbId,
    input: SearchRequest,
) -> Result<SearchResults> {
    let p = actor.principal()?;
    let (row, _) = find_visible(ctx, p, kb).await?;
    let text = query_text(&input.query)?;
    let top_k = top_k(input.top_k)?;
    if let Some(c) = input.category_id
        && store::knowledge_categories::find(ctx.db(), p.org_id, kb, c)
            .await?
            .is_none()
    {
        return Err(Error::invalid(
            "category_id",
            "category_id names no category of this knowledge base.",
        ));
    }
    if input
        .document_ids
        .as_ref()
        .is_some_and(|d| d.len() > DOCUMENTS_MAX)
    {
        return Err(Error::invalid(
            "document_ids",
            format!("document_ids may name at most {DOCUMENTS_MAX} documents."),
        ));
    }
    if let Some(ids) = &input.document_ids {
        let unique: Vec<DocumentId> = ids
            .iter()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let held = store::documents::count_in(ctx.db(), p.org_id, kb, &unique).await?;
        if usize::try_from(held).ok() != Some(unique.len()) {
            return Err(Error::invalid(
                "document_ids",
                "document_ids names documents this knowledge base does not hold.",
            ));
        }
    }
    let results = passages(
        ctx,
        p.org_id,
        &row,
        Query {
            text,
            top_k,
            category: input.category_id,
            documents: input.document_ids.as_deref(),
            mode: input.mode,
        },
    )
    .await?;
    Ok(SearchResults { results })
}

/// The best passages of knowledge base `kb` (of `org`, already checked visible) for `q`.
pub(crate) async fn passages(
    ctx: &AppContext,
    org: OrgId,
    kb: &knowledge_bases::Model,
    q: Query<'_>,
) -> Result<Vec<Passage>> {
    let vector = match q.mode {
        SearchMode::FullText => Vec::new(),
        SearchMode::Vector | SearchMode::Hybrid => {
            let mut v =
                embeddings::embed(ctx, org, &live_model_of(kb), vec![q.text.to_owned()]).await?;
            v.pop().ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("the embedding model answered no vector"))
            })?
        }
    };
    let documents: Option<Vec<uuid::Uuid>> = q.documents.map(|d| d.iter().map(|d| d.0).collect());
    // Room for passages of documents removed since they were indexed (dropped below).
    let limit = q.top_k.saturating_mul(2).max(10);
    let hits = ctx
        .vectors()
        .await?
        .search(
            &table(KbId(kb.id), kb.index_generation),
            &aerie_vectors::Search {
                org: org.0,
                vector: &vector,
                text: q.text,
                limit,
                category: q.category.map(|c| c.0),
                documents: documents.as_deref(),
            },
            match q.mode {
                SearchMode::Hybrid => aerie_vectors::Mode::Hybrid,
                SearchMode::Vector => aerie_vectors::Mode::Vector,
                SearchMode::FullText => aerie_vectors::Mode::FullText,
            },
        )
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    let ids: Vec<DocumentId> = hits
        .iter()
        .map(|h| DocumentId(h.document))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let names = store::documents::filenames(ctx.db(), org, &ids).await?;
    Ok(hits
        .into_iter()
        .filter_map(|h| {
            let id = DocumentId(h.document);
            Some(Passage {
                knowledge_base_id: KbId(kb.id),
                document_id: id,
                filename: names.get(&id)?.clone(),
                category_id: h.category.map(CategoryId),
                chunk_index: h.index,
                text: h.text,
                score: h.score,
            })
        })
        .take(q.top_k)
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_required_and_bounded() {
        assert!(query_text("  ").is_err());
        assert_eq!(query_text(" heron ").unwrap(), "heron");
        assert!(query_text(&"é".repeat(QUERY_MAX + 1)).is_err());
        assert_eq!(top_k(None).unwrap(), 5);
        assert!(top_k(Some(0)).is_err());
        assert!(top_k(Some(51)).is_err());
    }
}
