//! The chat page (`/chat`, `/chat/{id}`): conversations on the left, the agent picker on top,
//! the selected conversation's messages and the composer. Answers stream in from
//! `POST /api/chat` ([`stream`]) and are rendered as sanitized Markdown, followed by the
//! knowledge passages they were given to cite ([`sources`]).

pub mod sources;
pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of};
use crate::contract::ErrorBody;
use crate::contract::agents::Agent;
use crate::contract::chat::{ChatEvent, ChatTurn, Citation, Conversation, Message, ToolCallRecord};
use crate::contract::guardrails::{DlpChoice, DlpFinding};
use crate::contract::ids::{AgentId, ConversationId, MessageId};
use crate::contract::kinds::{MessageRole, MessageStatus};
use crate::fns::agents::list_agents;
use crate::fns::chat::{
    BranchConversation, CancelTurn, DeleteConversation, RegenerateTitle, RenameConversation,
    decide_dlp, list_conversations, list_messages, rate_answer,
};
use crate::ui::components::{EmptyState, ErrorAlert, LoadError};
use crate::ui::{markdown, routes};
use sources::Sources;

/// The `/chat/:id?` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ChatRoute;

#[lazy_route]
impl LazyRoute for ChatRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ChatPage/> }.into_any()
    }
}

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
    role: MessageRole,
    id: ArcRwSignal<Option<MessageId>>,
    content: ArcRwSignal<String>,
    reasoning: ArcRwSignal<String>,
    tool_calls: ArcRwSignal<Vec<ToolCallRecord>>,
    /// The knowledge passages the answer was given to cite.
    citations: ArcRwSignal<Vec<Citation>>,
    status: ArcRwSignal<MessageStatus>,
    error: ArcRwSignal<Option<String>>,
    feedback: ArcRwSignal<Option<i16>>,
    /// What the guardrails ask the sender about before the question goes on.
    dlp: ArcRwSignal<Vec<DlpFinding>>,
}

impl Entry {
    fn new(role: MessageRole, content: &str, status: MessageStatus) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            key: NEXT.fetch_add(1, Ordering::Relaxed),
            role,
            id: ArcRwSignal::new(None),
            content: ArcRwSignal::new(content.to_owned()),
            reasoning: ArcRwSignal::new(String::new()),
            tool_calls: ArcRwSignal::new(Vec::new()),
            citations: ArcRwSignal::new(Vec::new()),
            status: ArcRwSignal::new(status),
            error: ArcRwSignal::new(None),
            feedback: ArcRwSignal::new(None),
            dlp: ArcRwSignal::new(Vec::new()),
        }
    }

    fn from_message(m: &Message) -> Self {
        let e = Self::new(m.role, "", m.status);
        e.apply(m);
        e
    }

    /// Takes the stored state of the message. Citations streamed before are kept when the
    /// stored message comes without any.
    fn apply(&self, m: &Message) {
        self.id.set(Some(m.id));
        self.content.set(m.content.clone());
        self.reasoning.set(m.reasoning.clone().unwrap_or_default());
        self.tool_calls.set(m.tool_calls.clone());
        if !m.citations.is_empty() {
            self.citations.set(m.citations.clone());
        }
        self.status.set(m.status);
        self.error.set(m.error.clone());
        self.feedback.set(m.feedback);
    }

    fn fail(&self, detail: String) {
        self.status.set(MessageStatus::Error);
        self.error.set(Some(detail));
    }
}

fn parse_uuid(s: Option<String>) -> Option<uuid::Uuid> {
    s.and_then(|s| uuid::Uuid::parse_str(&s).ok())
}

