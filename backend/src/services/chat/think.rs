//! Splits `<think>…</think>` sections out of streamed content (DeepSeek-R1, Qwen and others put
//! their reasoning there), even when a tag is cut across chunks.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Default)]
pub struct ThinkSplitter {
    in_think: bool,
    pending: String,
}

/// A piece of text and whether it is reasoning.
pub type Piece = (bool, String);

impl ThinkSplitter {
    pub fn feed(&mut self, text: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut buf = std::mem::take(&mut self.pending);
        buf.push_str(text);
        loop {
            let tag = if self.in_think { CLOSE } else { OPEN };
            if let Some(at) = buf.find(tag) {
                push(&mut out, self.in_think, &buf[..at]);
                buf = buf[at + tag.len()..].to_owned();
                self.in_think = !self.in_think;
                continue;
            }
            // Keep a suffix that could be the start of the tag for the next chunk.
            let keep = (1..tag.len())
                .rev()
                .find(|n| {
                    buf.len() >= *n
                        && buf.is_char_boundary(buf.len() - n)
                        && tag.starts_with(&buf[buf.len() - n..])
                })
                .unwrap_or(0);
            let cut = buf.len() - keep;
            push(&mut out, self.in_think, &buf[..cut]);
            self.pending = buf[cut..].to_owned();
            return out;
        }
    }

    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.pending);
        push(&mut out, self.in_think, &rest);
        out
    }
}

fn push(out: &mut Vec<Piece>, reasoning: bool, text: &str) {
    if !text.is_empty() {
        out.push((reasoning, text.to_owned()));
    }
}

/// Splits a whole answer at once.
pub fn split(text: &str) -> (String, String) {
    let mut s = ThinkSplitter::default();
    let mut pieces = s.feed(text);
    pieces.extend(s.finish());
    let mut content = String::new();
    let mut reasoning = String::new();
    for (r, t) in pieces {
        if r {
            reasoning.push_str(&t)
        } else {
            content.push_str(&t)
        }
    }
    (content, reasoning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_cut_across_chunks_are_found() {
        let mut s = ThinkSplitter::default();
        let mut all = Vec::new();
        for chunk in [
            "<thi",
            "nk>I should",
            " add.</th",
            "ink>The answer",
            " is 68.",
            "<",
        ] {
            all.extend(s.feed(chunk));
        }
        all.extend(s.finish());
        let reasoning: String = all.iter().filter(|p| p.0).map(|p| p.1.as_str()).collect();
        let content: String = all.iter().filter(|p| !p.0).map(|p| p.1.as_str()).collect();
        assert_eq!(reasoning, "I should add.");
        assert_eq!(content, "The answer is 68.<");
    }

    #[test]
    fn whole_answers_split() {
        assert_eq!(split("plain"), ("plain".to_owned(), String::new()));
        assert_eq!(
            split("<think>hmm</think>ok"),
            ("ok".to_owned(), "hmm".to_owned())
        );
        assert_eq!(split("héllo <"), ("héllo <".to_owned(), String::new()));
    }

    proptest::proptest! {
        /// However the upstream cuts its stream (inside tags or multi-byte characters), the
        /// splitter never panics and finds what it finds in the whole answer.
        #[test]
        fn chunking_never_panics_nor_changes_the_split(
            chunks in proptest::collection::vec(
                "(<think>|</think>|<th|ink>|</|<|>|é|😀|\\PC){0,6}", 0..8),
        ) {
            let mut s = ThinkSplitter::default();
            let mut pieces = Vec::new();
            for chunk in &chunks {
                pieces.extend(s.feed(chunk));
            }
            pieces.extend(s.finish());
            let mut content = String::new();
            let mut reasoning = String::new();
            for (r, t) in pieces {
                if r { reasoning.push_str(&t) } else { content.push_str(&t) }
            }
            proptest::prop_assert_eq!((content, reasoning), split(&chunks.concat()));
        }
    }
}
