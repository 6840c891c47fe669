//! Knowledge bases' chunks in LanceDB: their text, vector and position, with a full-text (BM25)
//! index beside the vectors, and hybrid retrieval fusing both rankings.
//!
//! One table per knowledge base and index generation (`kb_<id>_<generation>`, named by the
//! caller). Every row carries its organisation, and every search filters on it: a table is
//! never read without the organisation that owns it (docs/SECURITY.md, "Tenant isolation").
//! Writes to one table are serialised here (LanceDB allows concurrent readers but its commits
//! conflict under concurrent writers); readers never wait.
//!
//! This crate changes rarely and holds LanceDB (arrow, datafusion, lance), so that a change
//! elsewhere in the workspace never recompiles it (docs/ARCHITECTURE.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use lancedb::DistanceType;
use lancedb::index::Index;
use lancedb::index::scalar::{BitmapIndexBuilder, FtsIndexBuilder, FullTextSearchQuery};
use lancedb::index::vector::IvfHnswSqIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase};
use lancedb::table::{OptimizeAction, OptimizeOptions};
use uuid::Uuid;

/// Rank constant of reciprocal rank fusion (the value of Cormack et al., and LanceDB's).
pub const RRF_K: f32 = 60.0;

/// What went wrong in the vector store.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("vector store: {0}")]
    Lance(#[from] lancedb::Error),
    #[error("vector store data: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("vector store: {0}")]
    Invalid(String),
}

pub type Result<T, E = VectorError> = std::result::Result<T, E>;

/// One chunk of a document, embedded.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub org: Uuid,
    pub document: Uuid,
    pub category: Option<Uuid>,
    /// Its position in the document (0-based).
    pub index: u32,
    pub text: String,
    pub vector: Vec<f32>,
}

/// A chunk found by a search, with its score (higher is better; see [`Mode`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub document: Uuid,
    pub category: Option<Uuid>,
    pub index: u32,
    pub text: String,
    pub score: f32,
}

/// How a search ranks chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Nearest vectors; score = cosine similarity.
    Vector,
    /// BM25 over the chunk text (English stemming and stop words); score = BM25.
    FullText,
    /// Both, fused by reciprocal rank; score = the fused value.
    Hybrid,
}

/// A search in one organisation's table.
#[derive(Clone, Debug)]
pub struct Search<'a> {
    pub org: Uuid,
    /// The query's vector (for `Vector` and `Hybrid`).
    pub vector: &'a [f32],
    /// The query's text (for `FullText` and `Hybrid`).
    pub text: &'a str,
    pub limit: usize,
    /// Only chunks of this category.
    pub category: Option<Uuid>,
    /// Only chunks of these documents.
    pub documents: Option<&'a [Uuid]>,
}

/// The vector store of an instance: a LanceDB database at a URI (a folder by default).
pub struct Store {
    db: lancedb::Connection,
    writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    index: IndexSettings,
}

/// The approximate vector index of a table's `vector` column.
const VECTOR_INDEX: &str = "vector_idx";
/// The bitmap index of `org_id`, built with the vector index: the organisation filter every
/// search applies before ranking (a prefilter) is then read from the index, not from the rows.
const ORG_INDEX: &str = "org_id_idx";

/// When a table gets an approximate vector index, how it is kept up to date, and how searches
/// use it.
///
/// Below [`threshold`](Self::threshold) rows a table has no vector index: every vector search
/// compares the query with every row of the organisation (exact, and a few milliseconds at
/// that size), and [`Store::add`] costs nothing more than the rows and the BM25 index. From it,
/// `add` builds an IVF_HNSW_SQ index (cosine; an HNSW graph over 8-bit scalar-quantised
/// vectors, one IVF partition until about a million rows) and a bitmap index of `org_id`. Rows
/// added later are searched exactly beside the index until [`fold_at`](Self::fold_at) of them
/// have accumulated; then they are folded into it as a new segment (LanceDB's index
/// optimisation: no retraining, a graph over the new rows only), and once the index has more
/// than [`max_segments`](Self::max_segments) segments they are merged into one (LanceDB also
/// splits IVF partitions that outgrow their target size while doing so).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSettings {
    /// Rows from which a table gets its vector index.
    pub threshold: usize,
    /// Rows not yet in the index that an `add` folds into it.
    pub fold_at: usize,
    /// Segments the index may have before an `add` merges them.
    pub max_segments: u32,
    /// Candidates the HNSW search keeps (its `ef`); at least the rows it must return.
    pub ef: usize,
    /// The index proposes `refine_factor` × the rows asked for, re-ranked by their exact
    /// (unquantised) cosine distance; the scores returned are exact.
    pub refine_factor: u32,
    /// Neighbours per vector in the HNSW graph (`m`).
    pub edges: u32,
    /// Candidates kept while building the graph.
    pub ef_construction: u32,
}

