//! Markdown (CommonMark with GitHub tables, task lists and strikethrough) with pulldown-cmark.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::text::Blocks;
use crate::{Block, BlockKind};

/// The blocks of a Markdown document: headings, paragraphs, list items, table rows (named by
/// the header row), code blocks. Front matter and raw HTML tags are left out; the text inside
/// HTML blocks is kept.
pub(crate) fn extract(text: &str) -> Vec<Block> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut state = State::default();
    for event in Parser::new_ext(text, options) {
        state.event(event);
    }
    state.flush();
    state.blocks.into_vec()
}

#[derive(Default)]
struct Table {
    header: Option<Vec<String>>,
    cells: Vec<String>,
    cell: String,
    rows: usize,
}

#[derive(Default)]
struct State {
    blocks: Blocks,
    /// Text of the block being read.
    text: String,
    heading: Option<u8>,
    code: bool,
    items: usize,
    metadata: usize,
    table: Option<Table>,
}

impl State {
    /// The kind of the text being read, from the innermost structure around it.
    fn kind(&self) -> BlockKind {
        if let Some(level) = self.heading {
            BlockKind::Heading(level)
        } else if self.code {
            BlockKind::Code
        } else if self.items > 0 {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    }

    /// Ends the block being read (nothing happens to empty text).
    fn flush(&mut self) {
        if !self.text.is_empty() {
            let kind = self.kind();
            self.blocks.push(kind, &self.text);
            self.text.clear();
        }
    }

    fn push_text(&mut self, text: &str) {
        if self.metadata > 0 {
            return;
        }
        match &mut self.table {
            Some(table) => table.cell.push_str(text),
            None => self.text.push_str(text),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(&tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text)
            | Event::Code(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => self.push_text(&text),
            Event::Html(html) => {
                let text = strip_tags(&html);
                self.push_text(&text);
                self.push_text(" ");
            }
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.push_text("\n"),
            Event::TaskListMarker(done) => self.push_text(if done { "[x] " } else { "[ ] " }),
            Event::Rule => self.flush(),
            Event::InlineHtml(_) | Event::FootnoteReference(_) => {}
        }
    }

    fn start(&mut self, tag: &Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush();
                self.heading = Some(*level as u8);
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.code = true;
            }
            Tag::Item => {
                self.flush();
                self.items = self.items.saturating_add(1);
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(Table::default());
            }
            Tag::TableCell => {
                if let Some(table) = &mut self.table {
                    table.cell.clear();
                }
            }
            Tag::MetadataBlock(_) => {
                self.flush();
                self.metadata = self.metadata.saturating_add(1);
            }
            Tag::Paragraph
            | Tag::BlockQuote(_)
            | Tag::HtmlBlock
            | Tag::List(_)
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.flush(),
            Tag::TableHead
            | Tag::TableRow
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. } => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
            }
            TagEnd::CodeBlock => {
                self.flush();
                self.code = false;
            }
            TagEnd::Item => {
                self.flush();
                self.items = self.items.saturating_sub(1);
            }
            TagEnd::TableCell => {
                if let Some(table) = &mut self.table {
                    let cell = std::mem::take(&mut table.cell);
                    table.cells.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    table.header = Some(std::mem::take(&mut table.cells));
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let cells = std::mem::take(&mut table.cells);
                    self.blocks.push_row(table.header.as_deref(), &cells);
                    table.rows = table.rows.saturating_add(1);
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take()
                    && table.rows == 0
                    && let Some(header) = table.header
                {
                    // A table with a header only: the header is its content.
                    self.blocks.push_row(None, &header);
                }
            }
            TagEnd::MetadataBlock(_) => {
                self.metadata = self.metadata.saturating_sub(1);
            }
            TagEnd::Paragraph
            | TagEnd::BlockQuote(_)
            | TagEnd::HtmlBlock
            | TagEnd::List(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.flush(),
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image => {}
        }
    }
}

/// The text of raw HTML with its tags (and comments) removed, tags replaced by spaces.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                out.push(' ');
            }
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str) -> Vec<(BlockKind, String)> {
        extract(text)
            .into_iter()
            .map(|b| (b.kind, b.text))
            .collect()
    }

    #[test]
    fn structure() {
        let md = "---\ntitle: x\n---\n# Title\n\nSome *text*\nover lines.\n\n## Sub\n\n\
                  - one\n- two\n  - nested\n\n```rust\nfn main() {\n    x();\n}\n```\n\n\
                  | Name | Age |\n|---|---|\n| Ada | 36 |\n| Bob |  |\n\n\
                  <div>\n<b>raw</b> html\n</div>\n";
        let got = blocks(md);
        let want = vec![
            (BlockKind::Heading(1), "Title".to_owned()),
            (BlockKind::Paragraph, "Some text over lines.".to_owned()),
            (BlockKind::Heading(2), "Sub".to_owned()),
            (BlockKind::ListItem, "one".to_owned()),
            (BlockKind::ListItem, "two".to_owned()),
            (BlockKind::ListItem, "nested".to_owned()),
            (BlockKind::Code, "fn main() {\n    x();\n}".to_owned()),
            (BlockKind::TableRow, "Name: Ada; Age: 36".to_owned()),
            (BlockKind::TableRow, "Name: Bob".to_owned()),
            (BlockKind::Paragraph, "raw html".to_owned()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn header_only_table_and_tasks() {
        let got = blocks("| a | b |\n|---|---|\n\n- [x] done\n- [ ] todo\n");
        assert_eq!(
            got,
            vec![
                (BlockKind::TableRow, "a; b".to_owned()),
                (BlockKind::ListItem, "[x] done".to_owned()),
                (BlockKind::ListItem, "[ ] todo".to_owned()),
            ]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let quotes = ">".repeat(100_000) + " deep";
        assert!(!extract(&quotes).is_empty());
        let lists: String = (0..5_000)
            .map(|i| format!("{}- x\n", "  ".repeat(i)))
            .collect();
        assert!(!extract(&lists).is_empty());
        let brackets = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(!extract(&brackets).is_empty());
        let emphasis = "*a ".repeat(50_000);
        assert!(!extract(&emphasis).is_empty());
    }
}
