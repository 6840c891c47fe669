//! The chat page (`/chat`, `/chat/{id}`): conversations on the left, the agent picker on top,
//! the selected conversation's messages and the composer. Answers stream in from
//! `POST /api/chat` ([`stream`]) and are rendered as sanitized Markdown.

pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::SignedIn;
use crate::contract::chat::{ChatEvent, ChatTurn, Conversation, Message, ToolCallRecord};
use crate::contract::ids::{AgentId, ConversationId, MessageId};
use crate::fns::agents::list_agents;
use crate::fns::chat::{
    BranchConversation, CancelTurn, DeleteConversation, RegenerateTitle, RenameConversation,
    list_conversations, list_messages, rate_answer,
};
use crate::ui::{markdown, routes};

#[component]
pub fn ChatPage() -> impl IntoView {
    view! {
        <SignedIn title="Chat" let:_user>
            <ChatView/>
        </SignedIn>
    }
}

/// A message as shown: its parts change while the answer streams.
#[derive(Clone)]
struct Entry {
    /// Stable across updates, for `<For>`.
    key: u64,
    role: String,
    id: ArcRwSignal<Option<MessageId>>,
    content: ArcRwSignal<String>,
    reasoning: ArcRwSignal<String>,
    tool_calls: ArcRwSignal<Vec<ToolCallRecord>>,
    status: ArcRwSignal<String>,
    error: ArcRwSignal<Option<String>>,
    feedback: ArcRwSignal<Option<i16>>,
}

impl Entry {
    fn new(role: &str, content: &str, status: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            key: NEXT.fetch_add(1, Ordering::Relaxed),
            role: role.to_owned(),
            id: ArcRwSignal::new(None),
            content: ArcRwSignal::new(content.to_owned()),
            reasoning: ArcRwSignal::new(String::new()),
            tool_calls: ArcRwSignal::new(Vec::new()),
            status: ArcRwSignal::new(status.to_owned()),
            error: ArcRwSignal::new(None),
            feedback: ArcRwSignal::new(None),
        }
    }

    fn from_message(m: &Message) -> Self {
        let e = Self::new(&m.role, "", "");
        e.apply(m);
        e
    }

    /// Takes the stored state of the message.
    fn apply(&self, m: &Message) {
        self.id.set(Some(m.id));
        self.content.set(m.content.clone());
        self.reasoning.set(m.reasoning.clone().unwrap_or_default());
        self.tool_calls.set(m.tool_calls.clone());
        self.status.set(m.status.clone());
        self.error.set(m.error.clone());
        self.feedback.set(m.feedback);
    }

    fn fail(&self, detail: String) {
        self.status.set("error".to_owned());
        self.error.set(Some(detail));
    }
}

fn parse_uuid(s: Option<String>) -> Option<uuid::Uuid> {
    s.and_then(|s| uuid::Uuid::parse_str(&s).ok())
}

