//! Searching a knowledge base: a query, optionally narrowed to a category, ranked by the chosen
//! mode (hybrid by default), answered with the best passages and where each comes from.

use leptos::prelude::*;

use crate::contract::ids::{CategoryId, KbId};
use crate::contract::knowledge::{Category, Passage, SearchMode, SearchRequest};
use crate::fns::knowledge::SearchKnowledge;
use crate::ui::components::{Alert, EmptyState, Field, SubmitButton};

/// The mode a `<select>` value names; hybrid for anything else.
fn mode_of(value: &str) -> SearchMode {
    match value {
        "vector" => SearchMode::Vector,
        "full_text" => SearchMode::FullText,
        _ => SearchMode::Hybrid,
    }
}

/// `heron.pdf · passage 3` (passages count from 1).
fn source_of(p: &Passage) -> String {
    format!(
        "{} · passage {}",
        p.filename,
        u64::from(p.chunk_index).saturating_add(1)
    )
}

/// `0.032`; a score that is not a number reads as it is.
fn score_of(score: f32) -> String {
    format!("{score:.3}")
}

/// The search form and its results. The query is not checked here: an empty one gets the
/// server's sentence.
#[component]
pub fn SearchPanel(kb: KbId, #[prop(into)] categories: Signal<Vec<Category>>) -> impl IntoView {
    let search = ServerAction::<SearchKnowledge>::new();
    let query = RwSignal::new(String::new());
    let category = RwSignal::new(String::new());
    let mode = RwSignal::new("hybrid".to_owned());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        search.dispatch(SearchKnowledge {
            id: kb,
            input: SearchRequest {
                query: query.get_untracked(),
                top_k: None,
                category_id: uuid::Uuid::parse_str(&category.get_untracked())
                    .ok()
                    .map(CategoryId),
                document_ids: None,
                mode: mode_of(&mode.get_untracked()),
            },
        });
    };
    let results = move || {
        search.value().get().map(|answer| match answer {
            Err(e) => view! { <Alert text=e.detail/> }.into_any(),
            Ok(found) if found.results.is_empty() => view! {
                <EmptyState>"No passages match this query."</EmptyState>
            }
            .into_any(),
            Ok(found) => view! {
                <ol class="passages" aria-label="Passages">
                    {found.results.into_iter().enumerate().map(|(i, p)| view! {
                        <PassageItem rank=i.saturating_add(1) passage=p/>
                    }).collect_view()}
                </ol>
            }
            .into_any(),
        })
    };
    // Said to screen readers as results arrive (the list itself is not read out).
    let summary = move || {
        search
            .value()
            .get()
            .and_then(Result::ok)
            .map(|found| match found.results.len() {
                0 => "No passages found.".to_owned(),
                1 => "1 passage found.".to_owned(),
                n => format!("{n} passages found, best first."),
            })
            .unwrap_or_default()
    };
    view! {
        <section class="search" aria-label="Search">
            <h3>"Search"</h3>
            <form class="inline-form" aria-label="Search this knowledge base" on:submit=submit>
                <Field label="Query">
                    <input type="search" name="query" maxlength="4000" autocomplete="off" bind:value=query/>
                </Field>
                <Field label="Search category">
                    <select name="category_id" on:change=move |ev| category.set(event_target_value(&ev))>
                        <option value="" selected=move || category.get().is_empty()>"All categories"</option>
                        {move || categories.get().into_iter().map(|c| {
                            let value = c.id.to_string();
                            let v = value.clone();
                            view! { <option value=value selected=move || category.get() == v>{c.name}</option> }
                        }).collect_view()}
                    </select>
                </Field>
                <Field label="Mode">
                    <select name="mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                        <option value="hybrid" selected=true>"Hybrid (vector and full text)"</option>
                        <option value="vector">"Vector"</option>
                        <option value="full_text">"Full text"</option>
                    </select>
                </Field>
                <SubmitButton label="Search" busy="Searching…" pending=search.pending()/>
            </form>
            <p class="sr-only" aria-live="polite">{summary}</p>
            {results}
        </section>
    }
}

/// One passage: its rank, score, text and source.
#[component]
fn PassageItem(rank: usize, passage: Passage) -> impl IntoView {
    let source = source_of(&passage);
    view! {
        <li class="passage" data-rank=rank.to_string()>
            <div class="passage-head">
                <span class="rank">{format!("#{rank}")}</span>
                <span class="score" title="Score (higher is better; its scale depends on the mode)">
                    {format!("score {}", score_of(passage.score))}
                </span>
                <span class="source">{source}</span>
            </div>
            <p class="passage-text">{passage.text}</p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ids::DocumentId;

    #[test]
    fn modes_come_from_the_select() {
        assert_eq!(mode_of("hybrid"), SearchMode::Hybrid);
        assert_eq!(mode_of("vector"), SearchMode::Vector);
        assert_eq!(mode_of("full_text"), SearchMode::FullText);
        assert_eq!(mode_of("anything"), SearchMode::Hybrid);
    }

    #[test]
    fn sources_count_passages_from_one() {
        let mut p = Passage {
            knowledge_base_id: KbId(uuid::Uuid::nil()),
            document_id: DocumentId(uuid::Uuid::nil()),
            filename: "heron.pdf".to_owned(),
            category_id: None,
            chunk_index: 0,
            text: String::new(),
            score: 0.5,
        };
        assert_eq!(source_of(&p), "heron.pdf · passage 1");
        p.chunk_index = u32::MAX;
        assert_eq!(source_of(&p), "heron.pdf · passage 4294967296");
    }

    #[test]
    fn scores_have_three_decimals() {
        assert_eq!(score_of(0.03278689), "0.033");
        assert_eq!(score_of(12.0), "12.000");
        assert_eq!(score_of(f32::NAN), "NaN");
    }
}
