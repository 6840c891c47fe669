//! PDF text with pdf-extract (over lopdf), page by page.
//!
//! pdf-extract places glyphs by their positions, which gives words, lines and paragraph gaps
//! where simpler readers run lines together. It is also written to assert on what it does not
//! expect, so every page is read behind `catch_unwind`: a page that panics is skipped (its text
//! so far kept) and the others still count. What `catch_unwind` cannot catch is checked before a
//! page is read:
//!
//! - unbounded recursion, a stack overflow that aborts the process: pdf-extract follows a page's
//!   `/Parent` chain and form XObjects (`Do`) recursively, so pages whose chain loops, or whose
//!   drawings nest deeper than [`MAX_FORM_DEPTH`] or expand to more than [`MAX_FORM_VISITS`]
//!   streams, are skipped;
//! - decompression bombs: every Flate stream's inflated size is measured, with a bound, before
//!   anything inflates it for real ([`MAX_STREAM_BYTES`], [`MAX_TOTAL_BYTES`]).
//!
//! Not covered: object streams, which lopdf inflates while loading the file, and streams with
//! filters other than Flate alone (LZW, filter chains), which are rare in current files.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pdf_extract::content::Content;
use pdf_extract::{Dictionary, Document, Object, ObjectId, PlainTextOutput, Stream};

use crate::text::{Blocks, paragraphs};
use crate::{Block, BlockKind, ExtractError};

/// `/Parent` links followed from a page at most.
const MAX_PARENT_HOPS: usize = 64;
/// Form XObjects nested in one another at most.
const MAX_FORM_DEPTH: usize = 16;
/// Form XObject invocations on one page at most (pdf-extract re-reads a form at every `Do`).
const MAX_FORM_VISITS: usize = 4096;
/// Inflated bytes of one stream at most.
const MAX_STREAM_BYTES: u64 = 256 << 20;
/// Inflated bytes of all streams at most.
const MAX_TOTAL_BYTES: u64 = 2 << 30;

/// The paragraphs of a PDF's pages, in page order.
pub(crate) fn extract(bytes: &[u8]) -> Result<Vec<Block>, ExtractError> {
    let pages = catch_unwind(AssertUnwindSafe(|| pages_text(bytes)))
        .unwrap_or_else(|_| Err(unreadable()))?;
    let mut blocks = Blocks::new();
    for page in &pages {
        for paragraph in paragraphs(page) {
            blocks.push(BlockKind::Paragraph, &join_lines(&paragraph));
        }
    }
    Ok(blocks.into_vec())
}

fn unreadable() -> ExtractError {
    ExtractError::Corrupt("the PDF could not be read".to_owned())
}

/// The text of each page that could be read.
fn pages_text(bytes: &[u8]) -> Result<Vec<String>, ExtractError> {
    let mut doc = Document::load_mem(bytes).map_err(|e| {
        let detail = e.to_string();
        ExtractError::Corrupt(format!(
            "the PDF is damaged: {}",
            detail.trim_end_matches('.')
        ))
    })?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ExtractError::Corrupt(
            "the PDF is protected by a password".to_owned(),
        ));
    }
    check_streams(&doc)?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ExtractError::Corrupt("the PDF has no pages".to_owned()));
    }
    let mut forms = FormCache::default();
    let mut texts = Vec::with_capacity(pages.len());
    let mut failed = 0usize;
    for (&number, &id) in &pages {
        if !parents_end(&doc, id) || !forms_bounded(&doc, id, &mut forms) {
            failed = failed.saturating_add(1);
            continue;
        }
        let mut text = String::new();
        let read = catch_unwind(AssertUnwindSafe(|| {
            let mut output = PlainTextOutput::new(&mut text);
            pdf_extract::output_doc_page(&doc, &mut output, number)
        }));
        if !matches!(read, Ok(Ok(()))) {
            failed = failed.saturating_add(1);
        }
        texts.push(text);
    }
    if failed > 0 && texts.iter().all(|t| t.trim().is_empty()) {
        return Err(unreadable());
    }
    Ok(texts)
}

/// Lines of a paragraph joined with spaces; a word hyphenated at a line's end is joined again
/// ("migra-" + "tion" is "migration").
fn join_lines(paragraph: &str) -> String {
    let mut out = String::with_capacity(paragraph.len());
    for line in paragraph.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let hyphenated = out.ends_with('-')
            && out.chars().rev().nth(1).is_some_and(char::is_alphabetic)
            && line.chars().next().is_some_and(char::is_lowercase);
        if hyphenated {
            out.pop();
        } else if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// Refuses a document whose Flate streams inflate beyond the limits, measuring without keeping
/// the inflated bytes.
fn check_streams(doc: &Document) -> Result<(), ExtractError> {
    check_streams_within(doc, MAX_STREAM_BYTES, MAX_TOTAL_BYTES)
}

fn check_streams_within(
    doc: &Document,
    max_stream: u64,
    max_total: u64,
) -> Result<(), ExtractError> {
    let too_large = || {
        ExtractError::Corrupt(format!(
            "the PDF is larger than {} MiB once decompressed",
            max_total >> 20
        ))
    };
    let mut total = 0u64;
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let Ok(filters) = stream.filters() else {
            continue;
        };
        if filters != [b"FlateDecode".as_slice()] {
            continue;
        }
        let size = inflated_size(&stream.content, max_stream);
        if size > max_stream {
            return Err(too_large());
        }
        total = total.saturating_add(size);
        if total > max_total {
            return Err(too_large());
        }
    }
    Ok(())
}