#[component]
fn ChatView() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let navigate = use_navigate();
    let conv_id = Memo::new(move |_| parse_uuid(params.with(|p| p.get("id"))).map(ConversationId));
    let query_agent = Memo::new(move |_| parse_uuid(query.with(|q| q.get("agent"))).map(AgentId));

    let rename = ServerAction::<RenameConversation>::new();
    let delete = ServerAction::<DeleteConversation>::new();
    let retitle = ServerAction::<RegenerateTitle>::new();
    let branch = ServerAction::<BranchConversation>::new();
    let stop = ServerAction::<CancelTurn>::new();
    let list_version = RwSignal::new(0u32);
    let conversations = Resource::new(
        move || {
            (
                list_version.get(),
                rename.version().get(),
                delete.version().get(),
                retitle.version().get(),
                branch.version().get(),
            )
        },
        |_| list_conversations(),
    );
    let agents = Resource::new(|| (), |_| list_agents());

    // The agent picked by hand; otherwise the conversation's, the one in `?agent=`, the first.
    let picked = RwSignal::new(None::<AgentId>);
    // Show the model's thinking: chosen by hand, else the agent's default.
    let thinking = RwSignal::new(None::<bool>);
    let current_agent = move || {
        picked.get().or_else(|| {
            let from_conversation = conv_id.get().and_then(|id| {
                conversations
                    .get()
                    .and_then(Result::ok)
                    .and_then(|list| list.into_iter().find(|c| c.id == id))
                    .and_then(|c| c.agent_id)
            });
            from_conversation.or_else(|| query_agent.get()).or_else(|| {
                agents
                    .get()
                    .and_then(Result::ok)
                    .and_then(|list| list.first().map(|a| a.id))
            })
        })
    };

    let entries = RwSignal::new(Vec::<Entry>::new());
    // The message to page back from, when older messages exist.
    let older = RwSignal::new(None::<MessageId>);
    let loading = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let in_flight = RwSignal::new(None::<MessageId>);
    let chat_error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    // A conversation the page started itself: its messages are already shown.
    let started = RwSignal::new(None::<ConversationId>);
    let skip_load = StoredValue::new(None::<ConversationId>);
    // Bumped by every streamed piece, to keep the newest text in view.
    let tick = RwSignal::new(0u32);

    let load = move |id: ConversationId, before: Option<MessageId>| {
        loading.set(true);
        leptos::task::spawn_local(async move {
            match list_messages(id, before).await {
                Ok(page) if conv_id.get_untracked() == Some(id) => {
                    let page_entries: Vec<Entry> =
                        page.data.iter().map(Entry::from_message).collect();
                    entries.update(|list| match before {
                        Some(_) => {
                            let newer = std::mem::take(list);
                            *list = page_entries;
                            list.extend(newer);
                        }
                        None => *list = page_entries,
                    });
                    older.set(page.next_before);
                }
                Ok(_) => {}
                Err(e) => chat_error.set(Some(e.detail)),
            }
            loading.set(false);
        });
    };

    // A conversation was opened (or left): show its latest messages.
    Effect::new(move |_| {
        let id = conv_id.get();
        picked.set(None);
        chat_error.set(None);
        if id.is_some() && id == skip_load.get_value() {
            skip_load.set_value(None);
            return;
        }
        entries.set(Vec::new());
        older.set(None);
        if let Some(id) = id {
            load(id, None);
        }
    });
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let Some(id) = started.get() {
                navigate(
                    &routes::conversation(id),
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                );
            }
        });
    }
    {
        Effect::new(move |_| {
            if let Some(Ok(c)) = branch.value().get() {
                navigate(&routes::conversation(c.id), Default::default());
            }
        });
    }
    Effect::new(move |_| {
        if let Some(Ok(m)) = stop.value().get() {
            let entry = entries.with_untracked(|list| {
                list.iter()
                    .find(|e| e.id.get_untracked() == Some(m.id))
                    .cloned()
            });
            if let Some(e) = entry {
                e.apply(&m);
            }
        }
    });

    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        entries.track();
        tick.track();
        #[cfg(feature = "hydrate")]
        if let Some(el) = scroller.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });

    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || busy.get_untracked() {
            return;
        }
        let conversation = conv_id.get_untracked();
        let agent = untrack(current_agent);
        if conversation.is_none() && agent.is_none() {
            chat_error.set(Some(
                "Choose an agent first (see the Agents page).".to_owned(),
            ));
            return;
        }
        chat_error.set(None);
        draft.set(String::new());
        busy.set(true);
        let question = Entry::new("user", &text, "complete");
        let answer = Entry::new("assistant", "", "streaming");
        entries.update(|list| {
            list.push(question.clone());
            list.push(answer.clone());
        });
        let turn = ChatTurn {
            conversation_id: conversation,
            agent_id: agent,
            message: text,
            reasoning_enabled: thinking.get_untracked(),
            images: Vec::new(),
        };
        let last = answer.clone();
        let on_event = move |event: ChatEvent| {
            match event {
                ChatEvent::Start {
                    conversation_id,
                    user_message_id,
                    message_id,
                } => {
                    question.id.set(Some(user_message_id));
                    answer.id.set(Some(message_id));
                    in_flight.set(Some(message_id));
                    if conversation.is_none() {
                        skip_load.set_value(Some(conversation_id));
                        started.set(Some(conversation_id));
                    }
                    list_version.update(|n| *n += 1);
                }
                ChatEvent::Delta { content } => answer.content.update(|c| c.push_str(&content)),
                ChatEvent::Reasoning { content } => {
                    answer.reasoning.update(|r| r.push_str(&content));
                }
                ChatEvent::ToolCall { call } => answer.tool_calls.update(|t| t.push(call)),
                ChatEvent::Done { message, .. } => answer.apply(&message),
                ChatEvent::Error { message, .. } => answer.fail(message),
            }
            tick.update(|n| *n = n.wrapping_add(1));
        };
        #[cfg(feature = "hydrate")]
        {
            let answer = last;
            leptos::task::spawn_local(async move {
                let result = stream::post_chat(&turn, on_event).await;
                match result {
                    Err(detail) => answer.fail(detail),
                    Ok(()) if answer.status.get_untracked() == "streaming" => {
                        answer.fail("The connection closed before the answer finished.".to_owned());
                    }
                    Ok(()) => {}
                }
                in_flight.set(None);
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (turn, on_event, last);
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };

    view! {
        <div class="chat">
            <aside class="chat-side" aria-label="Conversations">
                <a class="button new-chat" href=routes::CHAT>"New chat"</a>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || conversations.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No conversations yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="conversations">
                                {list.into_iter().map(|c| view! { <ConversationItem conversation=c conv_id rename delete/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
                    })}
                </Transition>
            </aside>
            <section class="chat-main">
                <header class="chat-head">
                    <Transition fallback=|| view! { <span class="muted">"Loading agents…"</span> }>
                        {move || agents.get().map(|r| match r {
                            Ok(list) if list.is_empty() => view! {
                                <span class="muted">"No agents yet: " <a href=routes::AGENTS>"create one"</a></span>
                            }.into_any(),
                            Ok(list) => {
                                let chosen = current_agent();
                                let default_thinking = list
                                    .iter()
                                    .find(|a| Some(a.id) == chosen)
                                    .is_some_and(|a| a.reasoning_enabled);
                                view! {
                                    <label class="agent-picker">"Agent"
                                        <select name="agent" on:change=move |ev| {
                                            picked.set(uuid::Uuid::parse_str(&event_target_value(&ev)).ok().map(AgentId));
                                            thinking.set(None);
                                        }>
                                            {list.into_iter().map(|a| {
                                                let selected = chosen == Some(a.id);
                                                view! { <option value=a.id.to_string() selected=selected>{a.name.clone()}</option> }
                                            }).collect_view()}
                                        </select>
                                    </label>
                                    <label class="thinking-toggle" title="Ask the model to show its thinking">
                                        <input type="checkbox" name="reasoning"
                                            prop:checked=move || thinking.get().unwrap_or(default_thinking)
                                            on:change=move |ev| thinking.set(Some(event_target_checked(&ev)))/>
                                        " 💭 Thinking"
                                    </label>
                                }.into_any()
                            }
                            Err(e) => view! { <span class="error">{e.detail}</span> }.into_any(),
                        })}
                    </Transition>
                    <Transition fallback=|| ()>
                        {move || {
                            let id = conv_id.get()?;
                            let list = conversations.get()?.ok()?;
                            let c: Conversation = list.into_iter().find(|c| c.id == id)?;
                            Some(view! {
                                <h1 class="chat-title" data-testid="chat-title">{c.title.clone()}</h1>
                                <button class="button secondary" type="button" title="Ask the model for a title"
                                    disabled=move || retitle.pending().get()
                                    on:click=move |_| { retitle.dispatch(RegenerateTitle { id }); }>"↻ Title"</button>
                            })
                        }}
                    </Transition>
                </header>
                {move || retitle.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.detail}</p> })}
                {move || branch.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.detail}</p> })}
                <div class="messages" node_ref=scroller aria-live="polite">
                    <Show when=move || older.get().is_some()>
                        <button class="button secondary load-older" type="button" disabled=move || loading.get()
                            on:click=move |_| {
                                if let (Some(id), Some(before)) = (conv_id.get_untracked(), older.get_untracked()) {
                                    load(id, Some(before));
                                }
                            }>"Load older messages"</button>
                    </Show>
                    <Show when=move || entries.with(Vec::is_empty) && !loading.get()>
                        <p class="muted empty-chat">
                            {move || if conv_id.get().is_some() { "No messages yet." } else { "Pick an agent and send a message to start a conversation." }}
                        </p>
                    </Show>
                    <For each=move || entries.get() key=|e| e.key let:entry>
                        <MessageView entry conv_id branch busy/>
                    </For>
                </div>
                {move || chat_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <form class="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
                    <textarea name="message" aria-label="Message" rows="3"
                        placeholder="Message the agent (Enter sends, Shift+Enter adds a line)"
                        bind:value=draft on:keydown=on_keydown></textarea>
                    <Show when=move || busy.get() fallback=|| view! { <button class="button" type="submit">"Send"</button> }>
                        <button class="button danger" type="button" disabled=move || in_flight.get().is_none()
                            on:click=move |_| {
                                if let Some(message_id) = in_flight.get_untracked() {
                                    stop.dispatch(CancelTurn { message_id });
                                }
                            }>"Stop"</button>
                    </Show>
                </form>
            </section>
        </div>
    }
}

