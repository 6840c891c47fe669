//! Blocks to chunks of bounded size, each with the headings it sits under.

use crate::text::inline;
use crate::{Block, BlockKind, Chunk};

/// The smallest chunk size honoured: below it a heading path and a word hardly fit.
const MIN_SIZE: usize = 16;
/// Separator of the headings in a chunk's first line.
const PATH_SEPARATOR: &str = " > ";

/// Packs blocks into chunks of at most `size` characters (chars, never bytes; sizes below 16
/// count as 16), repeating about `overlap` characters from the end of the previous chunk of the
/// same section at the start of the next, at a word boundary when there is one.
///
/// A heading ends the chunk before it: sections are the unit readers think in, and a chunk
/// straddling two would be retrieved for either and answer neither. Each chunk's `text` starts
/// with the path of headings in force, joined by `" > "` on its own line (counted in the size;
/// a path longer than half the size is shortened, and then the innermost heading is also kept
/// in full as the section's first text), so that a chunk read alone still says what it is
/// about. A section with no text of its own (a heading followed by another of its level) gives
/// a chunk of its path, so that no heading is lost.
///
/// Blocks pack together in order and are never split unless one alone exceeds the room left by
/// the path: then it is cut at sentence ends, else at whitespace, else between characters.
/// Table rows pack several to a chunk under the same rule, so a row stays whole unless it alone
/// is too long. The result depends on the input only.
#[must_use]
pub fn chunk(blocks: &[Block], size: usize, overlap: usize) -> Vec<Chunk> {
    let mut chunker = Chunker::new(size.max(MIN_SIZE), overlap);
    for block in blocks {
        match block.kind {
            BlockKind::Heading(level) => chunker.heading(level, &block.text),
            BlockKind::Paragraph | BlockKind::ListItem | BlockKind::TableRow => {
                chunker.text(block.text.trim());
            }
            // Code keeps the indentation of its first line.
            BlockKind::Code => chunker.text(block.text.trim_end().trim_start_matches(['\n', '\r'])),
        }
    }
    chunker.finish()
}

struct Chunker {
    size: usize,
    overlap: usize,
    chunks: Vec<Chunk>,
    /// Headings in force, outermost first.
    headings: Vec<(u8, String)>,
    /// The path line of the current section ("" before the first heading).
    path: String,
    /// Characters left for text in a chunk of the current section.
    budget: usize,
    /// The text of the chunk being filled, and its length in chars.
    body: String,
    body_chars: usize,
    /// The text of the previous chunk of this section (the source of the overlap).
    previous: Option<String>,
    /// Whether the current section gave a chunk yet.
    emitted: bool,
}

