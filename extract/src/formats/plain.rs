//! Plain text: paragraphs separated by blank lines.

use crate::text::{Blocks, paragraphs};
use crate::{Block, BlockKind};

/// The paragraphs of a plain text, each on one line.
pub(crate) fn extract(text: &str) -> Vec<Block> {
    let mut blocks = Blocks::new();
    for paragraph in paragraphs(text) {
        blocks.push(BlockKind::Paragraph, &paragraph);
    }
    blocks.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_on_blank_lines() {
        let blocks = extract("First line\nstill first.\n\n\nSecond.\n");
        assert_eq!(
            blocks,
            vec![
                Block::new(BlockKind::Paragraph, "First line still first."),
                Block::new(BlockKind::Paragraph, "Second."),
            ]
        );
        assert!(extract(" \n\t\n").is_empty());
    }
}
