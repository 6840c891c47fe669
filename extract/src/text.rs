//! Text helpers shared by the formats: decoding bytes to text, whitespace normalisation, table
//! rows, and a block list that drops what is empty.

use std::borrow::Cow;

use crate::{Block, BlockKind, ExtractError};

/// The supported types, named the way an uploader knows them.
pub(crate) const SUPPORTED: &str = "plain text, Markdown, HTML, PDF, DOCX, CSV or JSON";

/// The [`ExtractError::Unsupported`] of content that is not text.
pub(crate) fn not_text() -> ExtractError {
    ExtractError::Unsupported(format!("it is not a supported type ({SUPPORTED})"))
}

/// The text of a text document: UTF-8 (a byte order mark skipped), or UTF-16 with its byte
/// order mark. Invalid UTF-8 and NUL characters mean a binary file, which is refused rather
/// than indexed as mojibake.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ExtractError> {
    let text: Cow<'_, str> = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Cow::Borrowed(std::str::from_utf8(rest).map_err(|_| not_text())?)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        Cow::Owned(decode_utf16(rest, u16::from_le_bytes)?)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        Cow::Owned(decode_utf16(rest, u16::from_be_bytes)?)
    } else {
        Cow::Borrowed(std::str::from_utf8(bytes).map_err(|_| not_text())?)
    };
    if text.contains('\0') {
        return Err(not_text());
    }
    Ok(text)
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ExtractError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(not_text());
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| not_text())
}

/// Running text on one line: runs of whitespace and control characters become one space, the
/// ends are trimmed, and byte order marks inside the text are dropped.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c == '\u{feff}' {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Preformatted text: line breaks kept (CR LF and CR become LF), tabs kept, other control
/// characters dropped, trailing whitespace of each line and blank lines at both ends removed.
pub(crate) fn code(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = unified
        .split('\n')
        .map(|line| {
            line.chars()
                .filter(|c| *c == '\t' || !(c.is_control() || *c == '\u{feff}'))
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let first = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    lines.drain(..first);
    lines.join("\n")
}

/// Splits text into paragraphs on blank lines (lines holding only whitespace).
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A table row as `"column: value; column: value"` from the header's names, so that a row read
/// alone (in a chunk, in a citation) still says what its values are. Empty values are left out;
/// a cell without a (non-empty) header name stands alone.
pub(crate) fn row(header: Option<&[String]>, cells: &[String]) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(cells.len());
    for (index, cell) in cells.iter().enumerate() {
        let value = inline(cell);
        if value.is_empty() {
            continue;
        }
        let name = header
            .and_then(|names| names.get(index))
            .map(|name| inline(name))
            .unwrap_or_default();
        if name.is_empty() {
            parts.push(value);
        } else {
            parts.push(format!("{name}: {value}"));
        }
    }
    parts.join("; ")
}

/// Blocks being collected: text is normalised for its kind and empty blocks are dropped.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    blocks: Vec<Block>,
}

impl Blocks {
    pub(crate) fn new() -> Self {
        Blocks::default()
    }

    /// Adds a block, normalising its whitespace (kept line breaks for code), unless it is empty.
    pub(crate) fn push(&mut self, kind: BlockKind, text: &str) {
        let text = match kind {
            BlockKind::Code => code(text),
            _ => inline(text),
        };
        if !text.is_empty() {
            self.blocks.push(Block { kind, text });
        }
    }

    /// Adds a table row (see [`row`]) unless it is empty.
    pub(crate) fn push_row(&mut self, header: Option<&[String]>, cells: &[String]) {
        let text = row(header, cells);
        self.push(BlockKind::TableRow, &text);
    }

    pub(crate) fn into_vec(self) -> Vec<Block> {
        self.blocks
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn inline_collapses_whitespace_and_controls() {
        assert_eq!(inline("  a \t\n b\u{7}c  "), "a b c");
        assert_eq!(inline("\u{feff}x"), "x");
        assert_eq!(inline(" \n "), "");
    }

    #[test]
    fn code_keeps_lines() {
        assert_eq!(
            code("\n\n  fn a() {\r\n    b();  \r\n  }\n\n"),
            "  fn a() {\n    b();\n  }"
        );
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        assert_eq!(paragraphs("a\nb\n\n  \nc\n"), vec!["a\nb", "c"]);
    }

    #[test]
    fn rows_name_their_columns() {
        let header = vec!["name".to_owned(), "age".to_owned()];
        let cells = vec!["Ada".to_owned(), String::new(), "x".to_owned()];
        assert_eq!(row(Some(&header), &cells), "name: Ada; x");
        assert_eq!(row(None, &cells), "Ada; x");
    }

    #[test]
    fn decodes_boms() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi").unwrap(), "hi");
        assert_eq!(decode(b"\xFF\xFEh\0i\0").unwrap(), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i").unwrap(), "hi");
        assert!(decode(b"\xFF\xFEh").is_err());
        assert!(decode(b"a\0b").is_err());
        assert!(decode(b"\xC3").is_err());
    }
}
