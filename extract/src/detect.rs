//! The type of an upload, from its content first.

use std::io::Cursor;

use crate::text::{self, SUPPORTED};
use crate::{ExtractError, Kind};

/// How far into the file a PDF header may start (the specification tolerates leading bytes).
const PDF_HEADER_WINDOW: usize = 1024;
/// How much of a text file is looked at to recognise markup.
const MARKUP_WINDOW: usize = 8 * 1024;

/// Decides the type of an uploaded file, from its CONTENT first.
///
/// Magic bytes decide binary formats: `%PDF-` is a PDF, a zip archive holding
/// `word/document.xml` is a DOCX, any other zip or binary content (NUL bytes, invalid UTF-8) is
/// refused. Text (UTF-8 with or without a byte order mark, or UTF-16 with one) is JSON when it
/// parses as a JSON object or array, HTML when it starts with `<!doctype html` or `<html` or is
/// clearly markup; then the filename's extension picks Markdown (`.md`, `.markdown`) or CSV
/// (`.csv`, `.tsv`); else it is Markdown when it has `# ` headings, and plain text otherwise.
///
/// The filename never overrides the content: a `.pdf` that is text is text. Names are what
/// uploaders claim; treating a text file as a PDF because of its name would only fail later
/// with a worse message.
///
/// # Errors
///
/// [`ExtractError::Empty`] for an empty file, [`ExtractError::Unsupported`] for content of no
/// supported type.
pub fn detect(bytes: &[u8], filename: &str) -> Result<Kind, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    if let Some(kind) = binary(bytes)? {
        return Ok(kind);
    }
    let text = text::decode(bytes)?;
    Ok(text_kind(&text, filename))
}

/// The kind of a binary file, `None` for what may be text.
fn binary(bytes: &[u8]) -> Result<Option<Kind>, ExtractError> {
    let head = bytes.get(..PDF_HEADER_WINDOW).unwrap_or(bytes);
    if is_pdf(head) {
        return Ok(Some(Kind::Pdf));
    }
    if head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(b"PK\x07\x08")
    {
        return zip(bytes).map(Some);
    }
    // Common binary types, refused with a message that names them.
    let refuse = |what: &str| {
        Err(ExtractError::Unsupported(format!(
            "it is {what}, not a supported type ({SUPPORTED})"
        )))
    };
    if head.starts_with(b"\x89PNG")
        || head.starts_with(b"\xFF\xD8\xFF")
        || head.starts_with(b"GIF8")
        || head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP")
        || head.starts_with(b"BM") && head.get(14).is_some_and(|b| *b == 40 || *b == 12)
        || head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
    {
        return refuse("an image");
    }
    if head.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return refuse("a legacy Office file (.doc, .xls, .ppt); save it as .docx or PDF, it");
    }
    if head.starts_with(b"\x1F\x8B") || head.starts_with(b"7z\xBC\xAF") || head.starts_with(b"Rar!")
    {
        return refuse("a compressed archive");
    }
    Ok(None)
}

/// A PDF header at the start (after whitespace), or after leading bytes that are not text: a
/// text file that merely mentions `%PDF-` stays text.
fn is_pdf(head: &[u8]) -> bool {
    match find(head, b"%PDF-") {
        None => false,
        Some(at) => {
            let before = head.get(..at).unwrap_or_default();
            before.iter().all(u8::is_ascii_whitespace)
                || std::str::from_utf8(before).is_err()
                || before.contains(&0)
        }
    }
}

/// A zip archive is a DOCX when it holds `word/document.xml`. One whose directory cannot be
/// read but that names that part is still taken as a DOCX, so that extraction reports it as
/// damaged rather than as of the wrong type.
fn zip(bytes: &[u8]) -> Result<Kind, ExtractError> {
    let is_docx = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive.index_for_name("word/document.xml").is_some(),
        Err(_) => find(bytes, b"word/document.xml").is_some(),
    };
    if is_docx {
        Ok(Kind::Docx)
    } else {
        Err(ExtractError::Unsupported(format!(
            "it is a zip archive that is not a Word document (.docx), not a supported type \
             ({SUPPORTED})"
        )))
    }
}

