//! What a running turn sends, whatever wire format carries it: [`TurnEvent`]s on one receiver,
//! which [`TurnStream`] turns into a `Stream` for a handler, after letting the first event
//! decide the HTTP status.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::{Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::chat::{Citation, Message, ToolCallRecord, Usage};
use aerie_contract::guardrails::DlpFinding;

/// One event of a turn. A turn sends its pieces as the model produces them and ends with
/// exactly one of `Finished`, `Completed` or `Failed`.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnEvent {
    /// The knowledge passages the model is given to cite, before anything else (only when the
    /// turn retrieved some).
    Citations(Vec<Citation>),
    /// Part of the answer.
    Answer(String),
    /// Part of the model's thinking (only when the turn shows reasoning).
    Reasoning(String),
    /// One of the agent's tools ran.
    ToolCall(ToolCallRecord),
    /// Pieces of the client's own tool calls (OpenAI `delta.tool_calls`), passed through.
    ClientToolCalls(Vec<Value>),
    /// A conversation turn ended, answered or cancelled: the answer as stored.
    Finished { message: Box<Message>, usage: Usage },
    /// An OpenAI passthrough ended: why the model stopped (`stop`, `length`, `tool_calls`…;
    /// empty when it never said).
    Completed { finish_reason: String, usage: Usage },
    /// The turn failed; what was generated is kept (a conversation turn stores it).
    Failed { code: ErrorCode, detail: String },
    /// The guardrails found what the caller must decide about before the question goes on
    /// (`/api/chat` only; docs/GUARDRAILS.md).
    DlpFinding(Vec<DlpFinding>),
}

/// The events of a turn, as a handler streams them: the receiver of a started turn, with
/// its first events already received when [`TurnStream::open`] made it.
pub struct TurnStream {
    first: VecDeque<TurnEvent>,
    rest: ReceiverStream<TurnEvent>,
}

impl TurnStream {
    /// Waits for the turn's first event after its citations: a failure before anything else
    /// is the request's error (an HTTP status, not a 200 stream); otherwise the stream replays
    /// what was received.
    pub async fn open(mut events: mpsc::Receiver<TurnEvent>) -> Result<Self> {
        let mut first = VecDeque::new();
        loop {
            match events.recv().await {
                Some(TurnEvent::Failed { code, detail }) => {
                    return Err(Error::detailed(code, detail));
                }
                Some(e @ TurnEvent::Citations(_)) => first.push_back(e),
                Some(e) => {
                    first.push_back(e);
                    break;
                }
                None => break,
            }
        }
        Ok(Self {
            first,
            rest: ReceiverStream::new(events),
        })
    }

    /// Streams without waiting: for a format that answers 200 before the model does (`/api/chat`
    /// sends its `start` event first) and reports every failure inside the stream.
    pub fn new(events: mpsc::Receiver<TurnEvent>) -> Self {
        Self {
            first: VecDeque::new(),
            rest: ReceiverStream::new(events),
        }
    }

    /// Takes the citations received by [`TurnStream::open`] (for a format that sends them
    /// with its first piece); empty when there are none.
    pub fn take_citations(&mut self) -> Vec<Citation> {
        let mut out = Vec::new();
        while let Some(TurnEvent::Citations(c)) = self.first.front() {
            out.extend(c.iter().cloned());
            self.first.pop_front();
        }
        out
    }
}

impl Stream for TurnStream {
    type Item = TurnEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        if let Some(first) = self.first.pop_front() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut self.rest).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn an_early_failure_is_the_requests_error() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(TurnEvent::Failed {
            code: ErrorCode::UpstreamTimeout,
            detail: "The provider did not answer in time.".to_owned(),
        })
        .await
        .expect("sent");
        let Err(e) = TurnStream::open(rx).await else {
            panic!("a failure first is an error");
        };
        assert_eq!(e.code(), ErrorCode::UpstreamTimeout);
        assert_eq!(e.body().detail, "The provider did not answer in time.");
    }

    #[tokio::test]
    async fn the_first_event_is_replayed_and_a_later_failure_streamed() {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            for e in [
                TurnEvent::Answer("partial".to_owned()),
                TurnEvent::Failed {
                    code: ErrorCode::Upstream,
                    detail: "dropped".to_owned(),
                },
            ] {
                let _ = tx.send(e).await;
            }
        });
        let events: Vec<TurnEvent> = TurnStream::open(rx).await.expect("open").collect().await;
        assert_eq!(
            events,
            [
                TurnEvent::Answer("partial".to_owned()),
                TurnEvent::Failed {
                    code: ErrorCode::Upstream,
                    detail: "dropped".to_owned(),
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_turn_that_sends_nothing_is_an_empty_stream() {
        let (tx, rx) = mpsc::channel::<TurnEvent>(1);
        drop(tx);
        let events: Vec<TurnEvent> = TurnStream::open(rx).await.expect("open").collect().await;
        assert!(events.is_empty());
        let (tx, rx) = mpsc::channel::<TurnEvent>(1);
        drop(tx);
        assert_eq!(TurnStream::new(rx).count().await, 0);
    }
}
