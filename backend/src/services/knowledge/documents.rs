//! Documents of knowledge bases: upload (multipart files, or text through `/v1/rag/index`),
//! list, read, remove. An upload is all or nothing: every file is read (its type detected from
//! its content, its text extracted) before anything is stored, so an unsupported or corrupt
//! file answers 400 naming it and leaves no trace. What is stored: the bytes in the data folder,
//! a `documents` row (`queued`) and its `knowledge.ingest` job, the rows in one transaction.
//! Bytes a knowledge base already holds (same SHA-256) are recognised and not stored twice.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::ingest::{self, DOCUMENT_DELETE_KIND, INGEST_KIND};
use super::{find_editable, find_visible, jobs::files_dir};
use crate::actor::Actor;
use crate::db::entities::documents;
use crate::services::audit::{self, Event};
use crate::services::jobs::{self, NewJob};
use crate::{AppContext, Error, Result, db, store};
use aerie_contract::ErrorCode;
use aerie_contract::ids::{CategoryId, DocumentId, JobId, KbId, OrgId, UserId};
use aerie_contract::knowledge::{Document, UploadedDocument};

/// One file of an upload, as received.
pub struct Upload {
    /// The name the client gave it (any path is dropped).
    pub filename: String,
    pub bytes: Vec<u8>,
    /// What a citation shows besides the filename (`/v1/rag/index`).
    pub metadata: Option<serde_json::Value>,
}

/// Where the upload came from (`documents.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `POST /api/knowledge/{id}/documents`.
    Upload,
    /// `POST /v1/rag/index`.
    RagIndex,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Upload => "upload",
            Source::RagIndex => "rag_index",
        }
    }
}

/// Longest filename kept, in characters.
const FILENAME_MAX: usize = 255;

/// Files one request may carry.
pub const FILES_MAX: usize = 100;

pub(super) fn dto(d: &documents::Model) -> Document {
    Document {
        id: DocumentId(d.id),
        kb_id: KbId(d.kb_id),
        category_id: d.category_id.map(CategoryId),
        filename: d.filename.clone(),
        media_type: d.media_type.clone(),
        size_bytes: u64::try_from(d.size_bytes).unwrap_or_default(),
        content_hash: d.content_hash.clone(),
        status: d.status(),
        progress: u8::try_from(d.progress.clamp(0, 100)).unwrap_or_default(),
        error: d.error.clone(),
        chunk_count: u32::try_from(d.chunk_count).unwrap_or_default(),
        created_by: UserId(d.created_by),
        created_at: store::utc(d.created_at),
        updated_at: store::utc(d.updated_at),
    }
}

/// The name a document is stored under: the last path component of what the client sent,
/// without control characters, at most [`FILENAME_MAX`] characters; `document` when nothing
/// is left.
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(FILENAME_MAX)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "document".to_owned()
    } else {
        name.to_owned()
    }
}

/// The live documents of a knowledge base the caller sees, newest first.
pub async fn documents(ctx: &AppContext, actor: &Actor, kb: KbId) -> Result<Vec<Document>> {
    let p = actor.principal()?;
    find_visible(ctx, p, kb).await?;
    Ok(store::documents::list(ctx.db(), p.org_id, kb)
        .await?
        .iter()
        .map(dto)
        .collect())
}

/// One document of a knowledge base the caller sees.
pub async fn document(
    ctx: &AppContext,
    actor: &Actor,
    kb: KbId,
    id: DocumentId,
) -> Result<Document> {
    let p = actor.principal()?;
    find_visible(ctx, p, kb).await?;
    store::documents::find(ctx.db(), p.org_id, kb, id)
        .await?
        .map(|d| dto(&d))
        .ok_or(Error::NotFound)
}

/// A file read and ready to store.
struct Checked {
    filename: String,
    media_type: &'static str,
    hash: String,
    bytes: Vec<u8>,
    metadata: Option<serde_json::Value>,
}