fn text_kind(text: &str, filename: &str) -> Kind {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if (start.starts_with('{') || start.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(start)
            .is_ok_and(|v| v.is_object() || v.is_array())
    {
        return Kind::Json;
    }
    let extension = extension(filename);
    if is_html(start, extension.as_deref()) {
        return Kind::Html;
    }
    match extension.as_deref() {
        Some("md" | "markdown" | "mdown" | "mkd" | "mkdn") => return Kind::Markdown,
        Some("csv" | "tsv") => return Kind::Csv,
        _ => {}
    }
    if text.lines().any(is_atx_heading) {
        Kind::Markdown
    } else {
        Kind::Text
    }
}

/// The lower-cased extension of a filename (the part after its last dot), if any.
fn extension(filename: &str) -> Option<String> {
    let name = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// HTML: a document starting with `<!doctype html` or `<html`, or text starting with a tag
/// whose first kilobytes close elements only HTML has. A `.html`/`.htm` name is believed for
/// text that starts with a tag.
fn is_html(start: &str, extension: Option<&str>) -> bool {
    if !start.starts_with('<') {
        return false;
    }
    let head: String = start
        .chars()
        .take(MARKUP_WINDOW)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return true;
    }
    if head.starts_with("<?xml") {
        // XHTML; other XML is not a page.
        return head.contains("<html");
    }
    if matches!(extension, Some("html" | "htm" | "xhtml")) {
        return true;
    }
    const CLUES: [&str; 14] = [
        "<body",
        "<head",
        "</p>",
        "</div>",
        "</h1>",
        "</h2>",
        "</h3>",
        "</h4>",
        "</table>",
        "</li>",
        "</span>",
        "</a>",
        "<br>",
        "</section>",
    ];
    CLUES.iter().any(|clue| head.contains(clue))
}

/// A Markdown ATX heading line: one to six `#`, then a space (or nothing).
fn is_atx_heading(line: &str) -> bool {
    let line = line.trim_start_matches(' ');
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return false;
    }
    let rest = line.get(hashes..).unwrap_or("");
    rest.starts_with(' ') && !rest.trim().is_empty()
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn content_decides() {
        assert_eq!(detect(b"%PDF-1.4\n...", "a.txt").unwrap(), Kind::Pdf);
        assert_eq!(detect(b"hello", "a.pdf").unwrap(), Kind::Text);
        assert_eq!(detect(b" {\"a\": 1}", "a.txt").unwrap(), Kind::Json);
        assert_eq!(detect(b"[1, 2]", "a.md").unwrap(), Kind::Json);
        assert_eq!(detect(b"{not json", "a.txt").unwrap(), Kind::Text);
        assert_eq!(
            detect(b"\xEF\xBB\xBF<!DOCTYPE html><p>x", "a").unwrap(),
            Kind::Html
        );
        assert_eq!(detect(b"<HTML><body>x", "a.txt").unwrap(), Kind::Html);
        assert_eq!(detect(b"<div><p>x</p></div>", "a.txt").unwrap(), Kind::Html);
        assert_eq!(detect(b"<x>y</x>", "a.txt").unwrap(), Kind::Text);
        assert_eq!(detect(b"<x>y</x>", "a.htm").unwrap(), Kind::Html);
        assert_eq!(detect(b"a,b\n1,2\n", "data.CSV").unwrap(), Kind::Csv);
        assert_eq!(detect(b"a\tb\n1\t2\n", "data.tsv").unwrap(), Kind::Csv);
        assert_eq!(detect(b"a,b\n1,2\n", "data.txt").unwrap(), Kind::Text);
        assert_eq!(
            detect(b"just words", "notes.markdown").unwrap(),
            Kind::Markdown
        );
        assert_eq!(
            detect(b"intro\n\n## Setup\nmore", "notes").unwrap(),
            Kind::Markdown
        );
        assert_eq!(detect(b"#include <stdio.h>", "main.c").unwrap(), Kind::Text);
        assert_eq!(detect(b"\xFF\xFEh\0i\0", "a").unwrap(), Kind::Text);
    }

    #[test]
    fn binaries_are_refused() {
        assert_eq!(detect(b"", "a.txt"), Err(ExtractError::Empty));
        let png = detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a.png");
        assert!(matches!(png, Err(ExtractError::Unsupported(m)) if m.contains("image")));
        assert!(matches!(
            detect(b"a\0b", "a.txt"),
            Err(ExtractError::Unsupported(_))
        ));
        assert!(matches!(
            detect(b"\xC3\x28", "a.txt"),
            Err(ExtractError::Unsupported(_))
        ));
        assert!(matches!(
            detect(b"PK\x03\x04junk", "a.zip"),
            Err(ExtractError::Unsupported(_))
        ));
        assert_eq!(
            detect(b"PK\x03\x04..word/document.xml..", "a.docx").unwrap(),
            Kind::Docx
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b.tar.GZ").as_deref(), Some("gz"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("x."), None);
        assert_eq!(extension("C:\\dir.d\\file"), None);
    }
}