/// The page's state, shared by its parts.
#[derive(Clone, Copy)]
struct Chat {
    conv_id: Memo<Option<ConversationId>>,
    /// The agent picked by hand.
    picked: RwSignal<Option<AgentId>>,
    /// The agent picked by hand; otherwise the conversation's, the one in `?agent=`, the first.
    current_agent: Signal<Option<AgentId>>,
    /// Show the model's thinking: chosen by hand, else the agent's default.
    thinking: RwSignal<Option<bool>>,
    entries: RwSignal<Vec<Entry>>,
    /// The message to page back from, when older messages exist.
    older: RwSignal<Option<MessageId>>,
    loading: RwSignal<bool>,
    busy: RwSignal<bool>,
    in_flight: RwSignal<Option<MessageId>>,
    error: RwSignal<Option<String>>,
    draft: RwSignal<String>,
    /// A conversation the page started itself: its messages are already shown.
    started: RwSignal<Option<ConversationId>>,
    skip_load: StoredValue<Option<ConversationId>>,
    /// Bumped by every streamed piece, to keep the newest text in view.
    tick: RwSignal<u32>,
    /// Bumped when a turn starts a conversation, so the list re-reads.
    list_version: RwSignal<u32>,
}

/// What the page changes on the server.
#[derive(Clone, Copy)]
struct Actions {
    rename: ServerAction<RenameConversation>,
    delete: ServerAction<DeleteConversation>,
    retitle: ServerAction<RegenerateTitle>,
    branch: ServerAction<BranchConversation>,
    stop: ServerAction<CancelTurn>,
}

impl Chat {
    /// Shows the conversation's latest messages, or those before `before` above the others.
    fn load(self, id: ConversationId, before: Option<MessageId>) {
        self.loading.set(true);
        leptos::task::spawn_local(async move {
            match list_messages(id, before).await {
                Ok(page) if self.conv_id.get_untracked() == Some(id) => {
                    let page_entries: Vec<Entry> =
                        page.data.iter().map(Entry::from_message).collect();
                    self.entries.update(|list| match before {
                        Some(_) => {
                            let newer = std::mem::take(list);
                            *list = page_entries;
                            list.extend(newer);
                        }
                        None => *list = page_entries,
                    });
                    self.older.set(page.next_before);
                }
                Ok(_) => {}
                Err(e) => self.error.set(Some(e.detail)),
            }
            self.loading.set(false);
        });
    }