/// Reads every file (off the async threads): type, text, chunks. The first one that cannot be
/// indexed ends the upload with a 400 naming it.
async fn check_all(ctx: &AppContext, files: Vec<Upload>) -> Result<Vec<Checked>> {
    let max_file = ctx.config().upload_max_file_bytes;
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let filename = clean_filename(&file.filename);
        if file.bytes.len() > max_file {
            return Err(Error::detailed(
                ErrorCode::PayloadTooLarge,
                format!(
                    "{filename} is larger than the {} MiB a file may have (AERIE_UPLOAD_MAX_FILE_BYTES).",
                    max_file / (1024 * 1024)
                ),
            ));
        }
        let bytes = file.bytes;
        let name = filename.clone();
        let (read, bytes) = tokio::task::spawn_blocking(move || {
            let read = aerie_extract::read(&bytes, &name).map(|(kind, _)| kind);
            (read, bytes)
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("reading an upload: {e}")))?;
        let kind = read.map_err(|e| unreadable(&filename, &e))?;
        let hash = format!("{:x}", Sha256::digest(&bytes));
        out.push(Checked {
            filename,
            media_type: kind.media_type(),
            hash,
            bytes,
            metadata: file.metadata,
        });
    }
    Ok(out)
}

/// The 400 for a file that cannot be indexed, naming it.
pub(super) fn unreadable(filename: &str, e: &aerie_extract::ExtractError) -> Error {
    let why = match e {
        aerie_extract::ExtractError::Unsupported(s) | aerie_extract::ExtractError::Corrupt(s) => {
            s.trim_end_matches('.').to_owned()
        }
        aerie_extract::ExtractError::Empty => "it contains no text".to_owned(),
    };
    Error::invalid("file", format!("{filename} cannot be indexed: {why}."))
}

/// Stores `files` in knowledge base `kb` (the caller must be allowed to change it) and queues
/// their ingestion. A file whose bytes the knowledge base already holds is answered with the
/// document holding them (`duplicate: true`) and not stored again.
pub async fn upload(
    ctx: &AppContext,
    actor: &Actor,
    kb: KbId,
    category: Option<CategoryId>,
    files: Vec<Upload>,
    source: Source,
) -> Result<Vec<UploadedDocument>> {
    let p = actor.principal()?;
    find_editable(ctx, p, kb).await?;
    if files.is_empty() {
        return Err(Error::invalid("file", "file field is required."));
    }
    if files.len() > FILES_MAX {
        return Err(Error::invalid(
            "file",
            format!("An upload may carry at most {FILES_MAX} files."),
        ));
    }
    if let Some(c) = category
        && store::knowledge_categories::find(ctx.db(), p.org_id, kb, c)
            .await?
            .is_none()
    {
        return Err(Error::invalid(
            "category_id",
            "category_id names no category of this knowledge base.",
        ));
    }
    let checked = check_all(ctx, files).await?;

    // Which files are new: not in the knowledge base, nor earlier in this upload.
    let mut answers: Vec<Answer> = Vec::with_capacity(checked.len());
    for file in checked {
        if let Some(i) = answers.iter().position(|a| a.hash() == file.hash) {
            answers.push(Answer::SameAs(i));
        } else if let Some(existing) =
            store::documents::find_by_hash(ctx.db(), p.org_id, kb, &file.hash).await?
        {
            answers.push(Answer::Existing(file.hash, Box::new(existing)));
        } else {
            answers.push(Answer::New(file, DocumentId::new()));
        }
    }

    let dir = files_dir(ctx, p.org_id, kb);
    let mut written = Vec::new();
    let stored = async {
        for a in &answers {
            if let Answer::New(file, id) = a {
                written.push(write_file(&dir, *id, &file.bytes).await?);
            }
        }
        let now = Utc::now();
        let txn = db::begin_write(ctx.db()).await?;
        let mut rows = Vec::new();
        for a in &answers {
            if let Answer::New(file, id) = a {
                let job = enqueue_ingest(&txn, p.org_id, *id).await?;
                let row = store::documents::insert(
                    &txn,
                    store::documents::NewDocument {
                        id: *id,
                        org: p.org_id,
                        kb,
                        category,
                        filename: file.filename.clone(),
                        media_type: file.media_type.to_owned(),
                        size_bytes: u64::try_from(file.bytes.len()).unwrap_or(u64::MAX),
                        content_hash: file.hash.clone(),
                        source: source.as_str(),
                        metadata: file.metadata.clone(),
                        job,
                        created_by: p.user_id,
                        now,
                    },
                )
                .await?;
                audit::record(
                    &txn,
                    Some(p.org_id),
                    actor,
                    Event::new("document.uploaded")
                        .target("document", row.id)
                        .details(serde_json::json!({
                            "knowledge_base_id": kb,
                            "filename": row.filename,
                            "size_bytes": row.size_bytes,
                        })),
                )
                .await?;
                rows.push(row);
            }
        }
        txn.commit().await?;
        Ok::<_, Error>(rows)
    }
    .await;
    let mut rows = match stored {
        Ok(rows) => rows.into_iter(),
        Err(e) => {
            // Nothing half-written: the rows rolled back, the files go too.
            for path in &written {
                let _ = tokio::fs::remove_file(path).await;
            }
            return Err(e);
        }
    };
    jobs::wake(ctx);

    let mut out: Vec<UploadedDocument> = Vec::with_capacity(answers.len());
    for a in &answers {
        let answer = match a {
            Answer::New(..) => UploadedDocument {
                document: dto(&rows.next().ok_or(Error::NotFound)?),
                duplicate: false,
            },
            Answer::Existing(_, row) => UploadedDocument {
                document: dto(row),
                duplicate: true,
            },
            Answer::SameAs(i) => UploadedDocument {
                document: out.get(*i).ok_or(Error::NotFound)?.document.clone(),
                duplicate: true,
            },
        };
        out.push(answer);
    }
    Ok(out)
}

