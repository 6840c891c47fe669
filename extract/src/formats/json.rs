//! JSON: records as rows, objects as sections.
//!
//! An array of objects is a table: each element becomes one row, `"key: value; nested.key:
//! value"`. An object's scalar members are grouped into one block, `"key: value; key: value"`;
//! each member holding an object or array opens a section headed by its key, so that chunks
//! under it carry the key path as context. Nesting is followed to [`MAX_DEPTH`]; anything deeper
//! is kept as compact JSON text.

use serde_json::Value;

use crate::text::Blocks;
use crate::{Block, BlockKind, ExtractError};

/// Levels of nesting read as structure.
const MAX_DEPTH: usize = 64;
/// Heading levels run out at 6: deeper objects are flattened into rows.
const MAX_HEADING: usize = 6;

/// The blocks of a JSON document.
pub(crate) fn extract(text: &str) -> Result<Vec<Block>, ExtractError> {
    // serde_json refuses nesting beyond 128 levels with an error rather than overflowing.
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ExtractError::Corrupt(format!(
            "the JSON cannot be read: {} at line {} column {}",
            category(&e),
            e.line(),
            e.column()
        ))
    })?;
    let mut blocks = Blocks::new();
    section(&mut blocks, &value, 1);
    Ok(blocks.into_vec())
}

fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data | serde_json::error::Category::Io => "invalid data",
    }
}

/// A value read as a section at heading `level` (1 for the document).
fn section(blocks: &mut Blocks, value: &Value, level: usize) {
    match value {
        Value::Object(members) => {
            // Scalars first, as one block; then one section per nested member.
            let mut scalars: Vec<String> = Vec::new();
            let mut nested: Vec<(&String, &Value)> = Vec::new();
            for (key, member) in members {
                if is_flat(member) || level > MAX_HEADING {
                    let mut pairs = Vec::new();
                    flatten(key, member, 1, &mut pairs);
                    scalars.extend(pairs);
                } else {
                    nested.push((key, member));
                }
            }
            blocks.push(BlockKind::Paragraph, &scalars.join("; "));
            for (key, member) in nested {
                let heading = u8::try_from(level).unwrap_or(6);
                blocks.push(BlockKind::Heading(heading), key);
                section(blocks, member, level.saturating_add(1));
            }
        }
        Value::Array(items) => {
            let mut scalars: Vec<String> = Vec::new();
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        blocks.push(BlockKind::Paragraph, &scalars.join(", "));
                        scalars.clear();
                        let mut pairs = Vec::new();
                        flatten("", item, 1, &mut pairs);
                        blocks.push(BlockKind::TableRow, &pairs.join("; "));
                    }
                    scalar => scalars.push(scalar_text(scalar)),
                }
            }
            blocks.push(BlockKind::Paragraph, &scalars.join(", "));
        }
        scalar => blocks.push(BlockKind::Paragraph, &scalar_text(scalar)),
    }
}

/// A member that reads as one `key: value` pair: a scalar, or an array of scalars.
fn is_flat(value: &Value) -> bool {
    match value {
        Value::Array(items) => items
            .iter()
            .all(|i| !matches!(i, Value::Object(_) | Value::Array(_))),
        Value::Object(members) => members.is_empty(),
        _ => true,
    }
}

/// `"path: value"` pairs of a value, nested keys joined with dots (array elements by index);
/// arrays of scalars as one comma-separated value. Empty strings and empty containers are
/// left out.
fn flatten(path: &str, value: &Value, depth: usize, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    if depth > MAX_DEPTH {
        // serde_json nests at most 128 levels, so its serialiser's recursion is bounded too.
        let text = serde_json::to_string(value).unwrap_or_default();
        out.push(pair(path, &text));
        return;
    }
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                flatten(&join(key), member, depth.saturating_add(1), out);
            }
        }
        Value::Array(items) if is_flat(value) => {
            let text: Vec<String> = items
                .iter()
                .map(scalar_text)
                .filter(|t| !t.is_empty())
                .collect();
            if !text.is_empty() {
                out.push(pair(path, &text.join(", ")));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(
                    &join(&index.to_string()),
                    item,
                    depth.saturating_add(1),
                    out,
                );
            }
        }
        scalar => {
            let text = scalar_text(scalar);
            if !text.is_empty() {
                out.push(pair(path, &text));
            }
        }
    }
}

fn pair(path: &str, value: &str) -> String {
    if path.is_empty() {
        value.to_owned()
    } else {
        format!("{path}: {value}")
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(value).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn blocks(text: &str) -> Vec<(BlockKind, String)> {
        extract(text)
            .unwrap()
            .into_iter()
            .map(|b| (b.kind, b.text))
            .collect()
    }

    #[test]
    fn records() {
        let got = blocks(
            r#"[{"name": "Ada", "address": {"city": "London"}, "tags": ["a", "b"]},
                {"name": "Bob", "pets": [{"kind": "cat"}], "note": ""}]"#,
        );
        assert_eq!(
            got,
            vec![
                (
                    BlockKind::TableRow,
                    "name: Ada; address.city: London; tags: a, b".to_owned()
                ),
                (
                    BlockKind::TableRow,
                    "name: Bob; pets.0.kind: cat".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn objects_are_sections() {
        let got = blocks(
            r#"{"name": "svc", "version": 2, "server": {"host": "h", "tls": {"on": true}},
                "users": [{"id": 1}, {"id": 2}], "empty": {}}"#,
        );
        assert_eq!(
            got,
            vec![
                (BlockKind::Paragraph, "name: svc; version: 2".to_owned()),
                (BlockKind::Heading(1), "server".to_owned()),
                (BlockKind::Paragraph, "host: h".to_owned()),
                (BlockKind::Heading(2), "tls".to_owned()),
                (BlockKind::Paragraph, "on: true".to_owned()),
                (BlockKind::Heading(1), "users".to_owned()),
                (BlockKind::TableRow, "id: 1".to_owned()),
                (BlockKind::TableRow, "id: 2".to_owned()),
            ]
        );
    }

    #[test]
    fn scalars_and_errors() {
        assert_eq!(
            blocks("[1, \"two\", null]"),
            vec![(BlockKind::Paragraph, "1, two, null".to_owned())]
        );
        assert_eq!(
            blocks("\"x\""),
            vec![(BlockKind::Paragraph, "x".to_owned())]
        );
        assert!(matches!(extract("{\"a\":"), Err(ExtractError::Corrupt(_))));
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(extract(&deep), Err(ExtractError::Corrupt(_))));
        let nested = "{\"a\":".repeat(120) + "1" + &"}".repeat(120);
        assert!(!blocks(&nested).is_empty());
    }
}
