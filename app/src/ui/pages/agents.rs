//! Agents: the list of agents the user can see, and the form that creates or edits one (model,
//! prompt, parameters, tools, knowledge bases, visibility); chat with, duplicate, publish or
//! delete each.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of, is_admin};
use crate::contract::agents::{
    Agent, AgentParameters, AgentTool, NewAgent, UpdateAgent, Visibility,
};
use crate::contract::ids::{GroupId, KbId, ProviderId};
use crate::contract::knowledge::KnowledgeBase;
use crate::contract::orgs::Group;
use crate::contract::providers::Provider;
use crate::fns::admin::list_groups;
use crate::fns::agents::{
    CopyAgent, CreateAgent, DeleteAgent, EditAgent, PublishAgent, agent_tools, list_agents,
    tool_catalogue,
};
use crate::fns::auth::SessionUser;
use crate::fns::knowledge::list_knowledge_bases;
use crate::fns::providers::list_providers;
use crate::ui::components::{
    CheckField, DataTable, EmptyState, ErrorAlert, Field, LoadError, Loaded, PageCard,
};
use crate::ui::routes;

/// The `/agents` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct AgentsRoute;

#[lazy_route]
impl LazyRoute for AgentsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <AgentsPage/> }.into_any()
    }
}

#[component]
pub fn AgentsPage() -> impl IntoView {
    view! {
        <SignedIn title="Agents" let:user>
            <AgentsManager user/>
        </SignedIn>
    }
}

/// What the form is editing.
#[derive(Clone)]
enum Editor {
    New,
    Edit(Box<Agent>),
}