/// The inflated size of Flate data, counted up to `limit + 1`, the way lopdf inflates it (zlib,
/// else raw deflate after the two header bytes).
fn inflated_size(data: &[u8], limit: u64) -> u64 {
    let bound = limit.saturating_add(1);
    let (size, failed) = count(flate2::read::ZlibDecoder::new(data).take(bound));
    if failed && size == 0 {
        let raw = data.get(2..).unwrap_or_default();
        count(flate2::read::DeflateDecoder::new(raw).take(bound)).0
    } else {
        size
    }
}

/// Bytes a reader gives before its end or its first error, and whether it failed.
fn count(mut reader: impl Read) -> (u64, bool) {
    let mut buffer = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return (total, false),
            Ok(n) => total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (total, true),
        }
    }
}

/// Whether the `/Parent` chain from a page ends (pdf-extract follows it recursively to find
/// inherited resources and boxes).
fn parents_end(doc: &Document, page: ObjectId) -> bool {
    let mut seen = HashSet::from([page]);
    let Ok(mut dict) = doc.get_dictionary(page) else {
        return true;
    };
    loop {
        let Ok(parent) = dict.get(b"Parent").and_then(Object::as_reference) else {
            return true;
        };
        if !seen.insert(parent) || seen.len() > MAX_PARENT_HOPS {
            return false;
        }
        match doc.get_dictionary(parent) {
            Ok(next) => dict = next,
            Err(_) => return true,
        }
    }
}

/// The XObject names each stream invokes with `Do`, by stream id.
#[derive(Default)]
struct FormCache {
    names: HashMap<ObjectId, Vec<Vec<u8>>>,
}

impl FormCache {
    fn names(&mut self, id: Option<ObjectId>, stream: &Stream) -> Vec<Vec<u8>> {
        if let Some(id) = id
            && let Some(names) = self.names.get(&id)
        {
            return names.clone();
        }
        let data = match stream.filters() {
            Ok(_) => stream
                .decompressed_content()
                .unwrap_or_else(|_| stream.content.clone()),
            Err(_) => stream.content.clone(),
        };
        let names = do_names(&data);
        if let Some(id) = id {
            self.names.insert(id, names.clone());
        }
        names
    }
}

/// The operands of the `Do` operators of a content stream.
fn do_names(content: &[u8]) -> Vec<Vec<u8>> {
    let Ok(content) = Content::decode(content) else {
        return Vec::new();
    };
    content
        .operations
        .iter()
        .filter(|op| op.operator == "Do")
        .filter_map(|op| op.operands.first())
        .filter_map(|name| name.as_name().ok().map(<[u8]>::to_vec))
        .collect()
}

/// Whether drawing a page invokes form XObjects within [`MAX_FORM_DEPTH`] and
/// [`MAX_FORM_VISITS`], following them as pdf-extract does: each `Do` looks its name up in the
/// current resources' `/XObject`, and the form's own `/Resources` (else the current ones) apply
/// inside it.
fn forms_bounded(doc: &Document, page: ObjectId, cache: &mut FormCache) -> bool {
    let Ok(page_dict) = doc.get_dictionary(page) else {
        return true;
    };
    let empty = Dictionary::new();
    let resources = inherited_resources(doc, page_dict).unwrap_or(&empty);
    let Ok(content) = doc.get_page_content(page) else {
        return true;
    };
    let mut pending: Vec<(Vec<Vec<u8>>, &Dictionary, usize)> =
        vec![(do_names(&content), resources, 0)];
    let mut visits = 0usize;
    while let Some((names, resources, depth)) = pending.pop() {
        for name in names {
            let Some((id, form)) = xobject(doc, resources, &name) else {
                continue;
            };
            visits = visits.saturating_add(1);
            if visits > MAX_FORM_VISITS || depth >= MAX_FORM_DEPTH {
                return false;
            }
            let inner = form
                .dict
                .get(b"Resources")
                .ok()
                .and_then(|o| deref(doc, o))
                .and_then(|o| o.as_dict().ok())
                .unwrap_or(resources);
            pending.push((cache.names(id, form), inner, depth.saturating_add(1)));
        }
    }
    true
}

