//! `POST /v1/query/` (Egret, seed 000): one JSON answer, or with `"stream": true` `data:`
//! lines — `citations` first, the answer's `chunk`s, then `done` with the whole answer, or
//! `error` (what was written is kept in the session).

use aerie_backend::Error;
use aerie_backend::services::chat::{TurnEvent, TurnStream};
use aerie_backend::services::knowledge::QueryStarted;
use aerie_contract::chat::{Citation, Message, Usage};
use aerie_contract::ids::{ConversationId, MessageId};
use aerie_contract::query::{QueryAnswer, QueryEvent};
use aerie_contract::{ErrorBody, ErrorCode};
use axum::Json;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

/// Answers a started query. A failure before the model's first word is the request's error
/// status, not a 200 stream.
pub async fn answer(started: QueryStarted, stream: bool) -> Result<Response, Error> {
    let QueryStarted {
        turn,
        domain,
        model,
        citations,
    } = started;
    let head = Head {
        session_id: turn.conversation_key,
        conversation_id: turn.conversation_id,
        message_id: turn.message_id,
        domain,
        model,
        citations,
    };
    let events = TurnStream::open(turn.events).await?;
    if !stream {
        return Ok(Json(head.whole(events).await?).into_response());
    }
    Ok(super::sse(
        events
            .filter_map(move |e| std::future::ready(head.line(e)))
            .map(|line| super::data_line(&line)),
    ))
}

/// What every answer of the query repeats.
struct Head {
    session_id: String,
    conversation_id: ConversationId,
    message_id: MessageId,
    domain: String,
    model: String,
    citations: Vec<Citation>,
}

impl Head {
    fn answer(&self, message: &Message, usage: Usage) -> QueryAnswer {
        QueryAnswer {
            answer: message.content.clone(),
            citations: self.citations.clone(),
            session_id: self.session_id.clone(),
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            domain: self.domain.clone(),
            model: self.model.clone(),
            usage,
        }
    }

    /// The non-streaming answer, once the turn has ended.
    async fn whole(self, mut events: TurnStream) -> Result<QueryAnswer, Error> {
        while let Some(e) = events.next().await {
            match e {
                TurnEvent::Finished { message, usage } => return Ok(self.answer(&message, usage)),
                TurnEvent::Failed { code, detail } => return Err(Error::detailed(code, detail)),
                _ => {}
            }
        }
        Err(Error::detailed(
            ErrorCode::Upstream,
            "The answer ended unexpectedly.",
        ))
    }

    /// The `data:` line of one turn event (none for what this format does not carry).
    fn line(&self, e: TurnEvent) -> Option<QueryEvent> {
        Some(match e {
            TurnEvent::Citations(citations) => QueryEvent::Citations { citations },
            TurnEvent::Answer(chunk) => QueryEvent::Chunk { chunk },
            TurnEvent::Finished { message, usage } => {
                QueryEvent::Done(self.answer(&message, usage))
            }
            TurnEvent::Failed { code, detail } => {
                QueryEvent::Error(ErrorBody::with_detail(code, detail))
            }
            TurnEvent::Reasoning(_)
            | TurnEvent::ToolCall(_)
            | TurnEvent::ClientToolCalls(_)
            | TurnEvent::DlpFinding(_)
            | TurnEvent::Completed { .. } => return None,
        })
    }
}
