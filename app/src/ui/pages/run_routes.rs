//! Routes: the organisation's named policies for governed runs (docs/RUNS.md): what answers
//! (an agent or a model), when a run waits for an approver, who approves and for how long.
//! Admins create, change and delete them; members see the list.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of, is_admin};
use crate::contract::ErrorBody;
use crate::contract::agents::Agent;
use crate::contract::auth::User;
use crate::contract::ids::{AgentId, GroupId, RouteId, UserId};
use crate::contract::kinds::ApprovalMode;
use crate::contract::orgs::Group;
use crate::contract::runs::{DEFAULT_ROUTE, Route};
use crate::fns::admin::{list_groups, list_users};
use crate::fns::agents::list_agents;
use crate::fns::runs::{CreateRoute, DeleteRoute, EditRoute, RouteForm, list_routes};
use crate::ui::components::{
    ConfirmDelete, DataTable, EmptyState, ErrorAlert, Field, LoadError, PageCard, SaveOutcome,
};
use crate::ui::routes;

/// The `/routes` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct RunRoutesRoute;

#[lazy_route]
impl LazyRoute for RunRoutesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <RunRoutesPage/> }.into_any()
    }
}

#[component]
pub fn RunRoutesPage() -> impl IntoView {
    view! {
        <SignedIn title="Routes" let:user>
            <RoutesManager admin=is_admin(&user)/>
        </SignedIn>
    }
}

/// What the form offers and the list names: the organisation's agents, people (admins only
/// may list them) and groups.
#[derive(Clone, Default)]
struct Choices {
    agents: Vec<Agent>,
    people: Vec<User>,
    groups: Vec<Group>,
}

impl Choices {
    /// What answers the route, in words.
    fn target(&self, route: &Route) -> String {
        match (route.agent_id, &route.model) {
            (Some(agent), _) => self
                .agents
                .iter()
                .find(|a| a.id == agent)
                .map_or_else(|| format!("agent {agent}"), |a| format!("agent {}", a.name)),
            (None, Some(model)) => format!("model {model}"),
            (None, None) => "the organisation's default model".to_owned(),
        }
    }

    /// Who approves the route's runs, in words.
    fn approvers(&self, route: &Route) -> String {
        let mut names: Vec<String> = Vec::new();
        let mut unknown = 0usize;
        for id in &route.approver_user_ids {
            match self.people.iter().find(|p| p.id == *id) {
                Some(p) => names.push(p.name.clone()),
                None => unknown += 1,
            }
        }
        if unknown > 0 {
            names.push(if unknown == 1 {
                "1 person".to_owned()
            } else {
                format!("{unknown} people")
            });
        }
        for id in &route.approver_group_ids {
            names.push(
                self.groups
                    .iter()
                    .find(|g| g.id == *id)
                    .map_or_else(|| "a group".to_owned(), |g| format!("group {}", g.name)),
            );
        }
        if names.is_empty() {
            "the organisation's admins".to_owned()
        } else {
            names.join(", ")
        }
    }
}

fn approval_text(route: &Route) -> String {
    match route.approval {
        ApprovalMode::Never => "never".to_owned(),
        ApprovalMode::Always => "always".to_owned(),
        ApprovalMode::AboveCost => format!(
            "above {} credits",
            route
                .approval_cost_above
                .map_or_else(|| "?".to_owned(), |c| c.to_string())
        ),
        ApprovalMode::OnAsk => "when a guardrail asks".to_owned(),
    }
}