impl Chunker {
    fn new(size: usize, overlap: usize) -> Self {
        Chunker {
            size,
            overlap,
            chunks: Vec::new(),
            headings: Vec::new(),
            path: String::new(),
            budget: size,
            body: String::new(),
            body_chars: 0,
            previous: None,
            emitted: false,
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        let text = inline(text);
        if text.is_empty() {
            return;
        }
        self.emit();
        // A section without text, left for one of its level or higher: its path is its text.
        let replaces_innermost = self.headings.last().is_some_and(|(l, _)| level <= *l);
        // Or left for a sub-heading whose path will be shortened: the shortened path would
        // lose this heading's last words, so its own path is kept as a chunk.
        let child_shortens = !self.headings.is_empty()
            && !replaces_innermost
            && self
                .path
                .chars()
                .count()
                .saturating_add(PATH_SEPARATOR.chars().count())
                .saturating_add(text.chars().count())
                > self.size / 2;
        if !self.emitted && (replaces_innermost || child_shortens) {
            self.chunks.push(Chunk {
                text: self.path.clone(),
                headings: self.heading_texts(),
            });
        }
        while self.headings.last().is_some_and(|(l, _)| *l >= level) {
            self.headings.pop();
        }
        self.headings.push((level, text));
        self.start_section();
    }

    fn start_section(&mut self) {
        let full = self
            .headings
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join(PATH_SEPARATOR);
        let cap = self.size / 2;
        let truncated = full.chars().count() > cap;
        self.path = if truncated {
            let mut short: String = full.chars().take(cap.saturating_sub(1)).collect();
            short.push('…');
            short
        } else {
            full
        };
        let path_chars = self.path.chars().count();
        self.budget = if path_chars == 0 {
            self.size
        } else {
            self.size
                .saturating_sub(path_chars.saturating_add(1))
                .max(1)
        };
        self.previous = None;
        self.emitted = false;
        if truncated && let Some((_, innermost)) = self.headings.last() {
            let innermost = innermost.clone();
            self.text(&innermost);
        }
    }

    fn heading_texts(&self) -> Vec<String> {
        self.headings.iter().map(|(_, text)| text.clone()).collect()
    }

    /// The overlap that still leaves room for a piece of text after it.
    fn effective_overlap(&self) -> usize {
        self.overlap.min(self.budget / 2)
    }

    fn text(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let chars = text.chars().count();
        if chars <= self.budget {
            self.add(text, chars, false);
            return;
        }
        // Too long for any chunk: pieces short enough to follow an overlap.
        let overlap = self.effective_overlap();
        let max = if overlap == 0 {
            self.budget
        } else {
            self.budget.saturating_sub(overlap.saturating_add(1)).max(1)
        };
        for (index, piece) in split(text, max).into_iter().enumerate() {
            let chars = piece.chars().count();
            self.add(&piece, chars, index > 0);
        }
    }

    /// Adds a piece of at most `budget` chars; `continued` when it continues the previous
    /// piece's block (joined by a space rather than a line break).
    fn add(&mut self, piece: &str, chars: usize, continued: bool) {
        let separator = if continued { ' ' } else { '\n' };
        if self.body.is_empty() {
            self.start_body(piece, chars, separator);
        } else if self.body_chars.saturating_add(1).saturating_add(chars) <= self.budget {
            self.body.push(separator);
            self.body.push_str(piece);
            self.body_chars = self.body_chars.saturating_add(1).saturating_add(chars);
        } else {
            self.emit();
            self.start_body(piece, chars, separator);
        }
    }

    /// Starts a chunk's text with the overlap from the previous chunk, as much of it as fits.
    fn start_body(&mut self, piece: &str, chars: usize, separator: char) {
        let room = self.budget.saturating_sub(chars.saturating_add(1));
        let wanted = self.effective_overlap().min(room);
        if let Some(tail) = self.previous.as_deref().and_then(|p| tail(p, wanted)) {
            self.body_chars = tail.chars().count().saturating_add(1).saturating_add(chars);
            self.body = tail;
            self.body.push(separator);
            self.body.push_str(piece);
        } else {
            self.body = piece.to_owned();
            self.body_chars = chars;
        }
    }

    /// Ends the chunk being filled (nothing happens when it is empty).
    fn emit(&mut self) {
        if self.body.is_empty() {
            return;
        }
        let body = std::mem::take(&mut self.body);
        self.body_chars = 0;
        let text = if self.path.is_empty() {
            body.clone()
        } else {
            format!("{}\n{body}", self.path)
        };
        self.chunks.push(Chunk {
            text,
            headings: self.heading_texts(),
        });
        self.previous = Some(body);
        self.emitted = true;
    }

    fn finish(mut self) -> Vec<Chunk> {
        self.emit();
        if !self.emitted && !self.path.is_empty() {
            self.chunks.push(Chunk {
                text: self.path.clone(),
                headings: self.heading_texts(),
            });
        }
        self.chunks
    }
}

/// The last `n` chars of `text`, starting at a word boundary when the tail has one.
fn tail(text: &str, n: usize) -> Option<String> {
    if n == 0 {
        return None;
    }
    let total = text.chars().count();
    let skip = total.saturating_sub(n);
    let start = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
    let tail = text.get(start..).unwrap_or_default();
    let at_boundary = text
        .get(..start)
        .and_then(|before| before.chars().next_back())
        .is_none_or(char::is_whitespace);
    let tail = if at_boundary {
        tail
    } else {
        match tail.char_indices().find(|(_, c)| c.is_whitespace()) {
            Some((i, _)) => tail.get(i..).unwrap_or(tail),
            None => tail,
        }
    };
    let tail = tail.trim();
    (!tail.is_empty()).then(|| tail.to_owned())
}

/// Cuts text into pieces of at most `max` chars: at the last sentence end that leaves the piece
/// at least half full, else at the last whitespace, else between characters.
fn split(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let count = chars.len();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let is_space = |i: usize| chars.get(i).is_some_and(|(_, c)| c.is_whitespace());
    let mut pieces = Vec::new();
    let mut start = 0usize;
    while start < count {
        while start < count && is_space(start) {
            start = start.saturating_add(1);
        }
        if start >= count {
            break;
        }
        let end = start.saturating_add(max);
        if end >= count {
            push_piece(&mut pieces, text.get(byte_at(start)..).unwrap_or_default());
            break;
        }
        // A cut at `p` ends the piece before char `p` (which is whitespace, or `end`).
        let mut sentence = None;
        let mut space = None;
        for p in (start.saturating_add(1)..=end).rev() {
            if !is_space(p) {
                continue;
            }
            if space.is_none() {
                space = Some(p);
            }
            let before = p.checked_sub(1).and_then(|i| chars.get(i)).map(|(_, c)| *c);
            let ends_sentence = matches!(before, Some('.' | '!' | '?' | '…' | '。' | '！' | '？'))
                || chars.get(p).is_some_and(|(_, c)| *c == '\n');
            if ends_sentence {
                sentence = Some(p);
                break;
            }
        }
        let half = start.saturating_add(max / 2);
        let cut = match (sentence, space) {
            (Some(s), _) if s >= half => s,
            (_, Some(w)) => w,
            (Some(s), None) => s,
            (None, None) => end,
        };
        push_piece(
            &mut pieces,
            text.get(byte_at(start)..byte_at(cut)).unwrap_or_default(),
        );
        start = cut;
    }
    pieces
}

fn push_piece(pieces: &mut Vec<String>, piece: &str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        pieces.push(piece.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heading(level: u8, text: &str) -> Block {
        Block::new(BlockKind::Heading(level), text)
    }
    fn para(text: &str) -> Block {
        Block::new(BlockKind::Paragraph, text)
    }
    fn row(text: &str) -> Block {
        Block::new(BlockKind::TableRow, text)
    }
    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn sections_and_paths() {
        let blocks = vec![
            para("Preface."),
            heading(1, "Install"),
            para("Get it."),
            heading(2, "Linux"),
            para("apt install."),
            heading(2, "Mac"),
            heading(1, "Use"),
            para("Run it."),
        ];
        let chunks = chunk(&blocks, 100, 0);
        assert_eq!(
            texts(&chunks),
            vec![
                "Preface.",
                "Install\nGet it.",
                "Install > Linux\napt install.",
                "Install > Mac",
                "Use\nRun it."
            ]
        );
        assert_eq!(chunks[2].headings, vec!["Install", "Linux"]);
        assert!(chunks[0].headings.is_empty());
    }

    #[test]
    fn blocks_pack_and_rows_stay_whole() {
        let blocks = vec![row("a: 1; b: 2"), row("a: 3; b: 4"), row("a: 5; b: 6")];
        let chunks = chunk(&blocks, 22, 0);
        assert_eq!(texts(&chunks), vec!["a: 1; b: 2\na: 3; b: 4", "a: 5; b: 6"]);
    }

    #[test]
    fn long_blocks_split_at_sentences_then_words() {
        let text = "One two three. Four five six seven. Eight nine ten eleven twelve.";
        let chunks = chunk(&[para(text)], 40, 0);
        assert_eq!(
            texts(&chunks),
            vec![
                "One two three. Four five six seven.",
                "Eight nine ten eleven twelve."
            ]
        );
        let chunks = chunk(&[para("abcdefghijklmnopqrstuvwxyz0123456789")], 16, 0);
        assert_eq!(
            texts(&chunks),
            vec!["abcdefghijklmnop", "qrstuvwxyz012345", "6789"]
        );
        let chunks = chunk(&[para("é".repeat(40).as_str())], 0, 0);
        assert!(chunks.iter().all(|c| c.text.chars().count() <= 16));
    }

    #[test]
    fn overlap_repeats_the_previous_end_at_a_word() {
        let text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
        let chunks = chunk(&[para(text)], 40, 12);
        assert!(chunks.len() > 1);
        for pair in chunks.windows(2) {
            let last_word = pair[0].text.split_whitespace().last().unwrap_or_default();
            assert!(pair[1].text.starts_with(last_word) || pair[1].text.contains(last_word));
        }
        for c in &chunks {
            assert!(c.text.chars().count() <= 40, "{c:?}");
            assert!(!c.text.starts_with(' '));
        }
        // Overlap never crosses a section boundary.
        let chunks = chunk(&[para("aaa bbb"), heading(1, "H"), para("ccc")], 16, 5);
        assert_eq!(texts(&chunks), vec!["aaa bbb", "H\nccc"]);
    }

    #[test]
    fn long_paths_are_shortened_and_kept_as_text() {
        let long = "word ".repeat(10);
        let chunks = chunk(&[heading(1, &long), para("body")], 20, 0);
        assert_eq!(chunks[0].text.lines().next(), Some("word word…"));
        assert!(chunks.iter().all(|c| c.text.chars().count() <= 20));
        let all: String = texts(&chunks).join(" ");
        assert!(all.split_whitespace().filter(|w| *w == "word").count() >= 10);
    }

    #[test]
    fn headings_alone_still_give_chunks() {
        let chunks = chunk(&[heading(1, "A"), heading(1, "B")], 100, 0);
        assert_eq!(texts(&chunks), vec!["A", "B"]);
        assert!(chunk(&[], 100, 0).is_empty());
        assert!(chunk(&[para("  ")], 100, 0).is_empty());
    }

    #[test]
    fn code_keeps_its_indentation() {
        let code = Block::new(BlockKind::Code, "\n    indented();\n  back();\n");
        assert_eq!(
            texts(&chunk(&[code], 100, 0)),
            vec!["    indented();\n  back();"]
        );
    }

    #[test]
    fn tails() {
        assert_eq!(tail("hello brave new world", 8).as_deref(), Some("world"));
        assert_eq!(
            tail("hello brave new world", 9).as_deref(),
            Some("new world")
        );
        assert_eq!(
            tail("hello brave new world", 10).as_deref(),
            Some("new world")
        );
        assert_eq!(tail("abcdef", 3).as_deref(), Some("def"));
        assert_eq!(tail("abc", 0), None);
        assert_eq!(tail("abc", 10).as_deref(), Some("abc"));
    }
}
