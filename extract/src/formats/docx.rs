//! Word documents (.docx): `word/document.xml` read with quick-xml.
//!
//! A paragraph's style decides its kind: `Title` and `Heading 1`–`Heading 6` (by style id, by
//! the style's name in `word/styles.xml`, which is what localised Word versions keep stable, or
//! by an outline level) are headings, numbered or `List` paragraphs are list items. Tables give
//! one row block per row, the first row naming the columns. Deleted revisions and field codes
//! are left out.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::text::Blocks;
use crate::{Block, BlockKind, ExtractError};

/// Decompressed bytes read from one archive at most: a zip bomb stops here.
const MAX_DECOMPRESSED: u64 = 64 << 20;
/// Nested tables followed at most (deeper ones are read as their cell's text).
const MAX_TABLES: usize = 64;

/// The blocks of a .docx.
pub(crate) fn extract(bytes: &[u8]) -> Result<Vec<Block>, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| damaged())?;
    let mut budget = MAX_DECOMPRESSED;
    let document = part(&mut archive, "word/document.xml", &mut budget)?.ok_or_else(|| {
        ExtractError::Unsupported(
            "it is a zip archive that is not a Word document (.docx)".to_owned(),
        )
    })?;
    // Styles only refine headings: a missing or unreadable styles part is not fatal.
    let styles = match part(&mut archive, "word/styles.xml", &mut budget) {
        Ok(Some(xml)) => heading_styles(&xml),
        Ok(None) | Err(_) => HashMap::new(),
    };
    read_document(&document, &styles)
}

fn damaged() -> ExtractError {
    ExtractError::Corrupt("the Word document is damaged".to_owned())
}

/// One part of the archive, counted against the decompression budget.
fn part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    budget: &mut u64,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let Some(index) = archive.index_for_name(name) else {
        return Ok(None);
    };
    let file = archive.by_index(index).map_err(|_| damaged())?;
    let mut data = Vec::new();
    // One byte more than the budget tells "too large" from "exactly the budget".
    file.take(budget.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|_| damaged())?;
    let read = u64::try_from(data.len()).unwrap_or(u64::MAX);
    if read > *budget {
        return Err(ExtractError::Corrupt(format!(
            "the Word document is larger than {} MiB once decompressed",
            MAX_DECOMPRESSED >> 20
        )));
    }
    *budget = budget.saturating_sub(read);
    Ok(Some(data))
}

