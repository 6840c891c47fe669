//! Uploaded documents to text, and text to chunks for embedding.
//!
//! A knowledge base's documents arrive as bytes with a filename the uploader chose. Three steps
//! turn them into what the vector index stores (docs/plans/knowledge.md):
//!
//! 1. [`detect`] decides the [`Kind`] from the content itself (magic bytes, then what the text
//!    parses as), the filename only choosing between text formats that look alike. A name is a
//!    claim by the uploader; the bytes are the fact.
//! 2. [`extract`] reads the format into [`Block`]s: text in document order that keeps the
//!    structure retrieval cares about (headings, paragraphs, list items, table rows, code).
//! 3. [`chunk`] packs the blocks into [`Chunk`]s of a bounded number of characters, each
//!    starting with the headings it sits under, so that a chunk read alone still says what it is
//!    about.
//!
//! [`read`] does the first two. The crate is pure: no I/O, no async, no global state, so the
//! backend may run it on a blocking thread with whatever time limit it likes. No input may panic
//! it: every format is read with bounded depth and bounded decompression, and the PDF reader,
//! a third-party crate that asserts on malformed files, runs behind `catch_unwind`.

mod chunk;
mod detect;
mod formats;
mod text;

pub use chunk::chunk;
pub use detect::detect;

/// A supported document type, decided by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Plain text (UTF-8, or UTF-16 with a byte order mark).
    Text,
    /// CommonMark with GitHub tables.
    Markdown,
    /// An HTML page.
    Html,
    /// A PDF with a text layer (scans without one have no text to index).
    Pdf,
    /// An Office Open XML word-processing document (.docx).
    Docx,
    /// Comma-, semicolon- or tab-separated values with a header row.
    Csv,
    /// A JSON object or array.
    Json,
}

impl Kind {
    /// The media type stored with the document, so that a download or a citation can say what
    /// the file is without guessing again.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Text => "text/plain",
            Kind::Markdown => "text/markdown",
            Kind::Html => "text/html",
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Csv => "text/csv",
            Kind::Json => "application/json",
        }
    }
}

/// Why a document gives no text. Every message is a sentence fragment written for the uploader
/// ("the file could not be indexed: {message}"), never an internal detail they cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The content is of no supported type (binary, an image, a zip that is not a .docx, ...).
    #[error("{0}")]
    Unsupported(String),
    /// The content looks like a supported type but cannot be read (a damaged PDF, a truncated
    /// .docx, a decompression bomb).
    #[error("{0}")]
    Corrupt(String),
    /// Nothing to index: the document holds no text at all.
    #[error("it contains no text")]
    Empty,
}

/// What a [`Block`] is in its document. The chunker treats them differently: a heading opens a
/// section and becomes context for the chunks under it, table rows pack together but are not
/// split, and the others are text to pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// A heading of level 1 (outermost) to 6.
    Heading(u8),
    /// A paragraph of running text.
    Paragraph,
    /// One item of a list.
    ListItem,
    /// One row of a table (or a CSV line, or a JSON record) as `"column: value; column: value"`,
    /// so that each row read alone still names its columns.
    TableRow,
    /// Preformatted text; its line breaks are kept.
    Code,
}

/// One unit of a document's text with its structural role. `text` is never empty; whitespace
/// is normalised (runs collapsed to one space, trimmed), except in [`BlockKind::Code`], which
/// keeps its line breaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    /// The block's role.
    pub kind: BlockKind,
    /// The block's text.
    pub text: String,
}

impl Block {
    /// A block of the given kind (the text is taken as given: [`extract`] normalises its own).
    #[must_use]
    pub fn new(kind: BlockKind, text: impl Into<String>) -> Self {
        Block {
            kind,
            text: text.into(),
        }
    }
}

/// A piece of a document to embed and index, at most the requested number of characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chunk {
    /// What is embedded and shown: the heading path on its own line (when there is one) and the
    /// text under it.
    pub text: String,
    /// Headings in force (outermost first), e.g. `["Install", "Linux"]`, complete even when
    /// the path line in `text` had to be shortened.
    pub headings: Vec<String>,
}

/// Reads a document's text blocks in the format `kind` (as decided by [`detect`]).
///
/// Markdown, HTML, DOCX keep headings, paragraphs, list items, table rows and code; PDF and
/// plain text give paragraphs (split on blank lines); CSV rows and JSON records become
/// [`BlockKind::TableRow`]s naming their columns. Empty blocks are dropped; a document left
/// with none is [`ExtractError::Empty`].
///
/// # Errors
///
/// [`ExtractError::Unsupported`] when the bytes are not text where text is expected,
/// [`ExtractError::Corrupt`] when the format cannot be read, [`ExtractError::Empty`] when no
/// text remains.
pub fn extract(kind: Kind, bytes: &[u8]) -> Result<Vec<Block>, ExtractError> {
    let blocks = match kind {
        Kind::Pdf => formats::pdf::extract(bytes)?,
        Kind::Docx => formats::docx::extract(bytes)?,
        Kind::Text => formats::plain::extract(&text::decode(bytes)?),
        Kind::Markdown => formats::markdown::extract(&text::decode(bytes)?),
        Kind::Html => formats::html::extract(&text::decode(bytes)?),
        Kind::Csv => formats::csv::extract(&text::decode(bytes)?)?,
        Kind::Json => formats::json::extract(&text::decode(bytes)?)?,
    };
    if blocks.is_empty() {
        Err(ExtractError::Empty)
    } else {
        Ok(blocks)
    }
}

/// [`detect`] then [`extract`]: the type and the text blocks of an uploaded file.
///
/// # Errors
///
/// As [`detect`] and [`extract`].
pub fn read(bytes: &[u8], filename: &str) -> Result<(Kind, Vec<Block>), ExtractError> {
    let kind = detect(bytes, filename)?;
    let blocks = extract(kind, bytes)?;
    Ok((kind, blocks))
}