enum Answer {
    New(Checked, DocumentId),
    Existing(String, Box<documents::Model>),
    /// The same bytes as the upload's file at this index.
    SameAs(usize),
}

impl Answer {
    fn hash(&self) -> &str {
        match self {
            Answer::New(f, _) => &f.hash,
            Answer::Existing(h, _) => h,
            Answer::SameAs(_) => "",
        }
    }
}

/// Writes a document's bytes under `dir` (a temporary name, then renamed: a crash never leaves
/// a half file under the document's name).
async fn write_file(
    dir: &std::path::Path,
    id: DocumentId,
    bytes: &[u8],
) -> Result<std::path::PathBuf> {
    let io = |e: std::io::Error| Error::Internal(anyhow::anyhow!("storing an upload: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let path = dir.join(id.0.to_string());
    let part = dir.join(format!("{}.part", id.0));
    tokio::fs::write(&part, bytes).await.map_err(io)?;
    tokio::fs::rename(&part, &path).await.map_err(io)?;
    Ok(path)
}

async fn enqueue_ingest<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: OrgId,
    document: DocumentId,
) -> Result<JobId> {
    let payload = serde_json::to_value(ingest::Payload {
        document_id: document,
    })
    .map_err(|e| Error::Internal(e.into()))?;
    jobs::enqueue(db, NewJob::new(INGEST_KIND, Some(org), payload)).await
}

/// Removes a document (the knowledge base's owner or an admin): gone from lists and searches
/// at once; a job removes its chunks and file.
pub async fn delete_document(
    ctx: &AppContext,
    actor: &Actor,
    kb: KbId,
    id: DocumentId,
) -> Result<()> {
    let p = actor.principal()?;
    find_editable(ctx, p, kb).await?;
    let txn = db::begin_write(ctx.db()).await?;
    if !store::documents::mark_deleted(&txn, p.org_id, kb, id, Utc::now()).await? {
        return Err(Error::NotFound);
    }
    let payload = serde_json::to_value(ingest::Payload { document_id: id })
        .map_err(|e| Error::Internal(e.into()))?;
    let mut job = NewJob::new(DOCUMENT_DELETE_KIND, Some(p.org_id), payload);
    job.max_attempts = 10;
    jobs::enqueue(&txn, job).await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("document.deleted")
            .target("document", id.0)
            .details(serde_json::json!({"knowledge_base_id": kb})),
    )
    .await?;
    txn.commit().await?;
    jobs::wake(ctx);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\me\\notes.md"), "notes.md");
        assert_eq!(clean_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_filename(""), "document");
        assert_eq!(clean_filename("dir/.."), "document");
        assert_eq!(clean_filename(&"é".repeat(300)).chars().count(), 255);
    }

    proptest! {
        #[test]
        fn any_filename_is_cleaned_without_panicking(raw in any::<String>()) {
            let name = clean_filename(&raw);
            prop_assert!(!name.is_empty());
            prop_assert!(name.chars().count() <= FILENAME_MAX);
            prop_assert!(!name.contains('/') && !name.contains('\\'));
            prop_assert!(!name.chars().any(char::is_control));
        }
    }
}
