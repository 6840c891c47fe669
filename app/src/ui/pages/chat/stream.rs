//! One chat turn: `POST /api/chat` with `fetch`, its `text/event-stream` body read as it
//! arrives and parsed into [`ChatEvent`]s.
//!
//! `EventSource` cannot POST, so the page reads the response body itself. The browser sends
//! the session cookie (`credentials: same-origin`) and `Sec-Fetch-Site: same-origin`, which the
//! CSRF check asks of cookie requests.

/// One Server-Sent Event: its `event:` name and its `data:` lines joined by newlines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Takes the complete events (each ended by a blank line) off the front of `buf`, leaving an
/// incomplete one there for the next chunk. `buf` holds bytes with `\r` already removed;
/// events are split on bytes, so a UTF-8 character cut between two chunks is decoded whole.
pub fn take_events(buf: &mut Vec<u8>) -> Vec<SseEvent> {
    let mut events = Vec::new();
    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
        let block: Vec<u8> = buf.drain(..end + 2).collect();
        if let Some(e) = parse_block(&String::from_utf8_lossy(&block)) {
            events.push(e);
        }
    }
    events
}

/// One event block; `None` for comments and keep-alives (no `data:`).
fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.event = value.to_owned(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    event.data = data.join("\n");
    Some(event)
}

#[cfg(feature = "hydrate")]
pub use browser::post_chat;

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        Headers, ReadableStreamDefaultReader, RequestCredentials, RequestInit, Response,
    };

    use super::take_events;
    use crate::contract::ErrorBody;
    use crate::contract::chat::{ChatEvent, ChatTurn};

    fn js_error(e: JsValue) -> String {
        e.as_string()
            .or_else(|| {
                Reflect::get(&e, &JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "The request failed.".to_owned())
    }

    /// Sends the turn and calls `on_event` for each event as it arrives. `Err` carries a
    /// sentence for the user (the server's `detail` when it refused the turn).
    pub async fn post_chat(
        turn: &ChatTurn,
        mut on_event: impl FnMut(ChatEvent),
    ) -> Result<(), String> {
        let window = web_sys::window().ok_or("No browser window.")?;
        let body = serde_json::to_string(turn).map_err(|e| e.to_string())?;
        let headers = Headers::new().map_err(js_error)?;
        headers
            .set("Content-Type", "application/json")
            .map_err(js_error)?;
        headers
            .set("Accept", "text/event-stream")
            .map_err(js_error)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_credentials(RequestCredentials::SameOrigin);
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
        let response: Response = JsFuture::from(window.fetch_with_str_and_init("/api/chat", &init))
            .await
            .map_err(|_| "Could not reach the server.".to_owned())?
            .dyn_into()
            .map_err(js_error)?;
        if !response.ok() {
            let text = match response.text() {
                Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
                Err(_) => None,
            };
            return Err(text
                .and_then(|t| serde_json::from_str::<ErrorBody>(&t).ok())
                .map(|e| e.detail)
                .unwrap_or_else(|| format!("The server answered {}.", response.status())));
        }
        let stream = response.body().ok_or("The server sent no answer.")?;
        let reader: ReadableStreamDefaultReader = stream
            .get_reader()
            .dyn_into()
            .map_err(|o: js_sys::Object| js_error(o.into()))?;
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = JsFuture::from(reader.read())
                .await
                .map_err(|_| "The connection was interrupted.".to_owned())?;
            let done = Reflect::get(&chunk, &JsValue::from_str("done"))
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true);
            if done {
                break;
            }
            let value = Reflect::get(&chunk, &JsValue::from_str("value")).map_err(js_error)?;
            let bytes = Uint8Array::new(&value).to_vec();
            buf.extend(bytes.into_iter().filter(|b| *b != b'\r'));
            for e in take_events(&mut buf) {
                if let Ok(event) = serde_json::from_str::<ChatEvent>(&e.data) {
                    on_event(event);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_on_blank_lines() {
        let mut buf = b"event: start\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: delta\ndata: x\ndata: y\n\nevent: del".to_vec();
        let events = take_events(&mut buf);
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: "start".into(),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: "delta".into(),
                    data: "x\ny".into()
                },
            ]
        );
        assert_eq!(buf, b"event: del".to_vec());
        buf.extend_from_slice(b"ta\ndata:z\n\n");
        assert_eq!(
            take_events(&mut buf),
            vec![SseEvent {
                event: "delta".into(),
                data: "z".into()
            }]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn a_character_split_between_chunks_survives() {
        let text = "data: é\n\n".as_bytes();
        let mut buf = text[..7].to_vec();
        assert!(take_events(&mut buf).is_empty());
        buf.extend_from_slice(&text[7..]);
        assert_eq!(take_events(&mut buf)[0].data, "é");
    }
}
