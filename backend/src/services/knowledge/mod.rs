//! Knowledge bases (Egret's domains) and their categories: any member creates one; its owner
//! and the organisation's admins change it; who sees it follows its visibility
//! (`services::visibility`). Public ones are listed in the marketplace and open to Egret's
//! domain views from any organisation, read-only and without their settings or documents.
//! Deleting one hides it at once and queues the `knowledge.delete` job (`jobs.rs`) that removes
//! what it held. The design, with the choices where the seeds are silent:
//! `docs/plans/knowledge.md`.

mod documents;
mod ingest;
pub(crate) use ingest::table_prefix;
mod jobs;
mod query;
mod rag;
mod reindex;
mod retrieve;
mod search;

use std::collections::HashMap;

use chrono::Utc;

use super::audit::{self, Event};
use super::visibility::{self, Viewer};
use super::{providers, validate};
use crate::actor::{Actor, Principal};
use crate::db::entities::{knowledge_bases, knowledge_categories};
use crate::store::{self, id_json as json_ids, id_list, utc};
use crate::{AppContext, Error, Result, db};
use aerie_contract::agents::Visibility;
use aerie_contract::ids::{CategoryId, GroupId, KbId, OrgId, ProviderId, UserId};
use aerie_contract::knowledge::{
    Category, Chunking, ChunkingInput, Domain, DomainDetail, Embedding, EmbeddingInput,
    KnowledgeBase, LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, MarketplaceKnowledgeBase,
    NewCategory, NewKnowledgeBase, UpdateCategory, UpdateKnowledgeBase,
};

pub use documents::{
    FILES_MAX, Source, Upload, clean_filename, delete_document, document, documents, upload,
};
pub use ingest::{DOCUMENT_DELETE_KIND, DocumentDeleteJob, INGEST_KIND, IngestJob};
pub use jobs::{DELETE_KIND, DeleteJob, files_dir, requeue_stalled_deletions};
pub use query::{QueryStarted, query};
pub use rag::{index as rag_index, query as rag_query};
pub use reindex::{REINDEX_KIND, ReindexJob, reindex};
pub use retrieve::{
    AGENT_PASSAGES, for_agent as agent_citations, instructions as knowledge_instructions,
};
pub use search::search;

/// The refusal for a member who sees a knowledge base but may not change it.
const NOT_EDITABLE: &str =
    "Only the knowledge base's owner or an organisation admin can change it.";

/// Public knowledge bases the marketplace lists at most.
const MARKETPLACE_MAX: u64 = 200;

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or_default()
}

fn category_dto(c: &knowledge_categories::Model, counts: &HashMap<CategoryId, u64>) -> Category {
    let id = CategoryId(c.id);
    Category {
        id,
        kb_id: KbId(c.kb_id),
        slug: c.slug.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        position: count(c.position),
        document_count: counts.get(&id).copied().unwrap_or_default(),
        created_at: utc(c.created_at),
        updated_at: utc(c.updated_at),
    }
}

/// Categories grouped by knowledge base, in display order, with their document counts.
struct Categories(HashMap<KbId, Vec<Category>>);

impl Categories {
    async fn of(ctx: &AppContext, org: Option<OrgId>, kbs: &[KbId]) -> Result<Self> {
        let (rows, counts) = match org {
            Some(org) => (
                store::knowledge_categories::list(ctx.db(), org, kbs).await?,
                store::documents::category_counts(ctx.db(), org, kbs).await?,
            ),
            None => (
                store::knowledge_categories::list_global(ctx.db(), kbs).await?,
                store::documents::category_counts_global(ctx.db(), kbs).await?,
            ),
        };
        let mut out: HashMap<KbId, Vec<Category>> = HashMap::new();
        for c in &rows {
            out.entry(KbId(c.kb_id))
                .or_default()
                .push(category_dto(c, &counts));
        }
        Ok(Self(out))
    }

    fn take(&mut self, kb: KbId) -> Vec<Category> {
        self.0.remove(&kb).unwrap_or_default()
    }
}