/// Heading levels of the styles (by style id) whose name is `heading N` or `Title`, or that
/// carry an outline level.
fn heading_styles(xml: &[u8]) -> HashMap<String, u8> {
    let mut styles = HashMap::new();
    let mut reader = Reader::from_reader(xml);
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"style" => {
                current = attr(&e, b"styleId");
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == b"style" => current = None,
            Ok(Event::Empty(e)) => {
                let Some(id) = &current else { continue };
                let level = match e.local_name().as_ref() {
                    b"name" => attr(&e, b"val").and_then(|name| style_level(&name)),
                    b"outlineLvl" => attr(&e, b"val").and_then(|v| outline_level(&v)),
                    _ => None,
                };
                if let Some(level) = level {
                    styles.entry(id.clone()).or_insert(level);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    styles
}

/// The heading level of a style id or name: `Heading1`, `heading 2`, `Title`.
fn style_level(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    let rest = lower.strip_prefix("heading")?.trim();
    match rest.parse::<u8>() {
        Ok(level @ 1..=6) => Some(level),
        _ => None,
    }
}

/// An outline level (0-based) as a heading level.
fn outline_level(value: &str) -> Option<u8> {
    match value.trim().parse::<u8>() {
        Ok(level @ 0..=5) => Some(level.saturating_add(1)),
        _ => None,
    }
}

/// An attribute's value by local name (`w:val` is `val`).
fn attr(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

#[derive(Default)]
struct Table {
    header: Option<Vec<String>>,
    cells: Vec<String>,
    cell: String,
    rows: usize,
}

#[derive(Default)]
struct Paragraph {
    text: String,
    kind: Option<BlockKind>,
}

fn read_document(xml: &[u8], styles: &HashMap<String, u8>) -> Result<Vec<Block>, ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut blocks = Blocks::new();
    let mut paragraph = Paragraph::default();
    let mut tables: Vec<Table> = Vec::new();
    // Tables deeper than MAX_TABLES are read as text of the cell around them.
    let mut ignored_tables = 0usize;
    // Inside <w:t> (text) and inside elements whose text is not content.
    let mut in_text = false;
    let mut hidden = 0usize;

    loop {
        let event = reader
            .read_event()
            .map_err(|_| ExtractError::Corrupt("the Word document's text is damaged".to_owned()))?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"t" => in_text = true,
                b"delText" | b"instrText" => hidden = hidden.saturating_add(1),
                b"p" => paragraph = Paragraph::default(),
                b"tbl" => {
                    if tables.len() < MAX_TABLES {
                        tables.push(Table::default());
                    } else {
                        ignored_tables = ignored_tables.saturating_add(1);
                    }
                }
                b"tr" if ignored_tables == 0 => {
                    if let Some(table) = tables.last_mut() {
                        table.cells.clear();
                    }
                }
                b"tc" if ignored_tables == 0 => {
                    if let Some(table) = tables.last_mut() {
                        table.cell.clear();
                    }
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"pStyle" => {
                    if let Some(level) = attr(&e, b"val")
                        .and_then(|id| styles.get(&id).copied().or_else(|| style_level(&id)))
                    {
                        paragraph.kind = Some(BlockKind::Heading(level));
                    } else if attr(&e, b"val")
                        .is_some_and(|id| id.to_ascii_lowercase().starts_with("list"))
                    {
                        paragraph.kind.get_or_insert(BlockKind::ListItem);
                    }
                }
                b"outlineLvl" => {
                    if let Some(level) = attr(&e, b"val").and_then(|v| outline_level(&v)) {
                        paragraph.kind = Some(BlockKind::Heading(level));
                    }
                }
                b"numPr" => {
                    paragraph.kind.get_or_insert(BlockKind::ListItem);
                }
                b"tab" | b"br" | b"cr" => paragraph.text.push(' '),
                b"noBreakHyphen" => paragraph.text.push('-'),
                _ => {}
            },
            Event::Text(t) if in_text && hidden == 0 => {
                let text = t.xml10_content().map_err(|_| damaged())?;
                paragraph.text.push_str(&text);
            }
            Event::GeneralRef(r) if in_text && hidden == 0 => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    paragraph.text.push(c);
                } else if let Ok(name) = r.decode()
                    && let Some(text) = quick_xml::escape::resolve_predefined_entity(&name)
                {
                    paragraph.text.push_str(text);
                }
            }
            Event::CData(t) if in_text && hidden == 0 => {
                paragraph.text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"delText" | b"instrText" => hidden = hidden.saturating_sub(1),
                b"numPr" => {
                    paragraph.kind.get_or_insert(BlockKind::ListItem);
                }
                b"p" => {
                    let done = std::mem::take(&mut paragraph);
                    match tables.last_mut() {
                        // Paragraphs of a cell make the cell's text.
                        Some(table) => {
                            if !table.cell.is_empty() {
                                table.cell.push(' ');
                            }
                            table.cell.push_str(&done.text);
                        }
                        None => blocks.push(done.kind.unwrap_or(BlockKind::Paragraph), &done.text),
                    }
                }
                b"tc" if ignored_tables == 0 => {
                    if let Some(table) = tables.last_mut() {
                        let cell = std::mem::take(&mut table.cell);
                        table.cells.push(cell);
                    }
                }
                b"tr" if ignored_tables == 0 => {
                    if let Some(table) = tables.last_mut() {
                        let cells = std::mem::take(&mut table.cells);
                        if cells.iter().all(|c| c.trim().is_empty()) {
                            // An empty row names nothing and says nothing.
                        } else if table.header.is_none() {
                            table.header = Some(cells);
                        } else {
                            blocks.push_row(table.header.as_deref(), &cells);
                            table.rows = table.rows.saturating_add(1);
                        }
                    }
                }
                b"tbl" => {
                    if ignored_tables > 0 {
                        ignored_tables -= 1;
                    } else if let Some(table) = tables.pop()
                        && table.rows == 0
                        && let Some(header) = &table.header
                    {
                        blocks.push_row(None, header);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(blocks.into_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn levels() {
        assert_eq!(style_level("Heading1"), Some(1));
        assert_eq!(style_level("heading 6"), Some(6));
        assert_eq!(style_level("Heading 7"), None);
        assert_eq!(style_level("Title"), Some(1));
        assert_eq!(style_level("Normal"), None);
        assert_eq!(outline_level("0"), Some(1));
        assert_eq!(outline_level("9"), None);
    }

    #[test]
    fn document_xml() {
        let xml = br#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>
            <w:p><w:pPr><w:pStyle w:val="Kop1"/></w:pPr><w:r><w:t>Intro &amp; scope</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Hello </w:t></w:r><w:r><w:tab/><w:t>world</w:t></w:r>
              <w:del><w:r><w:delText>gone</w:delText></w:r></w:del></w:p>
            <w:p><w:pPr><w:numPr><w:ilvl w:val="0"/></w:numPr></w:pPr><w:r><w:t>item</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>k</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>v</w:t></w:r></w:p></w:tc></w:tr>
            <w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc><w:tc/></w:tr></w:tbl>
            </w:body></w:document>"#;
        let styles = HashMap::from([("Kop1".to_owned(), 1u8)]);
        let got: Vec<(BlockKind, String)> = read_document(xml, &styles)
            .unwrap()
            .into_iter()
            .map(|b| (b.kind, b.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (BlockKind::Heading(1), "Intro & scope".to_owned()),
                (BlockKind::Paragraph, "Hello world".to_owned()),
                (BlockKind::ListItem, "item".to_owned()),
                (BlockKind::TableRow, "k: a b".to_owned()),
            ]
        );
    }

    #[test]
    fn styles_by_name() {
        let xml = br#"<w:styles xmlns:w="x"><w:style w:type="paragraph" w:styleId="Kop2">
            <w:name w:val="heading 2"/></w:style><w:style w:styleId="Normal"><w:name w:val="Normal"/>
            </w:style></w:styles>"#;
        assert_eq!(
            heading_styles(xml),
            HashMap::from([("Kop2".to_owned(), 2u8)])
        );
    }
}
