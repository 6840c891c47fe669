//! Knowledge for answers: the passages a model is given with a question, numbered as the
//! citations of its answer, and the system message that carries them. An agent answers from
//! its knowledge bases as its **owner** sees them (the owner attached them; a member chatting
//! with the agent reads only what the agent finds, never the knowledge bases themselves);
//! `/v1/query/` answers from one domain the caller sees.

use super::search::{self, Query};
use super::sees;
use crate::db::entities::knowledge_bases;
use crate::services::visibility::Viewer;
use crate::{AppContext, Result, store};
use aerie_contract::agents::Agent;
use aerie_contract::chat::Citation;
use aerie_contract::ids::OrgId;
use aerie_contract::knowledge::{Passage, SearchMode};

/// Passages an agent's answer is given.
pub const AGENT_PASSAGES: usize = 5;

/// The best passages of several knowledge bases of `org` (already checked visible), best
/// first, at most `q.top_k` in all.
pub(crate) async fn search_many(
    ctx: &AppContext,
    org: OrgId,
    kbs: &[knowledge_bases::Model],
    q: &Query<'_>,
) -> Result<Vec<Passage>> {
    let mut passages: Vec<Passage> = Vec::new();
    for kb in kbs {
        passages.extend(
            search::passages(
                ctx,
                org,
                kb,
                Query {
                    text: q.text,
                    top_k: q.top_k,
                    category: q.category,
                    documents: q.documents,
                    mode: q.mode,
                },
            )
            .await?,
        );
    }
    passages.sort_by(|a, b| b.score.total_cmp(&a.score));
    passages.truncate(q.top_k);
    Ok(passages)
}

/// The passages, numbered from 1 in their order.
pub fn citations(passages: Vec<Passage>) -> Vec<Citation> {
    passages
        .into_iter()
        .zip(1u32..)
        .map(|(p, number)| Citation {
            number,
            knowledge_base_id: p.knowledge_base_id,
            document_id: p.document_id,
            filename: p.filename,
            chunk_index: p.chunk_index,
            text: p.text,
            score: p.score,
        })
        .collect()
}

/// The numbered passages as a prompt carries them, each with its source.
pub fn context(citations: &[Citation]) -> String {
    citations
        .iter()
        .map(|c| {
            format!(
                "[{}] {} (passage {})\n{}",
                c.number,
                c.filename,
                c.chunk_index + 1,
                c.text.trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The system message that gives a model the passages (none without passages).
pub fn instructions(citations: &[Citation]) -> Option<String> {
    if citations.is_empty() {
        return None;
    }
    Some(format!(
        "Answer from the numbered passages of the knowledge base below when they are relevant. \
         Cite each passage you use with its number in square brackets, like [1]; cite only \
         these numbers. If the passages do not hold the answer, say so.\n\n{}",
        context(citations)
    ))
}

/// The question as a search query: its text, at most [`search::QUERY_MAX`] characters (`None`
/// when it has no words, e.g. an image alone).
fn query_of(question: &str) -> Option<String> {
    let q = question.trim();
    (!q.is_empty()).then(|| q.chars().take(search::QUERY_MAX).collect())
}

/// The passages an agent's answer to `question` is given: the best of its knowledge bases
/// that its owner sees (none when it has none, or its owner has left the organisation).
pub async fn for_agent(
    ctx: &AppContext,
    org: OrgId,
    agent: &Agent,
    question: &str,
) -> Result<Vec<Citation>> {
    if agent.knowledge_base_ids.is_empty() {
        return Ok(Vec::new());
    }
    let Some(text) = query_of(question) else {
        return Ok(Vec::new());
    };
    let Some(owner) = Viewer::member(ctx, org, agent.owner_id).await? else {
        return Ok(Vec::new());
    };
    let mut kbs = Vec::with_capacity(agent.knowledge_base_ids.len());
    for id in &agent.knowledge_base_ids {
        if let Some(kb) = store::knowledge_bases::find(ctx.db(), org, *id).await?
            && sees(&owner, &kb)
        {
            kbs.push(kb);
        }
    }
    let passages = search_many(
        ctx,
        org,
        &kbs,
        &Query {
            text: &text,
            top_k: AGENT_PASSAGES,
            category: None,
            documents: None,
            mode: SearchMode::Hybrid,
        },
    )
    .await?;
    Ok(citations(passages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citation(number: u32, filename: &str, chunk_index: u32, text: &str) -> Citation {
        Citation {
            number,
            knowledge_base_id: aerie_contract::ids::KbId(uuid::Uuid::nil()),
            document_id: aerie_contract::ids::DocumentId(uuid::Uuid::nil()),
            filename: filename.to_owned(),
            chunk_index,
            text: text.to_owned(),
            score: 0.5,
        }
    }

    #[test]
    fn passages_are_numbered_with_their_sources() {
        let c = [
            citation(1, "heron.md", 0, " Herons fly south. "),
            citation(2, "notes.pdf", 4, "Marshes."),
        ];
        assert_eq!(
            context(&c),
            "[1] heron.md (passage 1)\nHerons fly south.\n\n[2] notes.pdf (passage 5)\nMarshes."
        );
        let told = instructions(&c).unwrap_or_default();
        assert!(told.contains("like [1]"), "{told}");
        assert!(told.ends_with("Marshes."), "{told}");
        assert_eq!(instructions(&[]), None);
    }

    #[test]
    fn a_question_without_words_searches_nothing() {
        assert_eq!(query_of("  \n"), None);
        assert_eq!(query_of(" heron ").as_deref(), Some("heron"));
        let long = "é".repeat(search::QUERY_MAX + 10);
        assert_eq!(
            query_of(&long).map(|q| q.chars().count()),
            Some(search::QUERY_MAX)
        );
    }
}