#[component]
fn ConversationItem(
    conversation: Conversation,
    conv_id: Memo<Option<ConversationId>>,
    rename: ServerAction<RenameConversation>,
    delete: ServerAction<DeleteConversation>,
) -> impl IntoView {
    let id = conversation.id;
    let title = conversation.title.clone();
    let editing = RwSignal::new(false);
    let original = StoredValue::new(title.clone());
    let navigate = use_navigate();
    let remove = move |_| {
        delete.dispatch(DeleteConversation { id });
        // Leaving the deleted conversation for a new one.
        if conv_id.get_untracked() == Some(id) {
            navigate(routes::CHAT, Default::default());
        }
    };
    let save = move |value: String| {
        editing.set(false);
        let value = value.trim().to_owned();
        if !value.is_empty() && original.with_value(|t| *t != value) {
            rename.dispatch(RenameConversation { id, title: value });
        }
    };
    view! {
        <li class:active=move || conv_id.get() == Some(id) data-conversation=id.to_string()>
            <Show when=move || editing.get() fallback=move || view! {
                <a class="conversation-link" href=routes::conversation(id)>{original.get_value()}</a>
                <span class="conversation-actions">
                    <button class="icon" type="button" title="Rename" aria-label="Rename"
                        on:click=move |_| editing.set(true)>"✎"</button>
                    <button class="icon" type="button" title="Delete" aria-label="Delete"
                        on:click=remove.clone()>"🗑"</button>
                </span>
            }>
                <input class="rename" aria-label="Conversation title" value=original.get_value() autofocus
                    on:change=move |ev| save(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            editing.set(false);
                        }
                    }/>
            </Show>
        </li>
    }
}

