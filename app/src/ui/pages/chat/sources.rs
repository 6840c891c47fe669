//! The knowledge passages an answer was given to cite: listed under the answer as "Sources"
//! (`[n] heron.pdf · passage 3`, each unfolding to the passage), and the answer's `[n]`
//! references marked in its rendered Markdown.

use leptos::prelude::*;

use crate::contract::chat::Citation;
use crate::ui::markdown;

/// `heron.pdf · passage 3` (passages count from 1, as on the knowledge page's search).
pub fn source_of(c: &Citation) -> String {
    format!(
        "{} · passage {}",
        c.filename,
        u64::from(c.chunk_index).saturating_add(1)
    )
}

/// Wraps each `[n]` of the rendered answer that names one of `citations` in
/// `<span class="chat-cite">`. Only text between tags changes, never inside `<code>` (inline or
/// blocks); the HTML comes from [`markdown::render`], where text is escaped, so `<` only ever
/// opens a tag and a `[n]` never straddles one.
pub fn mark_citations(html: &str, citations: &[Citation]) -> String {
    if citations.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    let mut in_code = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let (tag, after) = rest.split_at(end);
            if tag.starts_with("<code") {
                in_code = in_code.saturating_add(1);
            } else if tag.starts_with("</code") {
                in_code = in_code.saturating_sub(1);
            }
            out.push_str(tag);
            rest = after;
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let (text, after) = rest.split_at(end);
            if in_code == 0 {
                mark_text(text, citations, &mut out);
            } else {
                out.push_str(text);
            }
            rest = after;
        }
    }
    out
}

/// [`mark_citations`] in one piece of text.
fn mark_text(text: &str, citations: &[Citation], out: &mut String) {
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let (before, from) = rest.split_at(open);
        out.push_str(before);
        let inner = from.get(1..).unwrap_or_default();
        let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
        let (number, tail) = inner.split_at(digits);
        let cited = tail
            .strip_prefix(']')
            .zip(number.parse::<u32>().ok())
            .and_then(|(after, n)| citations.iter().find(|c| c.number == n).map(|c| (after, c)));
        match cited {
            Some((after, c)) => {
                out.push_str("<span class=\"chat-cite\" title=\"");
                markdown::escape_into(out, &source_of(c));
                out.push_str("\">[");
                out.push_str(number);
                out.push_str("]</span>");
                rest = after;
            }
            None => {
                out.push('[');
                rest = inner;
            }
        }
    }
    out.push_str(rest);
}

/// The answer's sources, in their `[n]` order; nothing when it has none.
#[component]
pub fn Sources(citations: ArcRwSignal<Vec<Citation>>) -> impl IntoView {
    move || {
        let mut list = citations.get();
        if list.is_empty() {
            return None;
        }
        list.sort_by_key(|c| c.number);
        Some(view! {
            <div class="chat-sources">
                <h2 class="chat-sources-title">"Sources"</h2>
                <ol class="chat-source-list" aria-label="Sources">
                    {list.into_iter().map(|c| view! { <SourceItem citation=c/> }).collect_view()}
                </ol>
            </div>
        })
    }
}

/// `[n] filename · passage k`, unfolding to the passage the model read.
#[component]
fn SourceItem(citation: Citation) -> impl IntoView {
    let source = source_of(&citation);
    let number = citation.number;
    view! {
        <li class="chat-source" data-citation=number.to_string()>
            <details>
                <summary>
                    <span class="chat-source-number">{format!("[{number}]")}</span>
                    " "
                    <span class="chat-source-name">{source}</span>
                </summary>
                <p class="chat-source-text">{citation.text}</p>
            </details>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ids::{DocumentId, KbId};

    fn citation(number: u32, filename: &str) -> Citation {
        Citation {
            number,
            knowledge_base_id: KbId(uuid::Uuid::nil()),
            document_id: DocumentId(uuid::Uuid::nil()),
            filename: filename.to_owned(),
            chunk_index: 0,
            text: "The heron migrates.".to_owned(),
            score: 0.5,
        }
    }

    #[test]
    fn sources_count_passages_from_one() {
        let mut c = citation(1, "heron.pdf");
        assert_eq!(source_of(&c), "heron.pdf · passage 1");
        c.chunk_index = u32::MAX;
        assert_eq!(source_of(&c), "heron.pdf · passage 4294967296");
    }

    #[test]
    fn cited_numbers_are_marked_in_text_only() {
        let cites = [citation(1, "a&b.pdf"), citation(2, "c.md")];
        let html = markdown::render("North [1], south [2][1], not [3] nor [x] nor [ 1]. `[1]`");
        let marked = mark_citations(&html, &cites);
        assert_eq!(
            marked,
            "<p>North <span class=\"chat-cite\" title=\"a&amp;b.pdf · passage 1\">[1]</span>, \
             south <span class=\"chat-cite\" title=\"c.md · passage 1\">[2]</span>\
             <span class=\"chat-cite\" title=\"a&amp;b.pdf · passage 1\">[1]</span>, \
             not [3] nor [x] nor [ 1]. <code>[1]</code></p>\n"
        );
    }

    #[test]
    fn code_blocks_and_attributes_are_left_alone() {
        let cites = [citation(1, "a.pdf")];
        let html = markdown::render("```\nlet a = b[1];\n```\n\n[see](https://x.test/[1]) [1");
        let marked = mark_citations(&html, &cites);
        assert_eq!(marked, html);
    }

    #[test]
    fn without_citations_the_html_is_unchanged() {
        let html = markdown::render("An answer [1] with *emphasis* and é.");
        assert_eq!(mark_citations(&html, &[]), html);
        let cut = "unclosed <em tag [1]";
        assert_eq!(
            mark_citations(cut, &[citation(1, "a")]),
            "unclosed <em tag [1]"
        );
    }
}
