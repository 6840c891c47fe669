//! Each format read from a real file (tests/fixtures, see make_fixtures.py), then chunked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use aerie_extract::{Block, BlockKind, ExtractError, Kind, chunk, read};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pairs(blocks: &[Block]) -> Vec<(BlockKind, &str)> {
    blocks.iter().map(|b| (b.kind, b.text.as_str())).collect()
}

#[test]
fn pdf_pages_and_paragraphs() {
    let (kind, blocks) = read(&fixture("heron.pdf"), "heron.pdf").unwrap();
    assert_eq!(kind, Kind::Pdf);
    let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "The Aerie Heron",
            "The Aerie heron migrates along the northern coast in autumn, resting in the salt \
             marshes of Kestrel Point before it crosses the strait.",
            "Volunteers count the herons every October from the old lighthouse at Kestrel Point.",
            "Winter Grounds",
            "In winter the herons wade through the warm estuaries of the southern delta, where \
             the shallow water never freezes.",
        ]
    );
    assert!(blocks.iter().all(|b| b.kind == BlockKind::Paragraph));
    // The name does not matter: the content is a PDF.
    assert_eq!(
        read(&fixture("heron.pdf"), "notes.txt").unwrap().0,
        Kind::Pdf
    );
}

#[test]
fn docx_headings_paragraphs_lists_tables() {
    let (kind, blocks) = read(&fixture("orchard.docx"), "orchard.docx").unwrap();
    assert_eq!(kind, Kind::Docx);
    assert_eq!(
        pairs(&blocks),
        vec![
            (BlockKind::Heading(1), "Orchard Survey"),
            (
                BlockKind::Paragraph,
                "The quince orchard at Hollow Farm yields forty baskets of golden quinces each \
                 harvest."
            ),
            (
                BlockKind::Paragraph,
                "Frost in late April is the main risk; the growers light smudge pots along the \
                 rows."
            ),
            (BlockKind::Heading(2), "Varieties"),
            (BlockKind::ListItem, "Vranja ripens first."),
            (BlockKind::ListItem, "Meech's Prolific keeps longest."),
            (
                BlockKind::TableRow,
                "Variety: Vranja; Trees: 12; Baskets: 18"
            ),
            (
                BlockKind::TableRow,
                "Variety: Meech's Prolific; Trees: 9; Baskets: 22"
            ),
        ]
    );
}

#[test]
fn markdown_structure() {
    let (kind, blocks) = read(&fixture("lantern-festival.md"), "lantern-festival.md").unwrap();
    assert_eq!(kind, Kind::Markdown);
    assert_eq!(
        pairs(&blocks),
        vec![
            (BlockKind::Heading(1), "The Juniper Lantern Festival"),
            (
                BlockKind::Paragraph,
                "The Juniper Lantern Festival lights the mountain village of Velmora every \
                 spring, when three thousand paper lanterns float down the Silvertarn river at \
                 dusk."
            ),
            (BlockKind::Heading(2), "History"),
            (
                BlockKind::Paragraph,
                "The festival began in 1764, after a miller's daughter guided lost shepherds \
                 home through a blizzard with a lantern of juniper wood."
            ),
            (BlockKind::Heading(2), "Programme"),
            (
                BlockKind::ListItem,
                "Lantern folding workshops in the old granary"
            ),
            (
                BlockKind::ListItem,
                "The night procession from the chapel to the river"
            ),
            (
                BlockKind::ListItem,
                "Juniper tea and honey cakes on the bridge"
            ),
            (
                BlockKind::TableRow,
                "Day: Friday; Event: Lantern folding; Starts: 10:00"
            ),
            (
                BlockKind::TableRow,
                "Day: Saturday; Event: Night procession; Starts: 20:30"
            ),
            (BlockKind::Heading(2), "Making a lantern"),
            (
                BlockKind::Code,
                "fold the paper in half\nglue the juniper frame"
            ),
        ]
    );
}

#[test]
fn html_structure() {
    let (kind, blocks) = read(&fixture("tidepool.html"), "tidepool.html").unwrap();
    assert_eq!(kind, Kind::Html);
    assert_eq!(
        pairs(&blocks),
        vec![
            (BlockKind::Heading(1), "Tidepool Observatory"),
            (
                BlockKind::Paragraph,
                "The Tidepool Observatory at Marrow Cove records the purple sea urchins that \
                 graze the kelp twice a day, at every low tide."
            ),
            (BlockKind::Heading(2), "Opening hours"),
            (BlockKind::ListItem, "Weekdays from 9:00 to 17:00"),
            (BlockKind::ListItem, "Weekends by appointment"),
            (
                BlockKind::TableRow,
                "Species: Purple sea urchin; Count: 412"
            ),
            (BlockKind::TableRow, "Species: Ochre sea star; Count: 37"),
            (BlockKind::Code, "tide  height\nlow   0.3 m"),
        ]
    );
}