fn to_dto(
    kb: &knowledge_bases::Model,
    categories: Vec<Category>,
    counts: store::documents::Counts,
) -> KnowledgeBase {
    KnowledgeBase {
        id: KbId(kb.id),
        slug: kb.slug.clone(),
        name: kb.name.clone(),
        description: kb.description.clone(),
        visibility: kb.visibility(),
        group_ids: id_list::<GroupId>(&kb.group_ids),
        chunking: Chunking {
            chunk_size: count(kb.chunk_size),
            chunk_overlap: count(kb.chunk_overlap),
        },
        embedding: Embedding {
            provider_id: kb.embedding_provider_id.map(ProviderId),
            model: kb.embedding_model.clone(),
            dimensions: kb.embedding_dimensions.map(count),
        },
        categories,
        document_count: counts.documents,
        chunk_count: counts.chunks,
        owner_id: UserId(kb.owner_id),
        created_at: utc(kb.created_at),
        updated_at: utc(kb.updated_at),
    }
}

/// The views of knowledge bases of `org` (`None`: public ones read across organisations), with
/// their categories and counts, in two queries whatever their number.
async fn views(
    ctx: &AppContext,
    org: Option<OrgId>,
    rows: &[knowledge_bases::Model],
) -> Result<Vec<KnowledgeBase>> {
    let ids: Vec<KbId> = rows.iter().map(|k| KbId(k.id)).collect();
    let mut categories = Categories::of(ctx, org, &ids).await?;
    let counts = match org {
        Some(org) => store::documents::counts(ctx.db(), org, &ids).await?,
        None => store::documents::counts_global(ctx.db(), &ids).await?,
    };
    Ok(rows
        .iter()
        .map(|k| {
            let id = KbId(k.id);
            to_dto(
                k,
                categories.take(id),
                counts.get(&id).copied().unwrap_or_default(),
            )
        })
        .collect())
}

async fn view(ctx: &AppContext, row: &knowledge_bases::Model) -> Result<KnowledgeBase> {
    let mut all = views(ctx, Some(OrgId(row.org_id)), std::slice::from_ref(row)).await?;
    all.pop().ok_or(Error::NotFound)
}

fn sees(viewer: &Viewer, kb: &knowledge_bases::Model) -> bool {
    viewer.sees(
        UserId(kb.owner_id),
        kb.visibility(),
        &id_list::<GroupId>(&kb.group_ids),
    )
}