fn rating_of(up: bool) -> (&'static str, i16) {
    if up { ("up", 1) } else { ("down", -1) }
}

#[component]
fn MessageView(
    entry: Entry,
    conv_id: Memo<Option<ConversationId>>,
    branch: ServerAction<BranchConversation>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let assistant = entry.role == "assistant";
    let Entry {
        role,
        id,
        content,
        reasoning,
        tool_calls,
        status,
        error,
        feedback,
        ..
    } = entry;
    let settled = {
        let status = status.clone();
        let id = id.clone();
        move || id.get().is_some() && status.get() != "streaming"
    };
    let rate = {
        let id = id.clone();
        let feedback = feedback.clone();
        move |up: bool| {
            let Some(message_id) = id.get_untracked() else {
                return;
            };
            let (rating, value) = rating_of(up);
            // Clicking the chosen thumb again clears it.
            let clear = feedback.get_untracked() == Some(value);
            let feedback = feedback.clone();
            leptos::task::spawn_local(async move {
                let rating = if clear {
                    String::new()
                } else {
                    rating.to_owned()
                };
                if let Ok(m) = rate_answer(message_id, rating).await {
                    feedback.set(m.feedback);
                }
            });
        }
    };
    let on_branch = {
        let id = id.clone();
        move |_| {
            if let (Some(conversation), Some(message_id)) =
                (conv_id.get_untracked(), id.get_untracked())
            {
                branch.dispatch(BranchConversation {
                    id: conversation,
                    message_id,
                });
            }
        }
    };
    let body = if assistant {
        let reasoning_view = {
            let reasoning = reasoning.clone();
            move || {
                let text = reasoning.get();
                (!text.is_empty()).then(|| {
                    view! {
                        <details class="thinking">
                            <summary>"💭 Thinking"</summary>
                            <div class="md" inner_html=markdown::render(&text)></div>
                        </details>
                    }
                })
            }
        };
        let tools_view = move || {
            tool_calls.get().into_iter().map(|call| view! {
                <details class="tool-call" data-ok=call.ok.to_string()>
                    <summary>"🔧 " {call.name.clone()} {(!call.ok).then_some(" (failed)")}</summary>
                    <p class="muted">"Arguments"</p>
                    <pre><code>{call.arguments.clone()}</code></pre>
                    <p class="muted">"Result"</p>
                    <pre><code>{call.result.clone()}</code></pre>
                </details>
            }).collect_view()
        };
        let status_view = {
            let status = status.clone();
            move || {
                match status.get().as_str() {
                "streaming" => Some(view! { <p class="msg-status streaming" aria-label="Answering">"…"</p> }.into_any()),
                "cancelled" => Some(view! { <p class="msg-status cancelled">"Stopped: cancelled"</p> }.into_any()),
                "error" => Some(view! {
                    <p class="msg-status error" role="alert">
                        {format!("The answer failed: {}", error.get().unwrap_or_else(|| "unknown error".to_owned()))}
                    </p>
                }.into_any()),
                _ => None,
            }
            }
        };
        let md = move || markdown::render(&content.get());
        view! {
            {reasoning_view}
            {tools_view}
            <div class="md answer" inner_html=md></div>
            {status_view}
        }
        .into_any()
    } else {
        view! { <div class="bubble">{move || content.get()}</div> }.into_any()
    };
    let thumbs = {
        let settled = settled.clone();
        let up = rate.clone();
        let down = rate;
        let pressed_up = feedback.clone();
        let pressed_down = feedback;
        move || {
            (assistant && settled()).then(|| {
                let up = up.clone();
                let down = down.clone();
                let pressed_up = pressed_up.clone();
                let pressed_down = pressed_down.clone();
                view! {
                    <button class="icon" type="button" aria-label="Good answer" title="Good answer"
                        aria-pressed=move || (pressed_up.get() == Some(1)).to_string()
                        on:click=move |_| up(true)>"👍"</button>
                    <button class="icon" type="button" aria-label="Bad answer" title="Bad answer"
                        aria-pressed=move || (pressed_down.get() == Some(-1)).to_string()
                        on:click=move |_| down(false)>"👎"</button>
                }
            })
        }
    };
    view! {
        <article class=format!("msg msg-{role}") data-status=move || status.get()>
            {body}
            <div class="msg-actions">
                {thumbs}
                <Show when=move || settled() && !busy.get()>
                    <button class="link" type="button" on:click=on_branch.clone()>"Branch from here"</button>
                </Show>
            </div>
        </article>
    }
}