#[test]
fn csv_rows() {
    let (kind, blocks) = read(&fixture("lighthouses.csv"), "lighthouses.csv").unwrap();
    assert_eq!(kind, Kind::Csv);
    assert_eq!(
        pairs(&blocks),
        vec![
            (
                BlockKind::TableRow,
                "name: Kestrel Point; county: Northmoor; lit: 1858; height_m: 31"
            ),
            (
                BlockKind::TableRow,
                "name: Gannet Rock; county: Saltmere; lit: 1902; height_m: 24"
            ),
            (
                BlockKind::TableRow,
                "name: Harrow Head, East; county: Saltmere; lit: 1877; height_m: 19"
            ),
        ]
    );
}

#[test]
fn json_sections_and_records() {
    let (kind, blocks) = read(&fixture("ferries.json"), "ferries.json").unwrap();
    assert_eq!(kind, Kind::Json);
    assert_eq!(
        pairs(&blocks),
        vec![
            (
                BlockKind::Paragraph,
                "operator: Saltmere Ferry Company; founded: 1921"
            ),
            (BlockKind::Heading(1), "routes"),
            (
                BlockKind::TableRow,
                "from: Kestrel Point; to: Gannet Rock; minutes: 35; days: Mon, Wed, Fri"
            ),
            (
                BlockKind::TableRow,
                "from: Gannet Rock; to: Harrow Head; minutes: 50; vessel.name: Marram; \
                 vessel.seats: 120"
            ),
            (BlockKind::Heading(1), "contact"),
            (
                BlockKind::Paragraph,
                "phone: +44 1632 960 111; office: Harbour Street 4"
            ),
        ]
    );
}

#[test]
fn refusals() {
    let corrupt = read(&fixture("truncated.pdf"), "heron.pdf");
    assert!(
        matches!(corrupt, Err(ExtractError::Corrupt(_))),
        "{corrupt:?}"
    );
    let png = read(&fixture("pixel.png"), "pixel.png");
    assert!(matches!(png, Err(ExtractError::Unsupported(_))), "{png:?}");
    let zip = read(&fixture("archive.zip"), "archive.docx");
    assert!(matches!(zip, Err(ExtractError::Unsupported(_))), "{zip:?}");
    assert_eq!(
        read(&fixture("empty.txt"), "empty.txt"),
        Err(ExtractError::Empty)
    );
    assert_eq!(read(b" \n\t\n", "blank.md"), Err(ExtractError::Empty));
    // A truncated .docx is damaged, not of another type.
    let docx = fixture("orchard.docx");
    let cut = read(&docx[..docx.len() / 2], "orchard.docx");
    assert!(matches!(cut, Err(ExtractError::Corrupt(_))), "{cut:?}");
}

#[test]
fn messages_are_sentences_for_the_uploader() {
    let Err(ExtractError::Unsupported(message)) = read(&fixture("pixel.png"), "a.png") else {
        panic!("not refused");
    };
    assert_eq!(
        message,
        "it is an image, not a supported type (plain text, Markdown, HTML, PDF, DOCX, CSV or JSON)"
    );
    assert_eq!(ExtractError::Empty.to_string(), "it contains no text");
}

#[test]
fn chunks_carry_their_headings() {
    let (_, blocks) = read(&fixture("lantern-festival.md"), "lantern-festival.md").unwrap();
    let chunks = chunk(&blocks, 120, 20);
    assert!(chunks.iter().all(|c| c.text.chars().count() <= 120));
    let programme: Vec<_> = chunks
        .iter()
        .filter(|c| c.headings.last().is_some_and(|h| h == "Programme"))
        .collect();
    assert!(!programme.is_empty());
    for c in &programme {
        assert_eq!(
            c.headings,
            vec!["The Juniper Lantern Festival", "Programme"]
        );
        assert!(
            c.text
                .starts_with("The Juniper Lantern Festival > Programme\n"),
            "{c:?}"
        );
    }
    let (_, blocks) = read(&fixture("heron.pdf"), "heron.pdf").unwrap();
    let chunks = chunk(&blocks, 800, 100);
    assert_eq!(chunks.len(), 1);
    assert!(
        chunks[0]
            .text
            .contains("migrates along the northern coast in autumn")
    );
}

#[test]
fn media_types() {
    assert_eq!(Kind::Pdf.media_type(), "application/pdf");
    assert_eq!(
        Kind::Docx.media_type(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(Kind::Markdown.media_type(), "text/markdown");
    assert_eq!(Kind::Csv.media_type(), "text/csv");
}