/// A knowledge base of the caller's organisation the caller sees (otherwise 404, whether it
/// exists elsewhere or not).
async fn find_visible(
    ctx: &AppContext,
    p: &Principal,
    id: KbId,
) -> Result<(knowledge_bases::Model, Viewer)> {
    let row = store::knowledge_bases::find(ctx.db(), p.org_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let viewer = Viewer::of(ctx, p).await?;
    if sees(&viewer, &row) {
        Ok((row, viewer))
    } else {
        Err(Error::NotFound)
    }
}

/// A category of knowledge base `kb` named by its slug or id (400 naming `category`
/// otherwise; `what` is how the message calls the knowledge base).
pub(crate) async fn category_by_key(
    ctx: &AppContext,
    org: OrgId,
    kb: KbId,
    key: &str,
    what: &str,
) -> Result<CategoryId> {
    let cats = store::knowledge_categories::list(ctx.db(), org, &[kb]).await?;
    cats.iter()
        .find(|c| {
            c.slug.eq_ignore_ascii_case(key) || uuid::Uuid::parse_str(key).is_ok_and(|u| u == c.id)
        })
        .map(|c| CategoryId(c.id))
        .ok_or_else(|| {
            Error::invalid(
                "category",
                format!("category names no category of this {what}."),
            )
        })
}

async fn find_editable(
    ctx: &AppContext,
    p: &Principal,
    id: KbId,
) -> Result<knowledge_bases::Model> {
    let (row, viewer) = find_visible(ctx, p, id).await?;
    if viewer.may_change(UserId(row.owner_id)) {
        Ok(row)
    } else {
        Err(Error::Refused(NOT_EDITABLE))
    }
}

/// The knowledge bases of the caller's organisation the caller sees, by name.
pub async fn list(ctx: &AppContext, actor: &Actor) -> Result<Vec<KnowledgeBase>> {
    let p = actor.principal()?;
    let viewer = Viewer::of(ctx, p).await?;
    let rows: Vec<_> = store::knowledge_bases::list(ctx.db(), p.org_id)
        .await?
        .into_iter()
        .filter(|k| sees(&viewer, k))
        .collect();
    views(ctx, Some(p.org_id), &rows).await
}

pub async fn get(ctx: &AppContext, actor: &Actor, id: KbId) -> Result<KnowledgeBase> {
    let (row, _) = find_visible(ctx, actor.principal()?, id).await?;
    view(ctx, &row).await
}

fn in_range(field: &'static str, value: u32, (min, max): (i64, i64)) -> Result<i32> {
    let v = i64::from(value);
    if !(min..=max).contains(&v) {
        return Err(Error::invalid(
            field,
            format!("{field} must be between {min} and {max}."),
        ));
    }
    Ok(i32::try_from(v).unwrap_or(i32::MAX))
}

/// The chunking settings `input` asks for on top of `current`, checked.
fn chunking(input: ChunkingInput, current: Chunking) -> Result<(i32, i32)> {
    let size = in_range(
        "chunking.chunk_size",
        input.chunk_size.unwrap_or(current.chunk_size),
        validate::CHUNK_SIZE,
    )?;
    let overlap = in_range(
        "chunking.chunk_overlap",
        input.chunk_overlap.unwrap_or(current.chunk_overlap),
        validate::CHUNK_OVERLAP,
    )?;
    if overlap.saturating_mul(2) >= size {
        return Err(Error::invalid(
            "chunking.chunk_overlap",
            "chunking.chunk_overlap must be less than half of chunking.chunk_size.",
        ));
    }
    Ok((size, overlap))
}

/// The embedding settings `input` asks for on top of `current`, checked: the provider (`None`:
/// the built-in model), its model, and the vectors' length when known.
async fn embedding(
    ctx: &AppContext,
    org: OrgId,
    input: EmbeddingInput,
    current: &Embedding,
) -> Result<(Option<ProviderId>, String, Option<i32>)> {
    let provider = input.provider_id.unwrap_or(current.provider_id);
    let model = input
        .model
        .as_deref()
        .map(|m| validate::name("embedding.model", m, validate::TITLE_MAX))
        .transpose()?;
    match provider {
        None => {
            if model.as_deref().is_some_and(|m| m != LOCAL_EMBEDDING_MODEL) {
                return Err(Error::invalid(
                    "embedding.model",
                    format!(
                        "embedding.model must be {LOCAL_EMBEDDING_MODEL} for the built-in model."
                    ),
                ));
            }
            let dims = i32::try_from(LOCAL_EMBEDDING_DIMENSIONS).ok();
            Ok((None, LOCAL_EMBEDDING_MODEL.to_owned(), dims))
        }
        Some(id) => {
            if !providers::exists(ctx, org, id).await? {
                return Err(Error::invalid(
                    "embedding.provider_id",
                    "embedding.provider_id does not name a provider of your organisation.",
                ));
            }
            let model = match model {
                Some(m) => m,
                // The same provider keeps its model.
                None if current.provider_id == Some(id) => current.model.clone(),
                None => {
                    return Err(Error::invalid(
                        "embedding.model",
                        "embedding.model field is required.",
                    ));
                }
            };
            // Learnt from the provider's first answer; kept while nothing changes.
            let dims = if current.provider_id == Some(id) && current.model == model {
                current.dimensions.and_then(|d| i32::try_from(d).ok())
            } else {
                None
            };
            Ok((Some(id), model, dims))
        }
    }
}

fn public_slug_taken() -> Error {
    Error::state(
        "slug",
        "slug is already taken by a public knowledge base of another organisation; choose another slug to make this one public.",
    )
}

/// Refuses to make `slug` public when a public knowledge base other than `id` holds it (the
/// unique index is the guard against a race; this is the clear sentence).
async fn check_public_slug(ctx: &AppContext, slug: &str, id: Option<KbId>) -> Result<()> {
    match store::knowledge_bases::find_public_by_slug_global(ctx.db(), slug).await? {
        Some(other) if Some(KbId(other.id)) != id => Err(public_slug_taken()),
        _ => Ok(()),
    }
}

pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: NewKnowledgeBase,
) -> Result<KnowledgeBase> {
    let p = actor.principal()?;
    let name = validate::name("name", &input.name, validate::NAME_MAX)?;
    let explicit_slug = input
        .slug
        .as_deref()
        .map(|s| validate::slug("slug", s))
        .transpose()?;
    let description = validate::text("description", &input.description, validate::COMMENT_MAX)?
        .trim()
        .to_owned();
    let (chunk_size, chunk_overlap) = chunking(input.chunking, Chunking::default())?;
    visibility::check_groups(ctx, p.org_id, &input.group_ids).await?;
    let (provider, model, dims) =
        embedding(ctx, p.org_id, input.embedding, &Embedding::default()).await?;
    let base = explicit_slug
        .clone()
        .unwrap_or_else(|| validate::slugify_or(&name, "kb"));
    let mut attempt = 1;
    loop {
        let slug = if attempt == 1 {
            base.clone()
        } else {
            format!("{base}-{attempt}")
        };
        if input.visibility == Visibility::Public {
            check_public_slug(ctx, &slug, None).await?;
        }
        let created = store::knowledge_bases::create(
            ctx.db(),
            store::knowledge_bases::NewKnowledgeBase {
                org: p.org_id,
                owner: p.user_id,
                slug,
                name: name.clone(),
                description: description.clone(),
                visibility: input.visibility,
                group_ids: json_ids(&input.group_ids),
                chunk_size,
                chunk_overlap,
                embedding_provider: provider,
                embedding_model: model.clone(),
                embedding_dimensions: dims,
                now: Utc::now(),
            },
        )
        .await
        .map_err(Error::on_unique("slug"));
        match created {
            // A made-up slug the organisation already uses: try the next one.
            Err(Error::Conflict { .. }) if explicit_slug.is_none() && attempt < 50 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
            Ok(row) => {
                audit::record(
                    ctx.db(),
                    Some(p.org_id),
                    actor,
                    Event::new("knowledge_base.created").target("knowledge_base", row.id),
                )
                .await?;
                return view(ctx, &row).await;
            }
        }
    }
}

pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: KbId,
    input: UpdateKnowledgeBase,
) -> Result<KnowledgeBase> {
    let p = actor.principal()?;
    let row = find_editable(ctx, p, id).await?;
    let current = to_dto(&row, Vec::new(), Default::default());
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n, validate::NAME_MAX))
        .transpose()?;
    let slug = input
        .slug
        .as_deref()
        .map(|s| validate::slug("slug", s))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| {
            validate::text("description", d, validate::COMMENT_MAX).map(|d| d.trim().to_owned())
        })
        .transpose()?;
    let (chunk_size, chunk_overlap) = match input.chunking {
        Some(c) => {
            let (size, overlap) = chunking(c, current.chunking)?;
            (Some(size), Some(overlap))
        }
        None => (None, None),
    };
    if let Some(groups) = &input.group_ids {
        visibility::check_groups(ctx, p.org_id, groups).await?;
    }
    let (embedding_provider, embedding_model, embedding_dimensions) = match input.embedding {
        Some(e) => {
            let (provider, model, dims) = embedding(ctx, p.org_id, e, &current.embedding).await?;
            (Some(provider), Some(model), Some(dims))
        }
        None => (None, None, None),
    };
    let visibility = input.visibility.unwrap_or(current.visibility);
    let final_slug = slug.as_deref().unwrap_or(&current.slug);
    if visibility == Visibility::Public {
        check_public_slug(ctx, final_slug, Some(id)).await?;
    }
    // Documents already embedded: a new embedding model would not match their vectors (until
    // the live index records its own model, docs/plans/knowledge.md), and new chunking settings
    // take effect by a reindex, queued in the same transaction.
    let has_documents = store::documents::counts(ctx.db(), p.org_id, &[id])
        .await?
        .get(&id)
        .is_some_and(|c| c.documents > 0);
    let new_embedding = embedding_provider.is_some_and(|p| p != current.embedding.provider_id)
        || embedding_model
            .as_ref()
            .is_some_and(|m| *m != current.embedding.model);
    let rechunk = has_documents
        && (new_embedding
            || chunk_size.is_some_and(|s| s != current_size(&current))
            || chunk_overlap.is_some_and(|o| o != current_overlap(&current)));
    // A new model with documents: the live index keeps the model it was built with (searches
    // embed with it) until the reindex to the new one switches.
    let index_embedding = (has_documents && new_embedding && row.index_embedding.is_none())
        .then(|| Some(ingest::index_embedding(&ingest::model_of(&row))));
    let changes = store::knowledge_bases::KnowledgeBaseChanges {
        slug,
        name,
        description,
        visibility: input.visibility,
        group_ids: input.group_ids.as_deref().map(json_ids),
        chunk_size,
        chunk_overlap,
        embedding_provider,
        embedding_model,
        embedding_dimensions,
        index_embedding,
    };
    let generation = row.index_generation;
    let txn = db::begin_write(ctx.db()).await?;
    let row = store::knowledge_bases::update(&txn, p.org_id, row, changes, Utc::now())
        .await
        .map_err(Error::on_unique("slug"))?;
    if rechunk {
        reindex::enqueue(&txn, p.org_id, id, generation.saturating_add(1)).await?;
    }
    txn.commit().await?;
    if rechunk {
        super::jobs::wake(ctx);
    }
    let after = to_dto(&row, Vec::new(), Default::default());
    audit::record(
        ctx.db(),
        Some(p.org_id),
        actor,
        Event::new("knowledge_base.updated")
            .target("knowledge_base", row.id)
            .details(changed_settings(&current, &after)),
    )
    .await?;
    view(ctx, &row).await
}