fn timeout_text(minutes: u32) -> String {
    match minutes {
        m if m > 0 && m % (24 * 60) == 0 => format!("{} d", m / (24 * 60)),
        m if m > 0 && m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

#[component]
fn RoutesManager(admin: bool) -> impl IntoView {
    let create = ServerAction::<CreateRoute>::new();
    let edit = ServerAction::<EditRoute>::new();
    let delete = ServerAction::<DeleteRoute>::new();
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                edit.version().get(),
                delete.version().get(),
            )
        },
        |_| list_routes(),
    );
    let agents = Resource::new(|| (), |_| list_agents());
    let groups = Resource::new(|| (), |_| list_groups());
    // Only admins may list the organisation's people (members see how many approve).
    let people = Resource::new(
        move || admin,
        |admin| async move {
            if admin {
                list_users().await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let choices = move || -> Option<Result<Choices, ErrorBody>> {
        let agents = agents.get()?;
        let people = people.get()?;
        let groups = groups.get()?;
        Some(match (agents, people, groups) {
            (Ok(agents), Ok(people), Ok(groups)) => Ok(Choices {
                agents,
                people,
                groups,
            }),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
        })
    };
    // Bumped after a route is created: the form starts again empty.
    let created = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            created.update(|n| *n += 1);
        }
    });
    let editing = RwSignal::new(None::<RouteId>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = edit.value().get() {
            editing.set(None);
        }
    });
    view! {
        <PageCard title="Routes">
            <p>
                "A route is a named policy for runs: what answers (an agent or a model), when a run "
                "waits for an approver, who approves, and how long it may wait. Runs name it in "
                <code>"POST /v1/runs"</code> " (" <code>"route"</code> "), and "
                <code>"/v1/chat/completions"</code> " takes it as " <code>"model"</code> ". "
                "Decisions are made on the " <a href=routes::APPROVALS>"Approvals"</a> " page."
            </p>
            <Show when=move || admin fallback=|| view! {
                <p class="muted">"Only organisation admins can add or change routes."</p>
            }>
                <h2>"Add a route"</h2>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || choices().map(|c| match c {
                        Ok(choices) => {
                            created.get();
                            view! {
                                <RouteEditor route=None choices
                                    on_submit=Callback::new(move |form: RouteForm| { create.dispatch(CreateRoute { form }); })
                                    pending=create.pending() label="Create route"/>
                            }.into_any()
                        }
                        Err(error) => view! { <LoadError error/> }.into_any(),
                    })}
                </Transition>
                <SaveOutcome action=create saved="Route created."/>
            </Show>
        </PageCard>
        <section class="card" aria-labelledby="routes-title">
            <h2 id="routes-title">"The organisation's routes"</h2>
            <ErrorAlert message=move || error_of(delete)().or_else(error_of(edit))/>
            <Transition fallback=|| view! { <p>"Loading routes…"</p> }>
                {move || {
                    let routes = list.get()?;
                    let choices = choices()?;
                    Some(match (routes, choices) {
                        (Ok(routes), Ok(choices)) => view! {
                            <RouteTable routes choices admin editing edit delete/>
                        }.into_any(),
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn RouteTable(
    routes: Vec<Route>,
    choices: Choices,
    admin: bool,
    editing: RwSignal<Option<RouteId>>,
    edit: ServerAction<EditRoute>,
    delete: ServerAction<DeleteRoute>,
) -> impl IntoView {
    if routes.is_empty() {
        return view! {
            <EmptyState>"No routes yet: the default route appears once anything names it."</EmptyState>
        }
        .into_any();
    }
    let choices = StoredValue::new(choices);
    view! {
        <DataTable class="ops routes"
            headers=&["Name", "Answered by", "Approval", "Approvers", "Timeout", ""]>
            {routes.into_iter().map(|route| view! { <RouteRow route choices admin editing edit delete/> }).collect_view()}
        </DataTable>
    }
    .into_any()
}

#[component]
fn RouteRow(
    route: Route,
    choices: StoredValue<Choices>,
    admin: bool,
    editing: RwSignal<Option<RouteId>>,
    edit: ServerAction<EditRoute>,
    delete: ServerAction<DeleteRoute>,
) -> impl IntoView {
    let id = route.id;
    let name = route.name.clone();
    let builtin = route.name == DEFAULT_ROUTE;
    let confirming = RwSignal::new(false);
    let target = choices.with_value(|c| c.target(&route));
    let approvers = choices.with_value(|c| c.approvers(&route));
    let stored = StoredValue::new(route.clone());
    view! {
        <tr data-route=route.name.clone()>
            <td>
                <strong>{route.name.clone()}</strong>
                <br/><small class="muted">{route.description.clone()}</small>
            </td>
            <td class="target">{target}</td>
            <td class="approval">{approval_text(&route)}</td>
            <td class="approvers">{approvers}</td>
            <td>{timeout_text(route.approval_timeout_minutes)}</td>
            <td class="actions">
                <Show when=move || admin>
                    <button class="button secondary" type="button"
                        on:click=move |_| editing.update(|e| {
                            *e = if *e == Some(id) { None } else { Some(id) };
                        })>"Edit"</button>
                </Show>
                <Show when=move || admin && !builtin>
                    <button class="button danger" type="button"
                        on:click=move |_| confirming.set(true)>"Delete"</button>
                </Show>
            </td>
        </tr>
        <Show when=move || confirming.get()>
            <tr class="detail-row"><td colspan="6">
                <ConfirmDelete open=confirming
                    question=format!("Delete the route “{name}”? Runs naming it are refused from now on; past runs keep its name.")
                    on_confirm=move || { delete.dispatch(DeleteRoute { id }); }/>
            </td></tr>
        </Show>
        <Show when=move || editing.get() == Some(id)>
            <tr class="detail-row"><td colspan="6">
                <RouteEditor route=Some(stored.get_value()) choices=choices.get_value()
                    on_submit=Callback::new(move |form: RouteForm| { edit.dispatch(EditRoute { id, form }); })
                    pending=edit.pending() label="Save route"
                    on_cancel=move || editing.set(None)/>
            </td></tr>
        </Show>
    }
}

/// The form's values as typed; numbers stay text until the server reads them.
#[derive(Clone, Copy)]
struct Draft {
    name: RwSignal<String>,
    description: RwSignal<String>,
    /// An agent's id, or empty: `model`.
    agent: RwSignal<String>,
    model: RwSignal<String>,
    approval: RwSignal<ApprovalMode>,
    cost: RwSignal<String>,
    people: RwSignal<Vec<UserId>>,
    groups: RwSignal<Vec<GroupId>>,
    timeout: RwSignal<String>,
}

impl Draft {
    fn new(route: Option<&Route>) -> Self {
        let text = |f: fn(&Route) -> String| RwSignal::new(route.map(f).unwrap_or_default());
        Self {
            name: text(|r| r.name.clone()),
            description: text(|r| r.description.clone()),
            agent: text(|r| r.agent_id.map(|a| a.to_string()).unwrap_or_default()),
            model: text(|r| r.model.clone().unwrap_or_default()),
            approval: RwSignal::new(route.map_or(ApprovalMode::Never, |r| r.approval)),
            cost: text(|r| {
                r.approval_cost_above
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            }),
            people: RwSignal::new(
                route
                    .map(|r| r.approver_user_ids.clone())
                    .unwrap_or_default(),
            ),
            groups: RwSignal::new(
                route
                    .map(|r| r.approver_group_ids.clone())
                    .unwrap_or_default(),
            ),
            timeout: RwSignal::new(route.map_or_else(
                || "60".to_owned(),
                |r| r.approval_timeout_minutes.to_string(),
            )),
        }
    }

    fn form(&self) -> RouteForm {
        RouteForm {
            name: self.name.get_untracked(),
            description: self.description.get_untracked(),
            agent_id: uuid::Uuid::parse_str(&self.agent.get_untracked())
                .ok()
                .map(AgentId),
            model: self.model.get_untracked(),
            approval: self.approval.get_untracked(),
            approval_cost_above: self.cost.get_untracked(),
            approver_user_ids: self.people.get_untracked(),
            approver_group_ids: self.groups.get_untracked(),
            approval_timeout_minutes: self.timeout.get_untracked(),
        }
    }
}

const MODES: [(ApprovalMode, &str); 4] = [
    (ApprovalMode::Never, "Never: runs go straight to the model"),
    (
        ApprovalMode::Always,
        "Always: every run waits for an approver",
    ),
    (
        ApprovalMode::AboveCost,
        "Above a cost: runs whose worst-case cost exceeds a threshold",
    ),
    (
        ApprovalMode::OnAsk,
        "On ask: when a guardrail finds something it asks about",
    ),
];

/// A new route's form (`route: None`) or an existing one's.
#[component]
fn RouteEditor(
    route: Option<Route>,
    choices: Choices,
    on_submit: Callback<RouteForm>,
    #[prop(into)] pending: Signal<bool>,
    label: &'static str,
    #[prop(optional, into)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let new = route.is_none();
    let draft = Draft::new(route.as_ref());
    let Draft {
        name,
        description,
        agent,
        model,
        approval,
        cost,
        timeout,
        ..
    } = draft;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_submit.run(draft.form());
    };
    let Choices {
        agents,
        people,
        groups,
    } = choices;
    // An agent the list does not show stays chosen.
    let current = route.as_ref().and_then(|r| r.agent_id);
    let unlisted = current.filter(|a| !agents.iter().any(|x| x.id == *a));
    let heading = route.as_ref().map(|r| format!("Edit route {}", r.name));
    let form_label = heading.clone().unwrap_or_else(|| "New route".to_owned());
    view! {
        <form class="route-form" aria-label=form_label on:submit=submit>
            {heading.map(|h| view! { <h3>{h}</h3> })}
            <Show when=move || new>
                <Field label="Name" hint="What runs name it by: lower-case letters, digits and dashes.">
                    <input name="name" required maxlength="64" bind:value=name/>
                </Field>
            </Show>
            <Field label="Description"><input name="description" maxlength="2000" bind:value=description/></Field>
            <div class="form-row">
                <Field label="Answered by">
                    <select name="agent_id" on:change=move |ev| agent.set(event_target_value(&ev))>
                        <option value="" selected=move || agent.get().is_empty()>"A model (below)"</option>
                        {agents.iter().map(|a| {
                            let value = a.id.to_string();
                            let v = value.clone();
                            view! { <option value=value selected=move || agent.get() == v>{format!("Agent: {}", a.name)}</option> }
                        }).collect_view()}
                        {unlisted.map(|a| {
                            let value = a.to_string();
                            view! { <option value=value.clone() selected>{format!("Agent {value}")}</option> }
                        })}
                    </select>
                </Field>
                <Show when=move || agent.get().is_empty()>
                    <Field label="Model" hint="As GET /v1/models lists it; empty: the organisation's first model.">
                        <input name="model" maxlength="255" placeholder="fake-model" bind:value=model/>
                    </Field>
                </Show>
            </div>
            <div class="form-row">
                <Field label="Approval">
                    <select name="approval" on:change=move |ev| {
                        if let Ok(mode) = event_target_value(&ev).parse::<ApprovalMode>() {
                            approval.set(mode);
                        }
                    }>
                        {MODES.iter().map(|(mode, text)| {
                            let mode = *mode;
                            view! { <option value=mode.as_str() selected=move || approval.get() == mode>{*text}</option> }
                        }).collect_view()}
                    </select>
                </Field>
                <Show when=move || approval.get() == ApprovalMode::AboveCost>
                    <Field label="Cost threshold (credits)" hint="Runs whose worst-case cost is above this wait.">
                        <input name="approval_cost_above" inputmode="numeric" required bind:value=cost/>
                    </Field>
                </Show>
                <Field label="Approval timeout (minutes)" hint="A run nobody decided on by then is blocked. At most a week.">
                    <input name="approval_timeout_minutes" type="number" min="1" max="10080" step="1" bind:value=timeout/>
                </Field>
            </div>
            <p class="muted">"Approvers: with nobody chosen, the organisation's admins and owners approve. Nobody approves their own runs."</p>
            <div class="form-row">
                <PickList legend="Approving people" items=people.iter().map(|p| (p.id, p.name.clone(), p.email.clone())).collect() chosen=draft.people/>
                <PickList legend="Approving groups" items=groups.iter().map(|g| (g.id, g.name.clone(), g.description.clone())).collect() chosen=draft.groups/>
            </div>
            <div class="form-actions">
                <button class="button" type="submit" disabled=move || pending.get()>{label}</button>
                {on_cancel.map(|cancel| view! {
                    <button class="button secondary" type="button" on:click=move |_| cancel.run(())>"Cancel"</button>
                })}
            </div>
        </form>
    }
}

/// A checkbox per item (id, name, detail); `chosen` holds the ticked ids.
#[component]
fn PickList<T>(
    legend: &'static str,
    items: Vec<(T, String, String)>,
    chosen: RwSignal<Vec<T>>,
) -> impl IntoView
where
    T: Copy + PartialEq + std::fmt::Display + Send + Sync + 'static,
{
    let empty = items.is_empty();
    view! {
        <fieldset class="pick-list">
            <legend>{legend}</legend>
            {items.into_iter().map(|(id, name, detail)| view! {
                <label class="check">
                    <input type="checkbox" value=id.to_string()
                        prop:checked=move || chosen.with(|c| c.contains(&id))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| {
                                c.retain(|x| *x != id);
                                if on { c.push(id); }
                            });
                        }/>
                    " " {name} " " <small class="muted">{detail}</small>
                </label>
            }).collect_view()}
            {empty.then(|| view! { <p class="muted">"None in the organisation yet."</p> })}
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::timeout_text;

    #[test]
    fn timeouts_read_in_the_largest_whole_unit() {
        assert_eq!(timeout_text(45), "45 min");
        assert_eq!(timeout_text(90), "90 min");
        assert_eq!(timeout_text(60), "1 h");
        assert_eq!(timeout_text(7 * 24 * 60), "7 d");
        assert_eq!(timeout_text(0), "0 min");
    }
}
