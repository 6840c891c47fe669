//! Seed 003's native RAG endpoints: `POST /v1/rag/index` stores texts as documents of a
//! knowledge base (ingested like uploads), `POST /v1/rag/query` answers the passages of one
//! knowledge base, or of every one the caller sees, with the context a prompt would carry.
//! Knowledge bases are named by id or slug, within the caller's organisation.

use super::documents::{self, Source, Upload};
use super::retrieve;
use super::search::{self, Query};
use super::{category_by_key, find_visible, sees};
use crate::actor::{Actor, Principal};
use crate::db::entities::knowledge_bases;
use crate::services::visibility::Viewer;
use crate::{AppContext, Error, Result, store};
use aerie_contract::ids::KbId;
use aerie_contract::knowledge::{
    RagContext, RagIndexRequest, RagIndexed, RagQueryRequest, SearchMode,
};

/// Knowledge bases a query without one searches at most (the most recently created first).
const QUERY_KBS_MAX: usize = 20;

/// A knowledge base of the caller's organisation the caller sees, by id or slug (404 otherwise).
async fn resolve(
    ctx: &AppContext,
    p: &Principal,
    field: &'static str,
    id_or_slug: &str,
) -> Result<knowledge_bases::Model> {
    let key = id_or_slug.trim();
    if key.is_empty() {
        return Err(Error::invalid(field, format!("{field} field is required.")));
    }
    if let Ok(id) = uuid::Uuid::parse_str(key) {
        return Ok(find_visible(ctx, p, KbId(id)).await?.0);
    }
    let row = store::knowledge_bases::find_by_slug(ctx.db(), p.org_id, &key.to_lowercase())
        .await?
        .ok_or(Error::NotFound)?;
    find_visible(ctx, p, KbId(row.id)).await.map(|(r, _)| r)
}

/// `POST /v1/rag/index`.
pub async fn index(ctx: &AppContext, actor: &Actor, input: RagIndexRequest) -> Result<RagIndexed> {
    let p = actor.principal()?;
    let kb = resolve(ctx, p, "knowledge_base", &input.knowledge_base).await?;
    let kb_id = KbId(kb.id);
    if input.documents.is_empty() {
        return Err(Error::invalid("documents", "documents field is required."));
    }
    let category = match input.category.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(category_by_key(ctx, p.org_id, kb_id, c, "knowledge base").await?),
    };
    let files = input
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| Upload {
            filename: d
                .filename
                .filter(|f| !f.trim().is_empty())
                .unwrap_or_else(|| format!("document-{}.txt", i + 1)),
            bytes: d.text.into_bytes(),
            metadata: d.metadata,
        })
        .collect();
    let documents = documents::upload(ctx, actor, kb_id, category, files, Source::RagIndex).await?;
    Ok(RagIndexed {
        knowledge_base_id: kb_id,
        documents,
    })
}

/// `POST /v1/rag/query`.
pub async fn query(ctx: &AppContext, actor: &Actor, input: RagQueryRequest) -> Result<RagContext> {
    let p = actor.principal()?;
    let text = search::query_text(&input.query)?;
    let top_k = search::top_k(input.top_k)?;
    let kbs = match input.knowledge_base.as_deref() {
        Some(k) => vec![resolve(ctx, p, "knowledge_base", k).await?],
        None => {
            let viewer = Viewer::of(ctx, p).await?;
            let mut all: Vec<_> = store::knowledge_bases::list(ctx.db(), p.org_id)
                .await?
                .into_iter()
                .filter(|k| sees(&viewer, k))
                .collect();
            all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
            all.truncate(QUERY_KBS_MAX);
            all
        }
    };
    let passages = retrieve::search_many(
        ctx,
        p.org_id,
        &kbs,
        &Query {
            text,
            top_k,
            category: None,
            documents: None,
            mode: SearchMode::Hybrid,
        },
    )
    .await?;
    Ok(RagContext {
        query: text.to_owned(),
        context: retrieve::context(&retrieve::citations(passages.clone())),
        passages,
    })
}