fn current_size(kb: &KnowledgeBase) -> i32 {
    i32::try_from(kb.chunking.chunk_size).unwrap_or(i32::MAX)
}

fn current_overlap(kb: &KnowledgeBase) -> i32 {
    i32::try_from(kb.chunking.chunk_overlap).unwrap_or(i32::MAX)
}

/// The settings that changed, before and after (for the audit trail).
fn changed_settings(before: &KnowledgeBase, after: &KnowledgeBase) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let (b, a) = (
        serde_json::to_value(before).unwrap_or_default(),
        serde_json::to_value(after).unwrap_or_default(),
    );
    for key in [
        "slug",
        "name",
        "description",
        "visibility",
        "group_ids",
        "chunking",
        "embedding",
    ] {
        if b.get(key) != a.get(key) {
            out.insert(
                key.to_owned(),
                serde_json::json!({"before": b.get(key), "after": a.get(key)}),
            );
        }
    }
    serde_json::Value::Object(out)
}

/// Hides the knowledge base at once (its slug is free again), takes it off the organisation's
/// agents, and queues the job that removes its documents, files and vectors.
pub async fn delete(ctx: &AppContext, actor: &Actor, id: KbId) -> Result<()> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    if !store::knowledge_bases::mark_deleted(&txn, p.org_id, id, now).await? {
        return Err(Error::NotFound);
    }
    store::agents::remove_knowledge_base(&txn, p.org_id, id, now).await?;
    jobs::enqueue_delete(&txn, p.org_id, id).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("knowledge_base.deleted").target("knowledge_base", id),
    )
    .await?;
    txn.commit().await?;
    super::jobs::wake(ctx);
    ctx.agent_cache().clear();
    Ok(())
}

/// The categories of a knowledge base the caller sees.
pub async fn categories(ctx: &AppContext, actor: &Actor, id: KbId) -> Result<Vec<Category>> {
    let p = actor.principal()?;
    find_visible(ctx, p, id).await?;
    Ok(Categories::of(ctx, Some(p.org_id), &[id]).await?.take(id))
}

fn position(value: u32) -> Result<i32> {
    in_range("position", value, validate::POSITION)
}

async fn category_view(ctx: &AppContext, row: &knowledge_categories::Model) -> Result<Category> {
    let kb = KbId(row.kb_id);
    let counts = store::documents::category_counts(ctx.db(), OrgId(row.org_id), &[kb]).await?;
    Ok(category_dto(row, &counts))
}

