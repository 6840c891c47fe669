//! `POST /api/chat` (seed 004): the turn as Server-Sent Events named after their `type` —
//! `start`, `citations` (an agent with knowledge bases), `delta`, `reasoning`, `tool_call`, then
//! `done` or `error`. The answer is 200 before
//! the model says anything; a failure, even before the first word, is an `error` event.

use aerie_backend::services::chat::{TurnEvent, TurnHandle, TurnStream};
use aerie_contract::chat::ChatEvent;
use aerie_contract::ids::MessageId;
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;

/// Streams a started turn.
pub fn stream(turn: TurnHandle) -> Response {
    let start = ChatEvent::Start {
        conversation_id: turn.conversation_id,
        user_message_id: turn.user_message_id,
        message_id: turn.message_id,
    };
    let message_id = turn.message_id;
    let events = TurnStream::new(turn.events)
        .filter_map(move |e| std::future::ready(chat_event(e, message_id)));
    super::sse(
        futures::stream::once(std::future::ready(start))
            .chain(events)
            .map(|e| named(&e)),
    )
}

/// The `/api/chat` event of a turn event (none for what only the OpenAI format carries).
fn chat_event(e: TurnEvent, message_id: MessageId) -> Option<ChatEvent> {
    Some(match e {
        TurnEvent::Citations(citations) => ChatEvent::Citations { citations },
        TurnEvent::Answer(content) => ChatEvent::Delta { content },
        TurnEvent::Reasoning(content) => ChatEvent::Reasoning { content },
        TurnEvent::ToolCall(call) => ChatEvent::ToolCall { call },
        TurnEvent::Finished { message, usage } => ChatEvent::Done { message, usage },
        TurnEvent::Failed { code, detail } => ChatEvent::Error {
            code: code.info().code.to_owned(),
            message: detail,
            message_id: Some(message_id),
        },
        TurnEvent::DlpFinding(findings) => ChatEvent::DlpFinding {
            message_id,
            findings,
        },
        TurnEvent::ClientToolCalls(_) | TurnEvent::Completed { .. } => return None,
    })
}

/// `event: <type>` and the event as JSON.
fn named(e: &ChatEvent) -> Event {
    let name = match e {
        ChatEvent::Start { .. } => "start",
        ChatEvent::Delta { .. } => "delta",
        ChatEvent::Reasoning { .. } => "reasoning",
        ChatEvent::Citations { .. } => "citations",
        ChatEvent::ToolCall { .. } => "tool_call",
        ChatEvent::Done { .. } => "done",
        ChatEvent::DlpFinding { .. } => "dlp_finding",
        ChatEvent::Error { .. } => "error",
    };
    Event::default()
        .event(name)
        .json_data(e)
        .unwrap_or_else(|_| Event::default().event("error").data("{}"))
}