/// A page's resources, inherited along its `/Parent` chain (checked to end beforehand).
fn inherited_resources<'a>(doc: &'a Document, page: &'a Dictionary) -> Option<&'a Dictionary> {
    let mut dict = page;
    for _ in 0..=MAX_PARENT_HOPS {
        if let Some(resources) = dict
            .get(b"Resources")
            .ok()
            .and_then(|o| deref(doc, o))
            .and_then(|o| o.as_dict().ok())
        {
            return Some(resources);
        }
        let parent = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
        dict = doc.get_dictionary(parent).ok()?;
    }
    None
}

/// The stream an XObject name stands for in `resources`, with its id.
fn xobject<'a>(
    doc: &'a Document,
    resources: &'a Dictionary,
    name: &[u8],
) -> Option<(Option<ObjectId>, &'a Stream)> {
    let xobjects = deref(doc, resources.get(b"XObject").ok()?)?
        .as_dict()
        .ok()?;
    let (id, object) = doc.dereference(xobjects.get(name).ok()?).ok()?;
    Some((id, object.as_stream().ok()?))
}

fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    doc.dereference(object).ok().map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn hyphens_join() {
        assert_eq!(
            join_lines("The heron migra-\ntion north\nX-\nRay"),
            "The heron migration north X- Ray"
        );
    }

    /// A PDF of the given objects (numbered from 1; object 1 must be the catalog), with a
    /// correct cross-reference table.
    fn pdf<T: AsRef<[u8]>>(objects: &[T]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body.as_ref());
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    fn stream(content: &str, dict: &str) -> String {
        format!(
            "<< /Length {} {dict} >>\nstream\n{content}\nendstream",
            content.len()
        )
    }

    const FONT: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

    fn texts(bytes: &[u8]) -> Result<Vec<String>, ExtractError> {
        extract(bytes).map(|blocks| blocks.into_iter().map(|b| b.text).collect())
    }

    #[test]
    fn a_plain_page_reads() {
        let bytes = pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792] >>",
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            &stream("BT /F1 12 Tf 72 700 Td (Hello heron) Tj ET", ""),
            FONT,
        ]);
        assert_eq!(texts(&bytes).unwrap(), vec!["Hello heron"]);
    }

    #[test]
    fn recursive_forms_are_skipped_not_followed() {
        // Page 1 draws a form that draws itself; page 2 is fine.
        let bytes = pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 8 0 R >> /XObject << /X0 5 0 R >> >> >>",
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
            &stream("/X0 Do", ""),
            &stream("/X0 Do", "/Type /XObject /Subtype /Form /BBox [0 0 10 10]"),
            "<< /Type /Page /Parent 2 0 R /Contents 7 0 R >>",
            &stream("BT /F1 12 Tf 72 700 Td (Second page) Tj ET", ""),
            FONT,
        ]);
        assert_eq!(texts(&bytes).unwrap(), vec!["Second page"]);
    }

    #[test]
    fn form_fan_out_is_bounded() {
        // X0 draws X1 ten times, X1 draws X2 ten times, ...: a million form invocations.
        let ten = |name: &str| {
            std::iter::repeat_n(format!("/{name} Do"), 10)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792] \
             /Resources << /XObject << /X0 5 0 R /X1 6 0 R /X2 7 0 R /X3 8 0 R /X4 9 0 R /X5 10 0 R >> >> >>"
                .to_owned(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>".to_owned(),
            stream("/X0 Do", ""),
        ];
        for level in 0..6 {
            let next = format!("X{}", level + 1);
            let content = if level < 5 { ten(&next) } else { String::new() };
            objects.push(stream(
                &content,
                "/Type /XObject /Subtype /Form /BBox [0 0 1 1]",
            ));
        }
        let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
        assert!(matches!(
            texts(&pdf(&objects)),
            Err(ExtractError::Corrupt(_))
        ));
    }

    #[test]
    fn parent_cycles_are_skipped() {
        let bytes = pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 3 0 R /Contents 4 0 R >>",
            &stream("BT (x) Tj ET", ""),
        ]);
        assert!(matches!(texts(&bytes), Err(ExtractError::Corrupt(_))));
    }

    #[test]
    fn stream_bombs_are_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 3 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        let mut content = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            bomb.len()
        )
        .into_bytes();
        content.extend_from_slice(&bomb);
        content.extend_from_slice(b"\nendstream");
        let bytes = pdf(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792] >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>".to_vec(),
            content,
        ]);
        let doc = Document::load_mem(&bytes).unwrap();
        let got = check_streams_within(&doc, 2 << 20, 8 << 20);
        assert!(
            matches!(&got, Err(ExtractError::Corrupt(m)) if m.contains("decompressed")),
            "{got:?}"
        );
        assert!(check_streams_within(&doc, 4 << 20, 8 << 20).is_ok());
        assert!(check_streams_within(&doc, 4 << 20, 2 << 20).is_err());
    }

    #[test]
    fn bombs_are_measured() {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 10 << 20]).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(inflated_size(&compressed, 1 << 20), (1 << 20) + 1);
        assert_eq!(inflated_size(&compressed, 64 << 20), 10 << 20);
        assert!(inflated_size(b"garbage", 10) <= 11);
    }
}