pub async fn create_category(
    ctx: &AppContext,
    actor: &Actor,
    id: KbId,
    input: NewCategory,
) -> Result<Category> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    let name = validate::name("name", &input.name, validate::NAME_MAX)?;
    let slug = match input.slug.as_deref() {
        Some(s) => validate::slug("slug", s)?,
        None => validate::slugify_or(&name, "category"),
    };
    let description = validate::text("description", &input.description, validate::COMMENT_MAX)?
        .trim()
        .to_owned();
    let explicit_position = input.position.map(position).transpose()?;
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    let (existing, next) =
        store::knowledge_categories::count_and_next_position(&txn, p.org_id, id).await?;
    if existing >= validate::CATEGORIES_MAX {
        return Err(Error::state(
            "name",
            format!(
                "A knowledge base holds at most {} categories.",
                validate::CATEGORIES_MAX
            ),
        ));
    }
    let row = store::knowledge_categories::create(
        &txn,
        store::knowledge_categories::NewCategory {
            org: p.org_id,
            kb: id,
            slug,
            name,
            description,
            position: explicit_position.unwrap_or(next),
            now,
        },
    )
    .await
    .map_err(Error::on_unique("slug"))?;
    store::knowledge_bases::touch(&txn, p.org_id, id, now).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("knowledge_category.created")
            .target("knowledge_category", row.id)
            .details(serde_json::json!({"knowledge_base_id": id})),
    )
    .await?;
    txn.commit().await?;
    category_view(ctx, &row).await
}

pub async fn update_category(
    ctx: &AppContext,
    actor: &Actor,
    id: KbId,
    category: CategoryId,
    input: UpdateCategory,
) -> Result<Category> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    let row = store::knowledge_categories::find(ctx.db(), p.org_id, id, category)
        .await?
        .ok_or(Error::NotFound)?;
    let changes = store::knowledge_categories::CategoryChanges {
        name: input
            .name
            .as_deref()
            .map(|n| validate::name("name", n, validate::NAME_MAX))
            .transpose()?,
        slug: input
            .slug
            .as_deref()
            .map(|s| validate::slug("slug", s))
            .transpose()?,
        description: input
            .description
            .as_deref()
            .map(|d| {
                validate::text("description", d, validate::COMMENT_MAX).map(|d| d.trim().to_owned())
            })
            .transpose()?,
        position: input.position.map(position).transpose()?,
    };
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    let row = store::knowledge_categories::update(&txn, p.org_id, row, changes, now)
        .await
        .map_err(Error::on_unique("slug"))?;
    store::knowledge_bases::touch(&txn, p.org_id, id, now).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("knowledge_category.updated")
            .target("knowledge_category", row.id)
            .details(serde_json::json!({"knowledge_base_id": id})),
    )
    .await?;
    txn.commit().await?;
    category_view(ctx, &row).await
}

