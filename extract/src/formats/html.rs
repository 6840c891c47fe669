//! HTML with html5ever's tokenizer.
//!
//! The tokenizer is the browser-grade part (entities, raw text of scripts and styles, broken
//! markup); the block structure is then read from the token stream with explicit stacks, never
//! recursion, so that deeply nested markup costs memory linear in its size and nothing more.
//! Unclosed elements are forgiven the way readers expect: any block-level tag ends the text
//! before it.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::text::Blocks;
use crate::{Block, BlockKind};

/// Open elements remembered at most (deeper ones are read as their parent's text).
const MAX_DEPTH: usize = 512;
/// Nested tables remembered at most.
const MAX_TABLES: usize = 64;
/// The tokenizer's buffers hold at most 4 GiB each: the input is fed in pieces of this size.
const PIECE: usize = 1 << 20;

/// The blocks of an HTML page: headings (h1–h6), paragraphs, list items, table rows (named by
/// the header row), preformatted text; the text of other elements as paragraphs. Scripts,
/// styles, navigation and the document head are left out.
pub(crate) fn extract(text: &str) -> Vec<Block> {
    let queue = BufferQueue::default();
    for piece in pieces(text, PIECE) {
        queue.push_back(StrTendril::from_slice(piece));
    }
    let tokenizer = Tokenizer::new(
        Sink {
            state: RefCell::new(State::default()),
        },
        TokenizerOpts::default(),
    );
    // The sink never asks to pause for a script, so one feed reads everything; the loop is a
    // guard, bounded by the input's size.
    for _ in 0..=text.len() {
        if queue.is_empty() {
            break;
        }
        let _ = tokenizer.feed(&queue);
    }
    tokenizer.end();
    let state = tokenizer.sink.state.into_inner();
    state.finish()
}

/// `text` in pieces of at most `size` bytes, cut at char boundaries.
fn pieces(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while cut < rest.len() && !rest.is_char_boundary(cut) {
            cut = cut.saturating_add(1);
        }
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    out
}

struct Sink {
    state: RefCell<State>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match self.state.try_borrow_mut() {
            Ok(mut state) => state.token(token),
            Err(_) => TokenSinkResult::Continue,
        }
    }
}

/// What an element is to the reader.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Its content is left out.
    Skip,
    /// Ends the text before it; its own text is a block of this kind.
    Block(BlockKind),
    /// A table part.
    Table,
    Row,
    Cell {
        header: bool,
    },
    Section,
    /// A line break.
    Break,
    /// Inline: its text joins the surrounding block.
    Inline,
}

fn role(name: &str) -> Role {
    match name {
        "script" | "style" | "nav" | "noscript" | "template" | "head" | "title" | "svg"
        | "math" | "iframe" | "object" | "select" | "textarea" | "noembed" | "noframes" => {
            Role::Skip
        }
        "h1" => Role::Block(BlockKind::Heading(1)),
        "h2" => Role::Block(BlockKind::Heading(2)),
        "h3" => Role::Block(BlockKind::Heading(3)),
        "h4" => Role::Block(BlockKind::Heading(4)),
        "h5" => Role::Block(BlockKind::Heading(5)),
        "h6" => Role::Block(BlockKind::Heading(6)),
        "li" | "dt" | "dd" => Role::Block(BlockKind::ListItem),
        "pre" | "listing" | "xmp" | "plaintext" => Role::Block(BlockKind::Code),
        "p" | "div" | "section" | "article" | "main" | "header" | "footer" | "aside"
        | "blockquote" | "figure" | "figcaption" | "address" | "details" | "summary" | "form"
        | "fieldset" | "legend" | "dl" | "ul" | "ol" | "menu" | "center" | "caption" | "body"
        | "html" | "hgroup" | "search" | "dialog" | "option" | "label" => {
            Role::Block(BlockKind::Paragraph)
        }
        "table" => Role::Table,
        "tr" => Role::Row,
        "td" => Role::Cell { header: false },
        "th" => Role::Cell { header: true },
        "thead" | "tbody" | "tfoot" => Role::Section,
        "br" | "hr" => Role::Break,
        _ => Role::Inline,
    }
}

/// Elements that never have content (a start tag is all there is).
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Elements whose content the tokenizer must read as raw text, not markup.
fn raw_kind(name: &str) -> Option<TokenSinkResult<()>> {
    match name {
        "script" => Some(TokenSinkResult::RawData(RawKind::ScriptData)),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
            Some(TokenSinkResult::RawData(RawKind::Rawtext))
        }
        "title" | "textarea" => Some(TokenSinkResult::RawData(RawKind::Rcdata)),
        "plaintext" => Some(TokenSinkResult::Plaintext),
        _ => None,
    }
}

