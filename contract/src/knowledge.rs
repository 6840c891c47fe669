//! Knowledge bases (Egret calls them "domains"): a slug, a name, settings for chunking and
//! embedding, a visibility, categories, and documents that are cut into chunks and embedded.
//! One table serves the workspace's `/api/knowledge…` (seed 004), Egret's `/v1/domains/…`
//! (seed 000) and the marketplace (`/api/marketplace/knowledge`). The seeds fix the paths,
//! methods and statuses, not the bodies: the field names below are Aerie's, chosen in
//! `docs/plans/knowledge.md`. No route serves them yet (issue 13 item 2 is in progress).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agents::Visibility;
use super::ids::{CategoryId, DocumentId, GroupId, KbId, ProviderId, UserId};
use super::kinds::DocumentStatus;

/// The built-in embedding model (candle, in-process): sentence-transformers all-MiniLM-L6-v2.
pub const LOCAL_EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";

/// The length of the built-in model's vectors.
pub const LOCAL_EMBEDDING_DIMENSIONS: u32 = 384;

/// How documents are cut before embedding, in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Chunking {
    /// The longest chunk, in characters.
    pub chunk_size: u32,
    /// Characters a chunk repeats from the end of the one before it.
    pub chunk_overlap: u32,
}

impl Default for Chunking {
    /// 800 characters with 100 of overlap: about 200 tokens, inside the built-in model's
    /// 256-token window.
    fn default() -> Self {
        Self {
            chunk_size: 800,
            chunk_overlap: 100,
        }
    }
}

/// Chunking in a request: absent fields take the default (on creation) or stay (on update).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ChunkingInput {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::option_u32"
    )]
    pub chunk_size: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::option_u32"
    )]
    pub chunk_overlap: Option<u32>,
}

/// Which model turns chunks (and queries) into vectors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Embedding {
    /// An OpenAI-compatible provider of the organisation (its `/v1/embeddings`); `null`: the
    /// built-in model.
    pub provider_id: Option<ProviderId>,
    /// The model id: `all-MiniLM-L6-v2` for the built-in model, else the provider's.
    pub model: String,
    /// The vectors' length, once known (the built-in model's is 384; a provider's is learnt
    /// from its first answer).
    pub dimensions: Option<u32>,
}

impl Default for Embedding {
    /// The built-in model.
    fn default() -> Self {
        Self {
            provider_id: None,
            model: LOCAL_EMBEDDING_MODEL.to_owned(),
            dimensions: Some(LOCAL_EMBEDDING_DIMENSIONS),
        }
    }
}

/// The embedding model in a request. On creation absent fields mean the built-in model; on
/// update they stay, and `"provider_id": null` switches to the built-in model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct EmbeddingInput {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::present"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<ProviderId>))]
    pub provider_id: Option<Option<ProviderId>>,
    /// Required with a provider; with the built-in model, absent or `all-MiniLM-L6-v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A category of a knowledge base: a named subset of its documents that a search or a query