#[component]
fn AgentsManager(user: SessionUser) -> impl IntoView {
    let create = ServerAction::<CreateAgent>::new();
    let edit = ServerAction::<EditAgent>::new();
    let copy = ServerAction::<CopyAgent>::new();
    let publish = ServerAction::<PublishAgent>::new();
    let delete = ServerAction::<DeleteAgent>::new();
    let agents = Resource::new(
        move || {
            (
                create.version().get(),
                edit.version().get(),
                copy.version().get(),
                publish.version().get(),
                delete.version().get(),
            )
        },
        |_| list_agents(),
    );
    let editor = RwSignal::new(None::<Editor>);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) || matches!(edit.value().get(), Some(Ok(_)))
        {
            editor.set(None);
        }
    });
    let errors = move || {
        error_of(copy)()
            .or_else(error_of(publish))
            .or_else(error_of(delete))
    };
    let me = user.id;
    let admin = is_admin(&user);
    view! {
        <PageCard title="Agents" actions=Box::new(move || view! {
            <button class="button" type="button" on:click=move |_| editor.set(Some(Editor::New))>"New agent"</button>
        }.into_any())>
            <p>"An agent is a model with a system prompt, parameters and tools. Chat with it here, or call it over the API."</p>
            <ErrorAlert message=errors/>
        </PageCard>
        {move || editor.get().map(|ed| view! { <EditorPanel editor=ed create edit on_close=move || editor.set(None)/> })}
        <section class="card">
            <Loaded resource=agents loading="Loading agents…" let:list>
                {if list.is_empty() {
                    view! { <EmptyState>"No agents yet."</EmptyState> }.into_any()
                } else {
                    view! {
                        <DataTable class="ops agents"
                            headers=&["Name", "Model", "Visibility", "Tools", "Published", ""]>
                            {list.into_iter().map(|a| {
                                let can_edit = admin || a.owner_id == me;
                                view! { <AgentRow agent=a can_edit editor copy publish delete/> }
                            }).collect_view()}
                        </DataTable>
                    }.into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn AgentRow(
    agent: Agent,
    can_edit: bool,
    editor: RwSignal<Option<Editor>>,
    copy: ServerAction<CopyAgent>,
    publish: ServerAction<PublishAgent>,
    delete: ServerAction<DeleteAgent>,
) -> impl IntoView {
    let id = agent.id;
    let published = agent.published;
    let tools = if agent.tools.is_empty() {
        "—".to_owned()
    } else {
        agent.tools.join(", ")
    };
    let stored = StoredValue::new(agent.clone());
    view! {
        <tr data-agent=agent.name.clone()>
            <td><strong>{agent.name.clone()}</strong><br/><small class="muted">{agent.description.clone()}</small></td>
            <td><code>{agent.model.clone()}</code></td>
            <td>{agent.visibility.as_str()}</td>
            <td>{tools}</td>
            <td>{if published { "yes" } else { "no" }}</td>
            <td class="actions">
                <a class="button" href=routes::chat_with(id)>"Chat"</a>
                <Show when=move || can_edit>
                    <button class="button secondary" type="button"
                        on:click=move |_| editor.set(Some(Editor::Edit(Box::new(stored.get_value()))))>"Edit"</button>
                </Show>
                <button class="button secondary" type="button"
                    on:click=move |_| { copy.dispatch(CopyAgent { id }); }>"Duplicate"</button>
                <Show when=move || can_edit && !published>
                    <button class="button secondary" type="button"
                        on:click=move |_| { publish.dispatch(PublishAgent { id }); }>"Publish"</button>
                </Show>
                <Show when=move || can_edit>
                    <button class="button danger" type="button"
                        on:click=move |_| { delete.dispatch(DeleteAgent { id }); }>"Delete"</button>
                </Show>
            </td>
        </tr>
    }
}

/// Loads what the form offers (providers, groups, tools, knowledge bases), then shows it.
#[component]
fn EditorPanel(
    editor: Editor,
    create: ServerAction<CreateAgent>,
    edit: ServerAction<EditAgent>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let target = match &editor {
        Editor::New => None,
        Editor::Edit(a) => Some(a.id),
    };
    let providers = Resource::new(|| (), |_| list_providers());
    let groups = Resource::new(|| (), |_| list_groups());
    let knowledge = Resource::new(|| (), |_| list_knowledge_bases());
    let tools = Resource::new(
        move || target,
        |target| async move {
            match target {
                Some(id) => agent_tools(id).await,
                None => tool_catalogue().await,
            }
        },
    );
    let agent = match editor {
        Editor::New => None,
        Editor::Edit(a) => Some(*a),
    };
    let agent = StoredValue::new(agent);
    view! {
        <section class="card" aria-label="Agent editor">
            <h2>{if target.is_some() { "Edit agent" } else { "New agent" }}</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let providers = providers.get()?;
                    let tools = tools.get()?;
                    let knowledge = knowledge.get()?;
                    let groups = groups.get()?.unwrap_or_default();
                    Some(match (providers, tools, knowledge) {
                        (Ok(providers), Ok(tools), Ok(knowledge)) => view! {
                            <AgentForm agent=agent.get_value() providers tools knowledge groups create edit on_close/>
                        }.into_any(),
                        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                            view! { <LoadError error/> }.into_any()
                        }
                    })
                }}
            </Transition>
            <ErrorAlert message=move || error_of(create)().or_else(error_of(edit))/>
        </section>
    }
}

fn model_ids(providers: &[Provider], provider: &str) -> Vec<String> {
    providers
        .iter()
        .find(|p| p.id.to_string() == provider)
        .map(|p| p.models.iter().map(|m| m.id.clone()).collect())
        .unwrap_or_default()
}

fn number<T: std::str::FromStr>(field: &str, s: &str) -> Result<Option<T>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{field} must be a number."))
}