/// Elements that may appear in a document head (an unclosed `<head>` ends at any other).
fn in_head(name: &str) -> bool {
    matches!(
        name,
        "meta" | "link" | "title" | "style" | "script" | "base" | "noscript" | "template"
    )
}

#[derive(Default)]
struct Table {
    header: Option<Vec<String>>,
    cells: Vec<String>,
    /// The cell being read, if any.
    cell: Option<String>,
    row_open: bool,
    /// Every cell of the row so far is a `th`.
    row_all_th: bool,
    in_thead: bool,
    rows: usize,
}

#[derive(Default)]
struct State {
    blocks: Blocks,
    text: String,
    /// Open block elements, innermost last.
    open: Vec<(String, BlockKind)>,
    /// Open skipped elements, innermost last.
    skip: Vec<String>,
    tables: Vec<Table>,
}

impl State {
    fn token(&mut self, token: Token) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => return self.tag(&tag),
            Token::CharacterTokens(text) => self.push_text(&text),
            Token::NullCharacterToken
            | Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::EOFToken
            | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }

    fn tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let start = tag.kind == TagKind::StartTag;
        let raw = if start { raw_kind(name) } else { None };
        let is_raw = raw.is_some();
        let result = raw.unwrap_or(TokenSinkResult::Continue);

        // An unclosed <head> ends at the first element that cannot be in it.
        if start && self.skip.last().is_some_and(|s| s == "head") && !in_head(name) {
            self.skip.pop();
        }
        let role = role(name);
        if !self.skip.is_empty() {
            if start && role == Role::Skip && !tag.self_closing {
                if self.skip.len() < MAX_DEPTH {
                    self.skip.push(name.to_owned());
                }
            } else if !start && let Some(at) = self.skip.iter().rposition(|s| s == name) {
                self.skip.truncate(at);
            }
            return result;
        }

        match (role, start) {
            (Role::Skip, true) => {
                if !tag.self_closing || is_raw {
                    self.skip.push(name.to_owned());
                }
            }
            (Role::Skip, false) => {}
            (Role::Block(kind), true) => {
                self.boundary();
                if !tag.self_closing && self.open.len() < MAX_DEPTH {
                    self.open.push((name.to_owned(), kind));
                }
            }
            (Role::Block(_), false) => {
                self.boundary();
                if let Some(at) = self.open.iter().rposition(|(n, _)| n == name) {
                    self.open.truncate(at);
                }
            }
            (Role::Break, _) => {
                if start {
                    self.push_text("\n");
                }
            }
            (Role::Table, true) => {
                self.boundary();
                if self.tables.len() < MAX_TABLES {
                    self.tables.push(Table::default());
                }
            }
            (Role::Table, false) => self.end_table(),
            (Role::Section, true) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_row(&mut self.blocks, table);
                    table.in_thead = name == "thead";
                }
            }
            (Role::Section, false) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_row(&mut self.blocks, table);
                    table.in_thead = false;
                }
            }
            (Role::Row, true) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_row(&mut self.blocks, table);
                    table.row_open = true;
                    table.row_all_th = true;
                }
            }
            (Role::Row, false) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_row(&mut self.blocks, table);
                }
            }
            (Role::Cell { header }, true) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_cell(table);
                    if !table.row_open {
                        table.row_open = true;
                        table.row_all_th = true;
                    }
                    table.row_all_th &= header;
                    table.cell = Some(String::new());
                } else {
                    // A cell outside any table: its text is a paragraph.
                    self.boundary();
                }
            }
            (Role::Cell { .. }, false) => {
                if let Some(table) = self.tables.last_mut() {
                    Self::end_cell(table);
                } else {
                    self.boundary();
                }
            }
            (Role::Inline, _) => {
                if start && is_void(name) {
                    // <img>, <input>: a word boundary at most.
                    self.push_text(" ");
                }
            }
        }
        result
    }

    /// Text goes to the open table cell, else to the block being read.
    fn push_text(&mut self, text: &str) {
        if !self.skip.is_empty() {
            return;
        }
        if let Some(Table {
            cell: Some(cell), ..
        }) = self.tables.last_mut()
        {
            cell.push_str(text);
        } else {
            self.text.push_str(text);
        }
    }

    /// A block boundary: inside a table cell only a space; elsewhere the text read so far
    /// becomes a block.
    fn boundary(&mut self) {
        if let Some(Table {
            cell: Some(cell), ..
        }) = self.tables.last_mut()
        {
            cell.push(' ');
            return;
        }
        if !self.text.is_empty() {
            let kind = self
                .open
                .last()
                .map_or(BlockKind::Paragraph, |(_, kind)| *kind);
            self.blocks.push(kind, &self.text);
            self.text.clear();
        }
    }

    fn end_cell(table: &mut Table) {
        if let Some(cell) = table.cell.take() {
            table.cells.push(cell);
        }
    }

    /// Ends the open row: the first row of `th`s (or the rows of a `thead`) names the columns,
    /// the others become blocks.
    fn end_row(blocks: &mut Blocks, table: &mut Table) {
        Self::end_cell(table);
        if !table.row_open {
            return;
        }
        table.row_open = false;
        let cells = std::mem::take(&mut table.cells);
        if cells.iter().all(|c| c.trim().is_empty()) {
            return;
        }
        if table.header.is_none() && table.rows == 0 && (table.in_thead || table.row_all_th) {
            table.header = Some(cells);
        } else {
            blocks.push_row(table.header.as_deref(), &cells);
            table.rows = table.rows.saturating_add(1);
        }
    }

    fn end_table(&mut self) {
        if let Some(mut table) = self.tables.pop() {
            Self::end_row(&mut self.blocks, &mut table);
            if table.rows == 0
                && let Some(header) = &table.header
            {
                self.blocks.push_row(None, header);
            }
        }
    }

    fn finish(mut self) -> Vec<Block> {
        while !self.tables.is_empty() {
            self.end_table();
        }
        self.skip.clear();
        self.boundary();
        self.blocks.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(html: &str) -> Vec<(BlockKind, String)> {
        extract(html)
            .into_iter()
            .map(|b| (b.kind, b.text))
            .collect()
    }

    #[test]
    fn structure() {
        let html = "<!DOCTYPE html><html><head><title>T</title><style>p{}</style>\
            <script>if (a < b) { document.write('<p>no</p>') }</script></head>\
            <body><nav><a href=/>Home</a></nav><h1>Main &amp; title</h1>\
            <p>First <b>bold</b>\n  text.<p>Second<br>line\
            <ul><li>one<li>two <i>x</i></ul><pre>\n  code\n    more\n</pre>\
            <table><tr><th>Name</th><th>Age</th></tr><tr><td>Ada</td><td><p>36</p></td></tr>\
            <tr><td>Bob<td></table><div>tail</div></body></html>";
        let want = vec![
            (BlockKind::Heading(1), "Main & title".to_owned()),
            (BlockKind::Paragraph, "First bold text.".to_owned()),
            (BlockKind::Paragraph, "Second line".to_owned()),
            (BlockKind::ListItem, "one".to_owned()),
            (BlockKind::ListItem, "two x".to_owned()),
            (BlockKind::Code, "  code\n    more".to_owned()),
            (BlockKind::TableRow, "Name: Ada; Age: 36".to_owned()),
            (BlockKind::TableRow, "Name: Bob".to_owned()),
            (BlockKind::Paragraph, "tail".to_owned()),
        ];
        assert_eq!(blocks(html), want);
    }

    #[test]
    fn unclosed_head_and_thead() {
        let html = "<head><meta charset=utf-8><title>x</title><p>body text\
            <table><thead><tr><td>k</td><td>v</td></tr></thead><tr><td>a</td><td>1</td></table>";
        assert_eq!(
            blocks(html),
            vec![
                (BlockKind::Paragraph, "body text".to_owned()),
                (BlockKind::TableRow, "k: a; v: 1".to_owned()),
            ]
        );
    }

    #[test]
    fn deep_nesting_and_garbage() {
        let deep = "<div>".repeat(200_000) + "deep" + &"</div>".repeat(200_000);
        assert_eq!(
            blocks(&deep),
            vec![(BlockKind::Paragraph, "deep".to_owned())]
        );
        let tables = "<table><tr><td>".repeat(10_000) + "cell";
        assert_eq!(
            blocks(&tables),
            vec![(BlockKind::TableRow, "cell".to_owned())]
        );
        assert!(blocks("<<<>>><</ a <! -- &#xFFFFFFFF; &bogus; <script>").len() <= 1);
        let big = "<p>".to_owned() + &"é".repeat(3 << 19);
        assert_eq!(extract(&big).len(), 1);
    }

    #[test]
    fn pieces_cut_at_char_boundaries() {
        let text = "aé".repeat(10);
        let parts = pieces(&text, 4);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| p.len() <= 5 && !p.is_empty()));
    }
}