/// may be narrowed to. Egret embeds them in `GET /v1/domains/{slug}/` and lists them at
/// `GET /v1/domains/{slug}/categories/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: CategoryId,
    pub kb_id: KbId,
    /// Unique in its knowledge base.
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Order of display, ascending (then by name).
    pub position: u32,
    /// Documents filed under it (not counting those being deleted).
    pub document_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/knowledge/{id}/categories`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewCategory {
    pub name: String,
    /// Absent: made from the name (`Human Resources` → `human-resources`).
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Absent: after the last one.
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub position: Option<u32>,
}

/// `PATCH /api/knowledge/{id}/categories/{categoryId}`: absent fields stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateCategory {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub position: Option<u32>,
}

/// A knowledge base as answered by `/api/knowledge…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct KnowledgeBase {
    pub id: KbId,
    /// Unique in the organisation; the Egret domain's slug (`/v1/domains/{slug}/`, an
    /// organisation's `allowed_domains`).
    pub slug: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    /// The groups that see it when `visibility` is `groups`.
    pub group_ids: Vec<GroupId>,
    pub chunking: Chunking,
    pub embedding: Embedding,
    /// Its categories, in display order.
    pub categories: Vec<Category>,
    /// Documents it holds, whatever their status (not counting those being deleted).
    pub document_count: u64,
    /// Chunks of its `ready` documents.
    pub chunk_count: u64,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/knowledge`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct NewKnowledgeBase {
    pub name: String,
    /// Absent: made from the name, with `-2`, `-3`… if the organisation already uses it.
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    #[serde(default, deserialize_with = "crate::object::required")]
    pub chunking: ChunkingInput,
    #[serde(default, deserialize_with = "crate::object::required")]
    pub embedding: EmbeddingInput,
}

/// `PATCH /api/knowledge/{id}`: absent fields stay. A change of `chunking` or `embedding` on a
/// knowledge base that holds documents queues their reindexing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UpdateKnowledgeBase {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub group_ids: Option<Vec<GroupId>>,
    #[serde(default, deserialize_with = "crate::object::optional")]
    pub chunking: Option<ChunkingInput>,
    #[serde(default, deserialize_with = "crate::object::optional")]
    pub embedding: Option<EmbeddingInput>,
}

/// A public knowledge base in the marketplace (`GET /api/marketplace/knowledge`): what anyone
/// may read, never its documents or settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MarketplaceKnowledgeBase {
    pub id: KbId,
    /// Unique among public knowledge bases: `GET /v1/domains/{slug}/` finds it.
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Names of its categories, in display order.
    pub categories: Vec<String>,
    pub document_count: u64,
    /// The publishing organisation's name.
    pub organization: String,
    pub updated_at: DateTime<Utc>,
}

/// An Egret domain (`GET /v1/domains/`): a knowledge base the caller may see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Domain {
    pub id: KbId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub document_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An Egret domain with its categories embedded (`GET /v1/domains/{slug}/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DomainDetail {
    pub id: KbId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub document_count: u64,
    pub categories: Vec<Category>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A document of a knowledge base (`GET /api/knowledge/{id}/documents`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: DocumentId,
    pub kb_id: KbId,
    pub category_id: Option<CategoryId>,
    /// The name it was uploaded under.
    pub filename: String,
    /// Its media type, e.g. `application/pdf` or `text/markdown`.
    pub media_type: String,
    pub size_bytes: u64,
    /// SHA-256 of its bytes, lower-case hex.
    pub content_hash: String,
    pub status: DocumentStatus,
    /// 0–100 while `processing`; 100 once `ready`.
    pub progress: u8,
    /// Why ingestion failed (`failed` only).
    pub error: Option<String>,
    pub chunk_count: u32,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One file of `POST /api/knowledge/{id}/documents`, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UploadedDocument {
    pub document: Document,
    /// The knowledge base already held these bytes (same SHA-256): nothing new was stored or
    /// queued, and `document` is the one that holds them.
    pub duplicate: bool,
}

/// How a search ranks passages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Vector and full-text (BM25) rankings fused by reciprocal rank.
    #[default]
    Hybrid,
    /// Nearest vectors only (score: cosine similarity).
    Vector,
    /// BM25 only (score: BM25).
    FullText,
}

/// `POST /api/knowledge/{id}/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SearchRequest {
    /// What to look for (required, at most 4,000 characters).
    #[serde(default)]
    pub query: String,
    /// How many passages, 1–50 (default 5).
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub top_k: Option<u32>,
    /// Only passages of documents filed under this category.
    #[serde(default)]
    pub category_id: Option<CategoryId>,
    /// Only passages of these documents.
    #[serde(default)]
    pub document_ids: Option<Vec<DocumentId>>,
    #[serde(default)]
    pub mode: SearchMode,
}

/// A passage found by a search, with its source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Passage {
    pub knowledge_base_id: KbId,
    pub document_id: DocumentId,
    /// The document's name.
    pub filename: String,
    pub category_id: Option<CategoryId>,
    /// Its position in the document (0-based).
    pub chunk_index: u32,
    pub text: String,
    /// Higher is better; its scale depends on the mode (hybrid: the fused reciprocal-rank
    /// value).
    pub score: f32,
}

/// The answer of `POST /api/knowledge/{id}/search`: best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub results: Vec<Passage>,
}

/// `POST /api/knowledge/{id}/reindex` accepted: the job that re-embeds every document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ReindexStarted {
    pub job_id: super::ids::JobId,
    /// The index generation being built; searches use the current one until it is complete.
    pub generation: u32,
}