impl Default for IndexSettings {
    fn default() -> Self {
        Self {
            threshold: 10_000,
            fold_at: 2_000,
            max_segments: 4,
            ef: 120,
            refine_factor: 2,
            edges: 20,
            ef_construction: 150,
        }
    }
}

/// The state of a table's vector index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexState {
    /// Rows the index covers.
    pub indexed: usize,
    /// Rows added since, searched exactly beside it.
    pub unindexed: usize,
    /// Segments (deltas) the index is made of.
    pub segments: u32,
}

fn schema(dimensions: i32) -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("org_id", DataType::Utf8, false),
        Field::new("document_id", DataType::Utf8, false),
        Field::new("category_id", DataType::Utf8, true),
        Field::new("chunk_index", DataType::UInt32, false),
        Field::new("text", DataType::Utf8, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dimensions,
            ),
            false,
        ),
    ]))
}

/// A SQL string literal of an id we formatted ourselves (hyphenated hex: nothing to escape).
fn literal(id: Uuid) -> String {
    format!("'{}'", id.hyphenated())
}

fn filter(search: &Search<'_>) -> String {
    let mut parts = vec![format!("org_id = {}", literal(search.org))];
    if let Some(c) = search.category {
        parts.push(format!("category_id = {}", literal(c)));
    }
    if let Some(docs) = search.documents {
        let list: Vec<String> = docs.iter().map(|d| literal(*d)).collect();
        parts.push(if list.is_empty() {
            "false".to_owned()
        } else {
            format!("document_id IN ({})", list.join(", "))
        });
    }
    parts.join(" AND ")
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| VectorError::Invalid(format!("column {name} missing or mistyped")))
}

fn uuid_of(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| VectorError::Invalid(format!("stored id {s:?}: {e}")))
}

/// The hits of result batches, scored by `score` (its column and how a value becomes a score).
fn hits(batches: &[RecordBatch], score: (&str, fn(f32) -> f32)) -> Result<Vec<Hit>> {
    let mut out = Vec::new();
    for batch in batches {
        let documents = column::<StringArray>(batch, "document_id")?;
        let categories = column::<StringArray>(batch, "category_id")?;
        let indexes = column::<UInt32Array>(batch, "chunk_index")?;
        let texts = column::<StringArray>(batch, "text")?;
        let scores = column::<Float32Array>(batch, score.0)?;
        for row in 0..batch.num_rows() {
            out.push(Hit {
                document: uuid_of(documents.value(row))?,
                category: if categories.is_null(row) {
                    None
                } else {
                    Some(uuid_of(categories.value(row))?)
                },
                index: indexes.value(row),
                text: texts.value(row).to_owned(),
                score: score.1(scores.value(row)),
            });
        }
    }
    Ok(out)
}

/// Reciprocal rank fusion of rankings (each best first): a chunk's score is the sum of
/// `1 / (RRF_K + rank)` over the rankings that hold it (rank from 1). Best first; ties by
/// document and position, so the order is stable.
pub fn fuse(rankings: &[Vec<Hit>], limit: usize) -> Vec<Hit> {
    let mut fused: HashMap<(Uuid, u32), Hit> = HashMap::new();
    for ranking in rankings {
        for (rank, hit) in ranking.iter().enumerate() {
            let add = 1.0 / (RRF_K + rank as f32 + 1.0);
            fused
                .entry((hit.document, hit.index))
                .and_modify(|h| h.score += add)
                .or_insert_with(|| Hit {
                    score: add,
                    ..hit.clone()
                });
        }
    }
    let mut out: Vec<Hit> = fused.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.document.cmp(&b.document))
            .then(a.index.cmp(&b.index))
    });
    out.truncate(limit);
    out
}

