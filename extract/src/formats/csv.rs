//! Delimiter-separated values: the header row names the columns of every other row.

use crate::text::Blocks;
use crate::{Block, ExtractError};

/// Lines looked at to choose the delimiter.
const SNIFF_LINES: usize = 20;

/// One [`crate::BlockKind::TableRow`] per data row, `"header1: v1; header2: v2"`, the
/// delimiter chosen among `,`, `;` and tab from the first lines. A file with a header only
/// gives that header as its one row.
pub(crate) fn extract(text: &str) -> Result<Vec<Block>, ExtractError> {
    let delimiter = sniff(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut blocks = Blocks::new();
    let mut header: Option<Vec<String>> = None;
    let mut rows = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            ExtractError::Corrupt(format!("the CSV cannot be read at line {line}"))
        })?;
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match &header {
            None => header = Some(cells),
            Some(names) => {
                blocks.push_row(Some(names), &cells);
                rows = rows.saturating_add(1);
            }
        }
    }
    if rows == 0
        && let Some(names) = &header
    {
        blocks.push_row(None, names);
    }
    Ok(blocks.into_vec())
}

/// The delimiter that splits the first lines into the same number of fields (more than one),
/// the most fields winning; a comma when none does.
fn sniff(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SNIFF_LINES)
        .collect();
    let mut best = (b',', 0usize, false);
    for delimiter in [b',', b';', b'\t'] {
        let counts: Vec<usize> = lines.iter().map(|l| fields(l, delimiter)).collect();
        let Some(first) = counts.first().copied() else {
            continue;
        };
        let consistent = counts.iter().all(|c| *c == first);
        // Consistent counts beat inconsistent ones; then more fields win.
        let better = match (consistent, best.2) {
            (true, false) => first > 1,
            (false, true) => false,
            _ => first > best.1,
        };
        if better && first > 1 {
            best = (delimiter, first, consistent);
        }
    }
    best.0
}

/// The number of fields `delimiter` splits a line into, outside double quotes.
fn fields(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 1usize;
    for byte in line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if byte == delimiter && !quoted {
            count = count.saturating_add(1);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::BlockKind;

    fn rows(text: &str) -> Vec<String> {
        let blocks = extract(text).unwrap();
        assert!(blocks.iter().all(|b| b.kind == BlockKind::TableRow));
        blocks.into_iter().map(|b| b.text).collect()
    }

    #[test]
    fn named_columns() {
        assert_eq!(
            rows("name,age,city\nAda,36,\"London, UK\"\n\nBob,,Paris,extra\n"),
            vec![
                "name: Ada; age: 36; city: London, UK",
                "name: Bob; city: Paris; extra"
            ]
        );
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(rows("a;b\n1,5;2\n"), vec!["a: 1,5; b: 2"]);
        assert_eq!(rows("a\tb\n1\t2\n"), vec!["a: 1; b: 2"]);
        assert_eq!(rows("only,header\n"), vec!["only; header"]);
        assert_eq!(rows("single\nvalue\n"), vec!["single: value"]);
        assert!(extract(" \n,,\n").unwrap().is_empty());
    }
}