/// Removes a category; its documents stay in the knowledge base, uncategorised.
pub async fn delete_category(
    ctx: &AppContext,
    actor: &Actor,
    id: KbId,
    category: CategoryId,
) -> Result<()> {
    let p = actor.principal()?;
    find_editable(ctx, p, id).await?;
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    if store::knowledge_categories::delete(&txn, p.org_id, id, category).await? == 0 {
        return Err(Error::NotFound);
    }
    store::knowledge_bases::touch(&txn, p.org_id, id, now).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("knowledge_category.deleted")
            .target("knowledge_category", category)
            .details(serde_json::json!({"knowledge_base_id": id})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Public knowledge bases of every organisation, most recently changed first.
pub async fn marketplace(ctx: &AppContext) -> Result<Vec<MarketplaceKnowledgeBase>> {
    let rows = store::knowledge_bases::public_global(ctx.db(), MARKETPLACE_MAX).await?;
    let all = views(ctx, None, &rows).await?;
    let orgs = store::orgs::names_global(ctx.db(), rows.iter().map(|r| r.org_id)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (row, kb) in rows.iter().zip(all) {
        let organization = orgs.get(&row.org_id).cloned().unwrap_or_default();
        out.push(MarketplaceKnowledgeBase {
            id: kb.id,
            slug: kb.slug,
            name: kb.name,
            description: kb.description,
            categories: kb.categories.into_iter().map(|c| c.name).collect(),
            document_count: kb.document_count,
            organization,
            updated_at: kb.updated_at,
        });
    }
    Ok(out)
}

fn domain(kb: KnowledgeBase) -> Domain {
    Domain {
        id: kb.id,
        slug: kb.slug,
        name: kb.name,
        description: kb.description,
        document_count: kb.document_count,
        created_at: kb.created_at,
        updated_at: kb.updated_at,
    }
}

/// Egret's domains the caller sees: with a valid credential, the knowledge bases of their
/// organisation they see, then the public ones of other organisations whose slug is not one of
/// those; without one (or with one that failed: the views are public), the public ones. By name.
pub async fn domains(ctx: &AppContext, actor: &Actor) -> Result<Vec<Domain>> {
    let own_org = actor.principal().ok().map(|p| p.org_id);
    let mut out: Vec<KnowledgeBase> = match own_org {
        Some(_) => list(ctx, actor).await?,
        None => Vec::new(),
    };
    let public = store::knowledge_bases::public_global(ctx.db(), MARKETPLACE_MAX).await?;
    let others: Vec<_> = public
        .into_iter()
        .filter(|k| Some(OrgId(k.org_id)) != own_org && !out.iter().any(|o| o.slug == k.slug))
        .collect();
    out.extend(views(ctx, None, &others).await?);
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.slug.cmp(&b.slug)));
    Ok(out.into_iter().map(domain).collect())
}

/// The domain `slug` names for the caller: one of their organisation they see first, then a
/// public one of any organisation (404 otherwise).
async fn domain_by_slug(ctx: &AppContext, actor: &Actor, slug: &str) -> Result<KnowledgeBase> {
    let slug = slug.to_ascii_lowercase();
    if let Ok(p) = actor.principal()
        && let Some(row) = store::knowledge_bases::find_by_slug(ctx.db(), p.org_id, &slug).await?
        && sees(&Viewer::of(ctx, p).await?, &row)
    {
        return view(ctx, &row).await;
    }
    let row = store::knowledge_bases::find_public_by_slug_global(ctx.db(), &slug)
        .await?
        .ok_or(Error::NotFound)?;
    let mut all = views(ctx, None, std::slice::from_ref(&row)).await?;
    all.pop().ok_or(Error::NotFound)
}

/// `GET /v1/domains/{slug}/`: the domain with its categories.
pub async fn domain_detail(ctx: &AppContext, actor: &Actor, slug: &str) -> Result<DomainDetail> {
    let kb = domain_by_slug(ctx, actor, slug).await?;
    Ok(DomainDetail {
        id: kb.id,
        slug: kb.slug,
        name: kb.name,
        description: kb.description,
        document_count: kb.document_count,
        categories: kb.categories,
        created_at: kb.created_at,
        updated_at: kb.updated_at,
    })
}

/// `GET /v1/domains/{slug}/categories/`.
pub async fn domain_categories(
    ctx: &AppContext,
    actor: &Actor,
    slug: &str,
) -> Result<Vec<Category>> {
    Ok(domain_by_slug(ctx, actor, slug).await?.categories)
}

/// The knowledge bases among `ids` that `owner` (a member of `org`) sees, in the order given,
/// without repeats: what an agent of theirs may use.
pub async fn visible_to(
    ctx: &AppContext,
    org: OrgId,
    owner: UserId,
    ids: &[KbId],
) -> Result<Vec<KbId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let Some(viewer) = Viewer::member(ctx, org, owner).await? else {
        return Ok(Vec::new());
    };
    let live: HashMap<KbId, knowledge_bases::Model> = store::knowledge_bases::list(ctx.db(), org)
        .await?
        .into_iter()
        .map(|k| (KbId(k.id), k))
        .collect();
    let mut out: Vec<KbId> = Vec::new();
    for id in ids {
        if !out.contains(id) && live.get(id).is_some_and(|k| sees(&viewer, k)) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// Checks an agent's `knowledge_base_ids` against what its owner sees: the ids without repeats,
/// or 400 naming the first that is not (the same sentence whether it exists elsewhere, was
/// deleted, is hidden from the owner or never existed).
pub async fn check_for_agent(
    ctx: &AppContext,
    org: OrgId,
    owner: UserId,
    ids: &[KbId],
) -> Result<Vec<KbId>> {
    if ids.len() > validate::AGENT_KNOWLEDGE_BASES_MAX {
        return Err(Error::invalid(
            "knowledge_base_ids",
            format!(
                "knowledge_base_ids may hold at most {} knowledge bases.",
                validate::AGENT_KNOWLEDGE_BASES_MAX
            ),
        ));
    }
    let visible = visible_to(ctx, org, owner, ids).await?;
    if let Some(bad) = ids.iter().find(|id| !visible.contains(id)) {
        return Err(Error::invalid(
            "knowledge_base_ids",
            format!("knowledge_base_ids: {bad} is not a knowledge base the agent's owner can see."),
        ));
    }
    Ok(visible)
}