impl Store {
    /// Opens (or creates) the store at `uri`: a folder path, or an object-store URI.
    pub async fn open(uri: &str) -> Result<Self> {
        Ok(Self {
            db: lancedb::connect(uri).execute().await?,
            writers: Mutex::new(HashMap::new()),
            index: IndexSettings::default(),
        })
    }

    /// This store with other vector index settings (the defaults suit the product; tests and
    /// benchmarks change them).
    pub fn with_index_settings(mut self, settings: IndexSettings) -> Self {
        self.index = settings;
        self
    }

    /// This store with tables indexed from `rows` rows (see [`IndexSettings::threshold`]).
    pub fn with_index_threshold(mut self, rows: usize) -> Self {
        self.index.threshold = rows;
        self
    }

    /// The vector index settings of this store.
    pub fn index_settings(&self) -> &IndexSettings {
        &self.index
    }

    fn writer(&self, table: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.writers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(table.to_owned())
            .or_default()
            .clone()
    }

    /// The names of the tables in the store.
    pub async fn tables(&self) -> Result<Vec<String>> {
        Ok(self.db.table_names().execute().await?)
    }

    async fn open_table(&self, table: &str) -> Result<Option<lancedb::Table>> {
        if !self.tables().await?.iter().any(|t| t == table) {
            return Ok(None);
        }
        // Listed but not openable: a table whose first write is still being committed (a
        // search racing a knowledge base's first ingestion), or one just dropped. Not there yet.
        match self.db.open_table(table).execute().await {
            Ok(t) => Ok(Some(t)),
            Err(lancedb::Error::TableNotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Adds chunks to `table` (created on first use with the first chunk's vector length; every
    /// chunk must have that length), then brings its full-text index up to date.
    pub async fn add(&self, table: &str, chunks: Vec<Chunk>) -> Result<()> {
        let Some(first) = chunks.first() else {
            return Ok(());
        };
        let dims = first.vector.len();
        if dims == 0 || chunks.iter().any(|c| c.vector.len() != dims) {
            return Err(VectorError::Invalid(
                "chunks' vectors are empty or of different lengths".to_owned(),
            ));
        }
        let batch = record_batch(&chunks, dims)?;
        let lock = self.writer(table);
        let _writing = lock.lock().await;
        let t = match self.open_table(table).await? {
            Some(t) => {
                t.add(batch).execute().await?;
                t
            }
            None => self.db.create_table(table, batch).execute().await?,
        };
        // Rebuilt over the whole table: BM25's statistics (document frequencies, lengths) stay
        // those of all its chunks.
        t.create_index(&["text"], Index::FTS(full_text_params()?))
            .replace(true)
            .execute()
            .await?;
        self.maintain_vector_index(&t, false).await
    }

    /// Brings the vector index of `table` up to date now: builds it if the table has reached
    /// the threshold and has none, folds every row it does not cover into it, and merges its
    /// segments if there are too many. [`Store::add`] does this by itself when enough rows have
    /// accumulated; this is for a caller that wants no rows outside the index (after a bulk
    /// load, say). A missing table, or one below the threshold, is left as it is.
    pub async fn optimize(&self, table: &str) -> Result<()> {
        let lock = self.writer(table);
        let _writing = lock.lock().await;
        match self.open_table(table).await? {
            Some(t) => self.maintain_vector_index(&t, true).await,
            None => Ok(()),
        }
    }

    /// The state of the vector index of `table` (`None`: no such table, or no index yet).
    pub async fn index_state(&self, table: &str) -> Result<Option<IndexState>> {
        let Some(t) = self.open_table(table).await? else {
            return Ok(None);
        };
        Ok(t.index_stats(VECTOR_INDEX).await?.map(|s| IndexState {
            indexed: s.num_indexed_rows,
            unindexed: s.num_unindexed_rows,
            segments: s.num_indices.unwrap_or(1),
        }))
    }

    /// The writer's lock of the table is held.
    async fn maintain_vector_index(&self, t: &lancedb::Table, all: bool) -> Result<()> {
        let settings = &self.index;
        let Some(stats) = t.index_stats(VECTOR_INDEX).await? else {
            if t.count_rows(None).await? >= settings.threshold.max(1) {
                self.build_vector_index(t).await?;
            }
            return Ok(());
        };
        let segments = stats.num_indices.unwrap_or(1);
        let fold = stats.num_unindexed_rows >= settings.fold_at.max(1)
            || (all && stats.num_unindexed_rows > 0);
        if !(fold || (all && segments > 1)) {
            return Ok(());
        }
        let mut options = if all || segments >= settings.max_segments {
            // The new rows and every segment, into one.
            OptimizeOptions::merge(segments as usize)
        } else {
            // A new segment of the new rows (or a merge, if LanceDB rebalances partitions).
            OptimizeOptions::default()
        };
        // Not the BM25 index: `add` rebuilds it whole.
        options.index_names = Some(vec![VECTOR_INDEX.to_owned(), ORG_INDEX.to_owned()]);
        t.optimize(OptimizeAction::Index(options)).await?;
        Ok(())
    }

    async fn build_vector_index(&self, t: &lancedb::Table) -> Result<()> {
        let settings = &self.index;
        t.create_index(&["org_id"], Index::Bitmap(BitmapIndexBuilder::default()))
            .name(ORG_INDEX.to_owned())
            .replace(true)
            .execute()
            .await?;
        t.create_index(
            &["vector"],
            Index::IvfHnswSq(
                IvfHnswSqIndexBuilder::default()
                    .distance_type(DistanceType::Cosine)
                    .num_edges(settings.edges)
                    .ef_construction(settings.ef_construction),
            ),
        )
        .name(VECTOR_INDEX.to_owned())
        .replace(true)
        .execute()
        .await?;
        Ok(())
    }

    /// Removes the chunks of `document` (of `org`) from `table`; a missing table holds none.
    pub async fn delete_document(&self, table: &str, org: Uuid, document: Uuid) -> Result<()> {
        let lock = self.writer(table);
        let _writing = lock.lock().await;
        if let Some(t) = self.open_table(table).await? {
            t.delete(&format!(
                "org_id = {} AND document_id = {}",
                literal(org),
                literal(document)
            ))
            .await?;
        }
        Ok(())
    }

    /// Drops `table` (all its chunks); a missing table is already gone.
    pub async fn drop_table(&self, table: &str) -> Result<()> {
        let lock = self.writer(table);
        let _writing = lock.lock().await;
        if self.tables().await?.iter().any(|t| t == table) {
            self.db.drop_table(table, &[]).await?;
        }
        Ok(())
    }

    /// How many chunks of `org` `table` holds.
    pub async fn count(&self, table: &str, org: Uuid) -> Result<usize> {
        match self.open_table(table).await? {
            Some(t) => Ok(t
                .count_rows(Some(format!("org_id = {}", literal(org))))
                .await?),
            None => Ok(0),
        }
    }

    /// The best `search.limit` chunks of `search.org` in `table` by `mode` (none when the table
    /// does not exist).
    pub async fn search(&self, table: &str, search: &Search<'_>, mode: Mode) -> Result<Vec<Hit>> {
        let Some(t) = self.open_table(table).await? else {
            return Ok(Vec::new());
        };
        if search.limit == 0 {
            return Ok(Vec::new());
        }
        match mode {
            Mode::Vector => self.vector(&t, search, search.limit).await,
            Mode::FullText => self.full_text(&t, search, search.limit).await,
            Mode::Hybrid => {
                // Each side looks deeper than the answer so that fusion has material.
                let depth = (search.limit * 4).max(50);
                let (vector, text) = futures::try_join!(
                    self.vector(&t, search, depth),
                    self.full_text(&t, search, depth)
                )?;
                Ok(fuse(&[vector, text], search.limit))
            }
        }
    }

    async fn vector(
        &self,
        t: &lancedb::Table,
        search: &Search<'_>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        // Without an index LanceDB compares every row, and ignores `ef` and `refine_factor`.
        let refine = self.index.refine_factor.max(1);
        let batches: Vec<RecordBatch> = t
            .query()
            .nearest_to(search.vector)?
            .distance_type(DistanceType::Cosine)
            .ef(self.index.ef.max(limit * refine as usize))
            .refine_factor(refine)
            .only_if(filter(search))
            .limit(limit)
            .execute()
            .await?
            .try_collect()
            .await?;
        // Cosine distance → similarity.
        hits(&batches, ("_distance", |d| 1.0 - d))
    }

    async fn full_text(
        &self,
        t: &lancedb::Table,
        search: &Search<'_>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        if search.text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let found = async {
            t.query()
                .full_text_search(FullTextSearchQuery::new(search.text.to_owned()))
                .only_if(filter(search))
                .limit(limit)
                .execute()
                .await?
                .try_collect::<Vec<RecordBatch>>()
                .await
        }
        .await;
        match found {
            Ok(batches) => hits(&batches, ("_score", |s| s)),
            // `add` creates a table, then its BM25 index: a search in between finds no index.
            // Its chunks have no lexical side yet (the vector side still sees them); checked
            // only on failure, so a normal search pays nothing for it.
            Err(_) if !has_text_index(t).await? => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The rows of `chunks`, whose vectors all have `dims` values, in the tables' schema.
fn record_batch(chunks: &[Chunk], dims: usize) -> Result<RecordBatch> {
    let dims_i32 =
        i32::try_from(dims).map_err(|_| VectorError::Invalid("vectors too long".to_owned()))?;
    let schema = schema(dims_i32);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                chunks.iter().map(|c| c.org.hyphenated().to_string()),
            )),
            Arc::new(StringArray::from_iter_values(
                chunks.iter().map(|c| c.document.hyphenated().to_string()),
            )),
            Arc::new(StringArray::from_iter(
                chunks
                    .iter()
                    .map(|c| c.category.map(|u| u.hyphenated().to_string())),
            )),
            Arc::new(UInt32Array::from_iter_values(
                chunks.iter().map(|c| c.index),
            )),
            Arc::new(StringArray::from_iter_values(
                chunks.iter().map(|c| c.text.as_str()),
            )),
            Arc::new(
                FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
                    chunks
                        .iter()
                        .map(|c| Some(c.vector.iter().copied().map(Some).collect::<Vec<_>>())),
                    dims_i32,
                ),
            ),
        ],
    )?;
    Ok(batch)
}

/// Whether `t` has its BM25 index on `text`.
async fn has_text_index(t: &lancedb::Table) -> Result<bool> {
    Ok(t.list_indices()
        .await?
        .iter()
        .any(|i| i.columns.iter().any(|c| c == "text")))
}

/// English BM25: lower-cased, ASCII-folded, stemmed (Snowball), without stop words.
fn full_text_params() -> Result<FtsIndexBuilder> {
    Ok(FtsIndexBuilder::default()
        .language("English")
        .map_err(|e| VectorError::Invalid(format!("full-text settings: {e}")))?
        .lower_case(true)
        .ascii_folding(true)
        .stem(true)
        .remove_stop_words(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The moment inside `Store::add` between creating a table and building its BM25 index:
    /// a search then finds the chunks by vector, no lexical hits, and no error (it was a 500 of
    /// every chat turn and search that met a knowledge base's first document mid-ingestion).
    #[tokio::test]
    async fn a_table_without_its_text_index_yet_is_searched_by_vector_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().to_str().expect("utf-8"))
            .await
            .expect("open");
        let (org, document) = (Uuid::from_u128(7), Uuid::from_u128(8));
        let chunk = Chunk {
            org,
            document,
            category: None,
            index: 0,
            text: "walking in the hills".to_owned(),
            vector: vec![0.6, 0.8],
        };
        let batch = record_batch(std::slice::from_ref(&chunk), 2).expect("batch");
        store
            .db
            .create_table("kb_new", batch)
            .execute()
            .await
            .expect("create");
        let search = Search {
            org,
            vector: &[0.6, 0.8],
            text: "walking",
            limit: 5,
            category: None,
            documents: None,
        };
        let text = store
            .search("kb_new", &search, Mode::FullText)
            .await
            .expect("full text");
        assert!(text.is_empty(), "{text:?}");
        let hybrid = store
            .search("kb_new", &search, Mode::Hybrid)
            .await
            .expect("hybrid");
        assert_eq!(hybrid.len(), 1, "{hybrid:?}");
        assert_eq!(hybrid[0].document, document);

        // Once `add` has run, the same table answers lexically too.
        store.add("kb_new", vec![]).await.expect("no-op");
        store
            .add("kb_new", vec![Chunk { index: 1, ..chunk }])
            .await
            .expect("add");
        let text = store
            .search("kb_new", &search, Mode::FullText)
            .await
            .expect("full text");
        assert_eq!(text.len(), 2, "{text:?}");
    }
}