    /// Sends the draft: the question and the answer to come are shown at once, the answer
    /// fills in as it streams.
    fn send(self) {
        let text = self.draft.get_untracked();
        if text.trim().is_empty() || self.busy.get_untracked() {
            return;
        }
        let conversation = self.conv_id.get_untracked();
        let agent = self.current_agent.get_untracked();
        if conversation.is_none() && agent.is_none() {
            self.error.set(Some(
                "Choose an agent first (see the Agents page).".to_owned(),
            ));
            return;
        }
        self.error.set(None);
        self.draft.set(String::new());
        self.busy.set(true);
        let question = Entry::new(MessageRole::User, &text, MessageStatus::Complete);
        let answer = Entry::new(MessageRole::Assistant, "", MessageStatus::Streaming);
        self.entries.update(|list| {
            list.push(question.clone());
            list.push(answer.clone());
        });
        let turn = ChatTurn {
            conversation_id: conversation,
            agent_id: agent,
            message: text,
            reasoning_enabled: self.thinking.get_untracked(),
            images: Vec::new(),
        };
        let last = answer.clone();
        let on_event = move |event: ChatEvent| {
            self.apply(event, &question, &answer, conversation.is_none());
        };
        #[cfg(feature = "hydrate")]
        {
            let answer = last;
            leptos::task::spawn_local(async move {
                let result = stream::post_chat(&turn, on_event).await;
                match result {
                    Err(detail) => answer.fail(detail),
                    Ok(()) if answer.status.get_untracked() == MessageStatus::Streaming => {
                        answer.fail("The connection closed before the answer finished.".to_owned());
                    }
                    Ok(()) => {}
                }
                self.in_flight.set(None);
                self.busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (turn, on_event, last);
    }

    /// One streamed event of the turn asking `question`, answered in `answer`.
    fn apply(self, event: ChatEvent, question: &Entry, answer: &Entry, new_conversation: bool) {
        match event {
            ChatEvent::Start {
                conversation_id,
                user_message_id,
                message_id,
            } => {
                question.id.set(Some(user_message_id));
                answer.id.set(Some(message_id));
                self.in_flight.set(Some(message_id));
                if new_conversation {
                    self.skip_load.set_value(Some(conversation_id));
                    self.started.set(Some(conversation_id));
                }
                self.list_version.update(|n| *n += 1);
            }
            ChatEvent::Delta { content } => answer.content.update(|c| c.push_str(&content)),
            ChatEvent::Reasoning { content } => {
                answer.reasoning.update(|r| r.push_str(&content));
            }
            ChatEvent::Citations { citations } => answer.citations.set(citations),
            ChatEvent::ToolCall { call } => answer.tool_calls.update(|t| t.push(call)),
            ChatEvent::DlpFinding { findings, .. } => answer.dlp.set(findings),
            ChatEvent::Done { message, .. } => {
                answer.dlp.set(Vec::new());
                answer.apply(&message);
            }
            ChatEvent::Error { message, .. } => {
                answer.dlp.set(Vec::new());
                answer.fail(message);
            }
        }
        self.tick.update(|n| *n = n.wrapping_add(1));
    }
}

/// Keeps the page in step: a conversation opened (or left) shows its latest messages; one the
/// page started, or a branch, gets its address; a stopped answer takes its stored state.
fn follow(chat: Chat, actions: Actions) {
    Effect::new(move |_| {
        let id = chat.conv_id.get();
        chat.picked.set(None);
        chat.error.set(None);
        if id.is_some() && id == chat.skip_load.get_value() {
            chat.skip_load.set_value(None);
            return;
        }
        chat.entries.set(Vec::new());
        chat.older.set(None);
        if let Some(id) = id {
            chat.load(id, None);
        }
    });
    let navigate = use_navigate();
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let Some(id) = chat.started.get() {
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
    Effect::new(move |_| {
        if let Some(Ok(c)) = actions.branch.value().get() {
            navigate(&routes::conversation(c.id), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(m)) = actions.stop.value().get() {
            let entry = chat.entries.with_untracked(|list| {
                list.iter()
                    .find(|e| e.id.get_untracked() == Some(m.id))
                    .cloned()
            });
            if let Some(e) = entry {
                e.apply(&m);
            }
        }
    });
}

#[component]
fn ChatView() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let conv_id = Memo::new(move |_| parse_uuid(params.with(|p| p.get("id"))).map(ConversationId));
    let query_agent = Memo::new(move |_| parse_uuid(query.with(|q| q.get("agent"))).map(AgentId));

    let actions = Actions {
        rename: ServerAction::new(),
        delete: ServerAction::new(),
        retitle: ServerAction::new(),
        branch: ServerAction::new(),
        stop: ServerAction::new(),
    };
    let list_version = RwSignal::new(0u32);
    let conversations = Resource::new(
        move || {
            (
                list_version.get(),
                actions.rename.version().get(),
                actions.delete.version().get(),
                actions.retitle.version().get(),
                actions.branch.version().get(),
            )
        },
        |_| list_conversations(),
    );
    let agents = Resource::new(|| (), |_| list_agents());

    let picked = RwSignal::new(None::<AgentId>);
    let current_agent = Signal::derive(move || {
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
    });
    let chat = Chat {
        conv_id,
        picked,
        current_agent,
        thinking: RwSignal::new(None),
        entries: RwSignal::new(Vec::new()),
        older: RwSignal::new(None),
        loading: RwSignal::new(false),
        busy: RwSignal::new(false),
        in_flight: RwSignal::new(None),
        error: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        started: RwSignal::new(None),
        skip_load: StoredValue::new(None),
        tick: RwSignal::new(0),
        list_version,
    };
    follow(chat, actions);

    view! {
        <div class="chat">
            <ConversationList conversations conv_id actions/>
            <section class="chat-main">
                <header class="chat-head">
                    <AgentPicker agents chat/>
                    <ChatTitle conversations conv_id retitle=actions.retitle/>
                </header>
                <ErrorAlert message=error_of(actions.retitle)/>
                <ErrorAlert message=error_of(actions.branch)/>
                <MessageList chat branch=actions.branch/>
                <ErrorAlert message=chat.error/>
                <Composer chat stop=actions.stop/>
            </section>
        </div>
    }
}

/// The conversations, newest first, each to open, rename or delete.
#[component]
fn ConversationList(
    conversations: Resource<Result<Vec<Conversation>, ErrorBody>>,
    conv_id: Memo<Option<ConversationId>>,
    actions: Actions,
) -> impl IntoView {
    let Actions { rename, delete, .. } = actions;
    view! {
        <aside class="chat-side" aria-label="Conversations">
            <a class="button new-chat" href=routes::CHAT>"New chat"</a>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || conversations.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <EmptyState>"No conversations yet."</EmptyState> }.into_any(),
                    Ok(list) => view! {
                        <ul class="conversations">
                            {list.into_iter().map(|c| view! { <ConversationItem conversation=c conv_id rename delete/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                })}
            </Transition>
        </aside>
    }
}

/// The agent to answer, and whether it shows its thinking.
#[component]
fn AgentPicker(agents: Resource<Result<Vec<Agent>, ErrorBody>>, chat: Chat) -> impl IntoView {
    let Chat {
        picked, thinking, ..
    } = chat;
    view! {
        <Transition fallback=|| view! { <span class="muted">"Loading agents…"</span> }>
            {move || agents.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <span class="muted">"No agents yet: " <a href=routes::AGENTS>"create one"</a></span>
                }.into_any(),
                Ok(list) => {
                    let chosen = chat.current_agent.get();
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
    }
}

/// The open conversation's title, and the button asking the model for a new one.
#[component]
fn ChatTitle(
    conversations: Resource<Result<Vec<Conversation>, ErrorBody>>,
    conv_id: Memo<Option<ConversationId>>,
    retitle: ServerAction<RegenerateTitle>,
) -> impl IntoView {
    view! {
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
    }
}

/// The messages, kept scrolled to the newest; older ones load on demand.
#[component]
fn MessageList(chat: Chat, branch: ServerAction<BranchConversation>) -> impl IntoView {
    let Chat {
        conv_id,
        entries,
        older,
        loading,
        busy,
        tick,
        ..
    } = chat;
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        entries.track();
        tick.track();
        #[cfg(feature = "hydrate")]
        if let Some(el) = scroller.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    view! {
        <div class="messages" node_ref=scroller aria-live="polite">
            <Show when=move || older.get().is_some()>
                <button class="button secondary load-older" type="button" disabled=move || loading.get()
                    on:click=move |_| {
                        if let (Some(id), Some(before)) = (conv_id.get_untracked(), older.get_untracked()) {
                            chat.load(id, Some(before));
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
    }
}

/// The message box: Enter sends, Shift+Enter adds a line; Stop while an answer streams.
#[component]
fn Composer(chat: Chat, stop: ServerAction<CancelTurn>) -> impl IntoView {
    let Chat {
        busy,
        in_flight,
        draft,
        ..
    } = chat;
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            chat.send();
        }
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); chat.send(); }>
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
    let assistant = entry.role == MessageRole::Assistant;
    let role = entry.role;
    let status = entry.status.clone();
    let settled = {
        let status = entry.status.clone();
        let id = entry.id.clone();
        move || id.get().is_some() && status.get() != MessageStatus::Streaming
    };
    let on_branch = {
        let id = entry.id.clone();
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
    let thumbs = {
        let settled = settled.clone();
        let entry = entry.clone();
        move || (assistant && settled()).then(|| view! { <Thumbs entry=entry.clone()/> })
    };
    let body = if assistant {
        view! { <AnswerBody entry/> }.into_any()
    } else {
        let content = entry.content;
        view! { <div class="bubble">{move || content.get()}</div> }.into_any()
    };
    view! {
        <article class=format!("msg msg-{role}") data-status=move || status.get().as_str()>
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

/// An answer: the model's thinking and tool calls (folded), the Markdown text, and how it ended
/// when it did not complete.
#[component]
fn AnswerBody(entry: Entry) -> impl IntoView {
    let Entry {
        id: entry_id,
        content,
        reasoning,
        tool_calls,
        citations,
        status,
        error,
        dlp,
        ..
    } = entry;
    let reasoning_view = move || {
        let text = reasoning.get();
        (!text.is_empty()).then(|| {
            view! {
                <details class="thinking">
                    <summary>"💭 Thinking"</summary>
                    <div class="md" inner_html=markdown::render(&text)></div>
                </details>
            }
        })
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
    let status_view = move || {
        match status.get() {
        MessageStatus::Streaming => Some(view! { <p class="msg-status streaming" aria-label="Answering">"…"</p> }.into_any()),
        MessageStatus::Cancelled => Some(view! { <p class="msg-status cancelled">"Stopped: cancelled"</p> }.into_any()),
        MessageStatus::Error => Some(view! {
            <p class="msg-status error" role="alert">
                {format!("The answer failed: {}", error.get().unwrap_or_else(|| "unknown error".to_owned()))}
            </p>
        }.into_any()),
        MessageStatus::Complete => None,
    }
    };
    let md = {
        let citations = citations.clone();
        move || citations.with(|c| sources::mark_citations(&markdown::render(&content.get()), c))
    };
    view! {
        <DlpPrompt id=entry_id dlp/>
        {reasoning_view}
        {tools_view}
        <div class="md answer" inner_html=md></div>
        <Sources citations/>
        {status_view}
    }
}

/// What the organisation's guardrails ask about the question (an `ask` rule): send it as
/// written, send it redacted, or do not send it. The turn waits (5 minutes at most).
#[component]
fn DlpPrompt(
    id: ArcRwSignal<Option<MessageId>>,
    dlp: ArcRwSignal<Vec<DlpFinding>>,
) -> impl IntoView {
    let decide = {
        let dlp = dlp.clone();
        move |decision: DlpChoice| {
            let Some(message_id) = id.get_untracked() else {
                return;
            };
            dlp.set(Vec::new());
            leptos::task::spawn_local(async move {
                let _ = decide_dlp(message_id, decision).await;
            });
        }
    };
    let shown = dlp.clone();
    move || {
        let findings = shown.get();
        (!findings.is_empty()).then(|| {
            let decide = decide.clone();
            let (allow, redact, block) = (decide.clone(), decide.clone(), decide);
            let items = findings
                .into_iter()
                .map(|f| {
                    let what = f.pattern.clone().unwrap_or_else(|| f.detector.as_str().replace('_', " "));
                    view! { <li>{what} ": " <code>{f.preview}</code></li> }
                })
                .collect_view();
            view! {
                <div class="dlp-prompt" role="alertdialog" aria-label="Sensitive data found">
                    <p>"Your message contains data your organisation asks about before it is sent to the model:"</p>
                    <ul>{items}</ul>
                    <div class="actions">
                        <button class="button" type="button" on:click=move |_| allow(DlpChoice::Allow)>"Send as written"</button>
                        <button class="button" type="button" on:click=move |_| redact(DlpChoice::Redact)>"Send redacted"</button>
                        <button class="button danger" type="button" on:click=move |_| block(DlpChoice::Block)>"Don't send"</button>
                    </div>
                </div>
            }
        })
    }
}

/// Thumbs up and down on a settled answer; clicking the chosen one again clears it.
#[component]
fn Thumbs(entry: Entry) -> impl IntoView {
    let Entry { id, feedback, .. } = entry;
    let rate = {
        let feedback = feedback.clone();
        move |up: bool| {
            let Some(message_id) = id.get_untracked() else {
                return;
            };
            let (rating, value) = rating_of(up);
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
    let up = rate.clone();
    let down = rate;
    let pressed_up = feedback.clone();
    let pressed_down = feedback;
    view! {
        <button class="icon" type="button" aria-label="Good answer" title="Good answer"
            aria-pressed=move || (pressed_up.get() == Some(1)).to_string()
            on:click=move |_| up(true)>"👍"</button>
        <button class="icon" type="button" aria-label="Bad answer" title="Bad answer"
            aria-pressed=move || (pressed_down.get() == Some(-1)).to_string()
            on:click=move |_| down(false)>"👎"</button>
    }
}