/// One document of `POST /v1/rag/index`: its text, stored as a file of the knowledge base.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RagDocument {
    /// The content (plain text, Markdown, HTML, CSV or JSON: the type is read from it).
    #[serde(default)]
    pub text: String,
    /// The name citations show; absent: `document-<n>.txt`.
    #[serde(default)]
    pub filename: Option<String>,
    /// Anything to keep beside it (a source URL, an author); shown with its passages.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST /v1/rag/index` (seed 003): "Index documents into the vector store."
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RagIndexRequest {
    /// The knowledge base: its id or its slug (required).
    #[serde(default)]
    pub knowledge_base: String,
    /// File them under this category (id or slug).
    #[serde(default)]
    pub category: Option<String>,
    /// 1–100 documents.
    #[serde(default)]
    pub documents: Vec<RagDocument>,
}

/// The answer of `POST /v1/rag/index`: the documents, queued for ingestion (or already held).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RagIndexed {
    pub knowledge_base_id: KbId,
    pub documents: Vec<UploadedDocument>,
}

/// `POST /v1/rag/query` (seed 003): "Query the vector store (returns governed context)."
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RagQueryRequest {
    /// What to look for (required).
    #[serde(default)]
    pub query: String,
    /// One knowledge base (id or slug); absent: every knowledge base you can see.
    #[serde(default)]
    pub knowledge_base: Option<String>,
    /// How many passages, 1–50 (default 5).
    #[serde(default, deserialize_with = "crate::whole::option_u32")]
    pub top_k: Option<u32>,
}

/// The answer of `POST /v1/rag/query`: the passages, best first, and the context a model
/// prompt would carry (numbered passages with their sources).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RagContext {
    pub query: String,
    pub context: String,
    pub passages: Vec<Passage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_knowledge_base_needs_only_a_name() {
        let kb: NewKnowledgeBase = serde_json::from_str(r#"{"name":"Handbook"}"#).unwrap();
        assert_eq!(kb.name, "Handbook");
        assert_eq!(kb.slug, None);
        assert_eq!(kb.visibility, Visibility::Private);
        assert_eq!(kb.chunking, ChunkingInput::default());
        assert_eq!(kb.embedding, EmbeddingInput::default());
    }

    #[test]
    fn embedding_provider_absent_null_and_set_differ() {
        let absent: EmbeddingInput = serde_json::from_str(r#"{"model":"m"}"#).unwrap();
        assert_eq!(absent.provider_id, None);
        let null: EmbeddingInput = serde_json::from_str(r#"{"provider_id":null}"#).unwrap();
        assert_eq!(null.provider_id, Some(None));
        let id = "0190f0e0-0000-7000-8000-000000000001";
        let set: EmbeddingInput =
            serde_json::from_str(&format!(r#"{{"provider_id":"{id}","model":"m"}}"#)).unwrap();
        assert_eq!(
            set.provider_id,
            Some(Some(ProviderId(uuid::Uuid::parse_str(id).unwrap())))
        );
    }

    #[test]
    fn nested_settings_must_be_objects() {
        for bad in [
            r#"{"name":"x","embedding":[null,null]}"#,
            r#"{"name":"x","chunking":[800,100]}"#,
            r#"{"name":"x","chunking":null}"#,
        ] {
            assert!(
                serde_json::from_str::<NewKnowledgeBase>(bad).is_err(),
                "{bad}"
            );
        }
        for bad in [r#"{"embedding":[null,null]}"#, r#"{"chunking":[1,2]}"#] {
            assert!(
                serde_json::from_str::<UpdateKnowledgeBase>(bad).is_err(),
                "{bad}"
            );
        }
        let kept: UpdateKnowledgeBase =
            serde_json::from_str(r#"{"chunking":null,"embedding":{"model":"m"}}"#).unwrap();
        assert_eq!(kept.chunking, None);
        assert_eq!(kept.embedding.and_then(|e| e.model).as_deref(), Some("m"));
    }

    #[test]
    fn whole_floats_are_counts() {
        let c: ChunkingInput =
            serde_json::from_str(r#"{"chunk_size":1000.0,"chunk_overlap":50}"#).unwrap();
        assert_eq!(c.chunk_size, Some(1000));
        assert_eq!(c.chunk_overlap, Some(50));
        assert!(serde_json::from_str::<ChunkingInput>(r#"{"chunk_size":10.5}"#).is_err());
    }

    #[test]
    fn defaults_are_the_built_in_model() {
        let e = Embedding::default();
        assert_eq!(e.provider_id, None);
        assert_eq!(e.model, LOCAL_EMBEDDING_MODEL);
        assert_eq!(e.dimensions, Some(384));
        let c = Chunking::default();
        assert!(c.chunk_overlap < c.chunk_size / 2);
    }
}
