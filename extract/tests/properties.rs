//! Properties: no input panics the readers, and chunks keep their promises on any blocks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use aerie_extract::{Block, BlockKind, Chunk, Kind, chunk, extract, read};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

const KINDS: [Kind; 7] = [
    Kind::Text,
    Kind::Markdown,
    Kind::Html,
    Kind::Pdf,
    Kind::Docx,
    Kind::Csv,
    Kind::Json,
];

/// Text made of HTML, Markdown, CSV and JSON punctuation, to reach deeper into the parsers
/// than uniformly random characters do.
fn markup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "</?(p|div|h[1-7]|li|ul|table|tr|td|th|thead|pre|script|style|nav|head|body|br|svg)>",
            "[<>/!&;#=\"' a-z\n\t-]{0,6}",
            "(#{1,7} |[-*+] |> |\\| |```|---\n|\\[|\\]|\\(|\\)|[,;\t{}\\[\\]:\"]|\n\n)",
            "&(amp|lt|#x[0-9a-f]{1,8}|#[0-9]{1,9}|bogus);?",
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

fn block_kind() -> impl Strategy<Value = BlockKind> {
    prop_oneof![
        (0u8..=7).prop_map(BlockKind::Heading),
        Just(BlockKind::Paragraph),
        Just(BlockKind::ListItem),
        Just(BlockKind::TableRow),
        Just(BlockKind::Code),
    ]
}

/// Blocks of any text at all.
fn any_blocks() -> impl Strategy<Value = Vec<Block>> {
    proptest::collection::vec(
        (block_kind(), any::<String>()).prop_map(|(kind, text)| Block::new(kind, text)),
        0..20,
    )
}

/// Blocks of words (ASCII and not) separated by assorted whitespace and sentence ends.
fn word_blocks() -> impl Strategy<Value = Vec<Block>> {
    let text = proptest::collection::vec(
        (
            "[a-zé0-9]{1,14}",
            prop_oneof![Just(" "), Just("\n"), Just(". "), Just("\t "), Just("! ")],
        ),
        0..60,
    )
    .prop_map(|words| {
        words
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    });
    proptest::collection::vec(
        (block_kind(), text).prop_map(|(k, t)| Block::new(k, t)),
        0..15,
    )
}

fn check_sizes(chunks: &[Chunk], size: usize) {
    let limit = size.max(16);
    for c in chunks {
        assert!(!c.text.trim().is_empty(), "empty chunk in {chunks:?}");
        assert!(
            c.text.chars().count() <= limit,
            "{} chars > {limit}: {c:?}",
            c.text.chars().count()
        );
    }
}

/// Whether `needles` appear in `haystack` in order (not necessarily next to each other).
fn in_order<T: PartialEq>(needles: impl IntoIterator<Item = T>, haystack: &[T]) -> bool {
    let mut rest = haystack.iter();
    needles.into_iter().all(|n| rest.any(|h| *h == n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn read_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        prefix in prop_oneof![
            Just(&b""[..]), Just(&b"%PDF-1.4\n"[..]), Just(&b"PK\x03\x04"[..]),
            Just(&b"<html>"[..]), Just(&b"{"[..]), Just(&b"\xEF\xBB\xBF"[..]),
            Just(&b"\xFF\xFE"[..]),
        ],
        name in prop_oneof![Just("a.txt"), Just("a.md"), Just("a.csv"), Just("a.pdf"), Just("a")],
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        let _ = read(&input, name);
        for kind in KINDS {
            let _ = extract(kind, &input);
        }
    }

    #[test]
    fn markup_never_panics(text in markup()) {
        for name in ["a.html", "a.md", "a.csv", "a.json", "a.txt"] {
            if let Ok((_, blocks)) = read(text.as_bytes(), name) {
                prop_assert!(blocks.iter().all(|b| !b.text.trim().is_empty()));
            }
        }
        for kind in KINDS {
            let _ = extract(kind, text.as_bytes());
        }
    }

    #[test]
    fn damaged_fixtures_never_panic(
        name in prop_oneof![Just("heron.pdf"), Just("orchard.docx")],
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = fixture(name);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = read(&bytes, name);
        let end = cut.index(bytes.len());
        let _ = read(&bytes[..end], name);
    }

    #[test]
    fn chunks_respect_size_on_any_blocks(
        blocks in any_blocks(),
        size in 0usize..300,
        overlap in 0usize..400,
    ) {
        let chunks = chunk(&blocks, size, overlap);
        check_sizes(&chunks, size);
        prop_assert_eq!(chunk(&blocks, size, overlap), chunks);
    }

    #[test]
    fn chunks_keep_every_word_in_order(blocks in word_blocks(), size in 0usize..200) {
        let chunks = chunk(&blocks, size, 0);
        check_sizes(&chunks, size);
        let limit = size.max(16);
        // Words at most this long are never cut (the room for text is at least half a chunk).
        let whole = limit.div_ceil(2) - 1;
        let chunk_words: Vec<&str> =
            chunks.iter().flat_map(|c| c.text.split_whitespace()).collect();
        let input_words: Vec<&str> = blocks
            .iter()
            .flat_map(|b| b.text.split_whitespace())
            .filter(|w| w.chars().count() <= whole)
            .collect();
        prop_assert!(
            in_order(input_words.iter().copied(), &chunk_words),
            "words lost: {:?} -> {:?}", blocks, chunks
        );
        // And no character at all is lost, whatever the word lengths.
        let chunk_chars: Vec<char> =
            chunks.iter().flat_map(|c| c.text.chars()).filter(|c| !c.is_whitespace()).collect();
        let input_chars = blocks.iter().flat_map(|b| b.text.chars()).filter(|c| !c.is_whitespace());
        prop_assert!(in_order(input_chars, &chunk_chars));
    }

    #[test]
    fn overlap_never_breaks_the_size(blocks in word_blocks(), size in 0usize..200, overlap in 0usize..200) {
        let chunks = chunk(&blocks, size, overlap);
        check_sizes(&chunks, size);
    }
}