/// A new agent's starting values: the first provider and its first model.
fn blank_agent(providers: &[Provider]) -> Agent {
    Agent {
        id: uuid::Uuid::nil().into(),
        name: String::new(),
        description: String::new(),
        system_prompt: "You are a helpful assistant.".to_owned(),
        provider_id: providers.first().map(|p| p.id),
        model: providers
            .first()
            .and_then(|p| p.models.first())
            .map(|m| m.id.clone())
            .unwrap_or_default(),
        parameters: AgentParameters::default(),
        reasoning_enabled: false,
        tools: Vec::new(),
        knowledge_base_ids: Vec::new(),
        visibility: Visibility::Private,
        group_ids: Vec::new(),
        published: false,
        owner_id: uuid::Uuid::nil().into(),
        created_at: chrono::DateTime::UNIX_EPOCH,
        updated_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// The form's values as typed; numbers stay text until submitted.
#[derive(Clone, Copy)]
struct Draft {
    name: RwSignal<String>,
    description: RwSignal<String>,
    prompt: RwSignal<String>,
    provider: RwSignal<String>,
    model: RwSignal<String>,
    temperature: RwSignal<String>,
    max_tokens: RwSignal<String>,
    reasoning: RwSignal<bool>,
    tools: RwSignal<Vec<String>>,
    visibility: RwSignal<String>,
    groups: RwSignal<Vec<GroupId>>,
    /// The attached knowledge bases, with those the user does not see (kept).
    knowledge_base_ids: RwSignal<Vec<KbId>>,
    /// Those attached when the form opened: an edit sends the list only when it changed, so
    /// that saving other fields never re-checks them.
    attached: StoredValue<Vec<KbId>>,
    /// Kept as it is: the form does not edit it.
    top_p: Option<f32>,
}

impl Draft {
    fn new(a: &Agent) -> Self {
        let text = |n: Option<String>| RwSignal::new(n.unwrap_or_default());
        Self {
            name: RwSignal::new(a.name.clone()),
            description: RwSignal::new(a.description.clone()),
            prompt: RwSignal::new(a.system_prompt.clone()),
            provider: text(a.provider_id.map(|p| p.to_string())),
            model: RwSignal::new(a.model.clone()),
            temperature: text(a.parameters.temperature.map(|t| t.to_string())),
            max_tokens: text(a.parameters.max_tokens.map(|t| t.to_string())),
            reasoning: RwSignal::new(a.reasoning_enabled),
            tools: RwSignal::new(a.tools.clone()),
            visibility: RwSignal::new(a.visibility.as_str().to_owned()),
            groups: RwSignal::new(a.group_ids.clone()),
            knowledge_base_ids: RwSignal::new(a.knowledge_base_ids.clone()),
            attached: StoredValue::new(a.knowledge_base_ids.clone()),
            top_p: a.parameters.top_p,
        }
    }

    /// The parameters, or the sentence saying which number is not one.
    fn parameters(&self) -> Result<AgentParameters, String> {
        Ok(AgentParameters {
            temperature: number("Temperature", &self.temperature.get_untracked())?,
            top_p: self.top_p,
            max_tokens: number("Max tokens", &self.max_tokens.get_untracked())?,
        })
    }

    fn provider_id(&self) -> Option<ProviderId> {
        uuid::Uuid::parse_str(&self.provider.get_untracked())
            .ok()
            .map(ProviderId)
    }

    /// The visibility, and the groups when it is for groups.
    fn audience(&self) -> (Visibility, Vec<GroupId>) {
        let visibility =
            Visibility::parse(&self.visibility.get_untracked()).unwrap_or(Visibility::Private);
        let groups = if visibility == Visibility::Groups {
            self.groups.get_untracked()
        } else {
            Vec::new()
        };
        (visibility, groups)
    }

    fn new_agent(&self, parameters: AgentParameters) -> NewAgent {
        let (visibility, group_ids) = self.audience();
        NewAgent {
            name: self.name.get_untracked(),
            description: self.description.get_untracked(),
            system_prompt: self.prompt.get_untracked(),
            provider_id: self.provider_id(),
            model: self.model.get_untracked(),
            parameters,
            reasoning_enabled: self.reasoning.get_untracked(),
            tools: self.tools.get_untracked(),
            knowledge_base_ids: self.knowledge_base_ids.get_untracked(),
            visibility,
            group_ids,
        }
    }

    fn update(&self, parameters: AgentParameters) -> UpdateAgent {
        let (visibility, group_ids) = self.audience();
        let knowledge = self.knowledge_base_ids.get_untracked();
        let knowledge_changed = !same_members(&knowledge, &self.attached.get_value());
        UpdateAgent {
            name: Some(self.name.get_untracked()),
            description: Some(self.description.get_untracked()),
            system_prompt: Some(self.prompt.get_untracked()),
            provider_id: Some(self.provider_id()),
            model: Some(self.model.get_untracked()),
            parameters: Some(parameters),
            reasoning_enabled: Some(self.reasoning.get_untracked()),
            tools: Some(self.tools.get_untracked()),
            knowledge_base_ids: knowledge_changed.then_some(knowledge),
            visibility: Some(visibility),
            group_ids: Some(group_ids),
        }
    }
}

#[component]
fn AgentForm(
    agent: Option<Agent>,
    providers: Vec<Provider>,
    tools: Vec<AgentTool>,
    knowledge: Vec<KnowledgeBase>,
    groups: Vec<Group>,
    create: ServerAction<CreateAgent>,
    edit: ServerAction<EditAgent>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = agent.as_ref().map(|a| a.id);
    let draft = Draft::new(&agent.unwrap_or_else(|| blank_agent(&providers)));
    let form_error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parameters = match draft.parameters() {
            Ok(p) => p,
            Err(e) => {
                form_error.set(Some(e));
                return;
            }
        };
        form_error.set(None);
        match id {
            None => {
                create.dispatch(CreateAgent {
                    input: draft.new_agent(parameters),
                });
            }
            Some(id) => {
                edit.dispatch(EditAgent {
                    id,
                    input: draft.update(parameters),
                });
            }
        }
    };
    let pending = move || create.pending().get() || edit.pending().get();
    let Draft {
        name,
        description,
        prompt,
        temperature,
        max_tokens,
        reasoning,
        ..
    } = draft;

    view! {
        <form class="agent-form" on:submit=submit>
            <Field label="Name"><input name="name" required maxlength="100" bind:value=name/></Field>
            <Field label="Description"><input name="description" maxlength="2000" bind:value=description/></Field>
            <Field label="System prompt">
                <textarea name="system_prompt" rows="6" bind:value=prompt></textarea>
            </Field>
            <ModelChoice providers draft/>
            <div class="form-row">
                <Field label="Temperature">
                    <input name="temperature" type="number" min="0" max="2" step="0.1" placeholder="default" bind:value=temperature/>
                </Field>
                <Field label="Max tokens">
                    <input name="max_tokens" type="number" min="1" step="1" placeholder="default" bind:value=max_tokens/>
                </Field>
            </div>
            <CheckField label=" Show the model's thinking by default">
                <input type="checkbox" name="reasoning_enabled" bind:checked=reasoning/>
            </CheckField>
            <ToolChoice tools enabled=draft.tools/>
            <KnowledgeChoice bases=knowledge chosen=draft.knowledge_base_ids/>
            <AudienceChoice groups visibility=draft.visibility chosen=draft.groups/>
            <ErrorAlert message=form_error/>
            <div class="form-actions">
                <button class="button" type="submit" disabled=pending>
                    {if id.is_some() { "Save agent" } else { "Create agent" }}
                </button>
                <button class="button secondary" type="button" on:click=move |_| on_close()>"Cancel"</button>
            </div>
        </form>
    }
}

/// The provider and, below it, the models it offers (the current one kept when it is not
/// listed); choosing a provider picks its first model.
#[component]
fn ModelChoice(providers: Vec<Provider>, draft: Draft) -> impl IntoView {
    let Draft {
        provider, model, ..
    } = draft;
    let providers = StoredValue::new(providers);
    let on_provider = move |ev: leptos::ev::Event| {
        let p = event_target_value(&ev);
        let first = providers
            .with_value(|list| model_ids(list, &p))
            .into_iter()
            .next();
        provider.set(p);
        model.set(first.unwrap_or_default());
    };
    let model_options = move || {
        let mut ids = providers.with_value(|list| model_ids(list, &provider.get()));
        let current = model.get();
        if !current.is_empty() && !ids.contains(&current) {
            ids.insert(0, current.clone());
        }
        ids.into_iter()
            .map(|m| {
                let selected = m == current;
                view! { <option value=m.clone() selected=selected>{m.clone()}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="form-row">
            <Field label="Provider">
                <select name="provider" on:change=on_provider>
                    {providers.with_value(|list| list.iter().map(|p| {
                        let value = p.id.to_string();
                        let v = value.clone();
                        view! { <option value=value selected=move || provider.get() == v>{p.name.clone()}</option> }
                    }).collect_view())}
                </select>
            </Field>
            <Field label="Model">
                <select name="model" on:change=move |ev| model.set(event_target_value(&ev))>
                    {model_options}
                </select>
            </Field>
        </div>
    }
}

/// A checkbox per tool of the catalogue; `enabled` holds the names of those ticked.
#[component]
fn ToolChoice(tools: Vec<AgentTool>, enabled: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Tools"</legend>
            {tools.into_iter().map(|t| {
                let tool = t.name.clone();
                let toggle = t.name.clone();
                view! {
                    <label class="check" title=t.description.clone()>
                        <input type="checkbox" name="tools" value=t.name.clone()
                            prop:checked=move || enabled.with(|e| e.contains(&tool))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                let name = toggle.clone();
                                enabled.update(|e| {
                                    e.retain(|n| *n != name);
                                    if on { e.push(name); }
                                });
                            }/>
                        " " {t.title.clone()} " " <small class="muted">{t.description.clone()}</small>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// Whether two lists hold the same items, in any order.
pub(crate) fn same_members<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

/// A checkbox per knowledge base the user sees; `chosen` holds the attached ones, including
/// any the user does not see, which stay attached.
#[component]
fn KnowledgeChoice(bases: Vec<KnowledgeBase>, chosen: RwSignal<Vec<KbId>>) -> impl IntoView {
    let listed: Vec<KbId> = bases.iter().map(|k| k.id).collect();
    let unseen = move || chosen.with(|c| c.iter().filter(|id| !listed.contains(*id)).count());
    view! {
        <fieldset>
            <legend>"Knowledge bases"</legend>
            {bases.iter().map(|kb| {
                let id = kb.id;
                view! {
                    <label class="check" title=kb.description.clone()>
                        <input type="checkbox" name="knowledge_base_ids" value=id.to_string()
                            prop:checked=move || chosen.with(|c| c.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| {
                                    c.retain(|x| *x != id);
                                    if on { c.push(id); }
                                });
                            }/>
                        " " {kb.name.clone()} " " <small class="muted">{kb.slug.clone()}</small>
                    </label>
                }
            }).collect_view()}
            {bases.is_empty().then(|| view! {
                <p class="muted">"No knowledge bases yet (see the " <a href=routes::KNOWLEDGE>"Knowledge"</a> " page)."</p>
            })}
            {move || {
                let n = unseen();
                (n > 0).then(|| view! {
                    <p class="muted">{format!("Also attached: {n} knowledge base(s) you cannot see; they stay attached.")}</p>
                })
            }}
        </fieldset>
    }
}

/// Who sees an agent or a knowledge base (`app/src/ui/pages/knowledge.rs`); for groups, a
/// checkbox per group (`chosen`).
#[component]
pub(crate) fn AudienceChoice(
    groups: Vec<Group>,
    visibility: RwSignal<String>,
    chosen: RwSignal<Vec<GroupId>>,
) -> impl IntoView {
    let vis_option = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=move || visibility.get() == value>{label}</option> }
    };
    view! {
        <Field label="Visibility">
            <select name="visibility" on:change=move |ev| visibility.set(event_target_value(&ev))>
                {vis_option("private", "Private: only me")}
                {vis_option("groups", "Groups")}
                {vis_option("organization", "Organisation")}
                {vis_option("public", "Public (marketplace)")}
            </select>
        </Field>
        <Show when=move || visibility.get() == "groups">
            <fieldset>
                <legend>"Groups"</legend>
                {groups.iter().map(|g| {
                    let gid: GroupId = g.id;
                    view! {
                        <label class="check">
                            <input type="checkbox" name="group_ids" value=gid.to_string()
                                prop:checked=move || chosen.with(|c| c.contains(&gid))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| *x != gid);
                                        if on { c.push(gid); }
                                    });
                                }/>
                            " " {g.name.clone()}
                        </label>
                    }
                }).collect_view()}
                {groups.is_empty().then(|| view! { <p class="muted">"No groups yet (see the Groups page)."</p> })}
            </fieldset>
        </Show>
    }
}
