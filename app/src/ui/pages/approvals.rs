//! Approvals: the runs waiting for the user's decision (what was asked, what the guardrails
//! found, what it may cost; approve or reject, with a comment), and the runs the user sees,
//! newest first (docs/RUNS.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, is_admin};
use crate::contract::ErrorBody;
use crate::contract::kinds::{RunDecision, RunStatus};
use crate::contract::runs::{Run, RunPage};
use crate::fns::runs::{DecideRun, list_runs};
use crate::ui::components::{Alert, DataTable, EmptyState, Field, Loaded, Notice, PageCard, time};
use crate::ui::routes;

/// The `/approvals` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ApprovalsRoute;

#[lazy_route]
impl LazyRoute for ApprovalsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ApprovalsPage/> }.into_any()
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <SignedIn title="Approvals" prompt="Sign in to see the runs waiting for your approval." let:user>
            <Approvals admin=is_admin(&user)/>
        </SignedIn>
    }
}

/// How often the runs list is read again while one of its runs is queued or executing (by the
/// browser).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const POLL_MS: u64 = 2000;

/// Whether a run will still change without anyone deciding.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn in_progress(run: &Run) -> bool {
    matches!(run.status, RunStatus::Pending | RunStatus::Running)
}

/// While the list shows a run in progress, bumps `tick` [`POLL_MS`] after each answer; never
/// on the server, and no more once the page is gone.
fn poll(runs: Resource<Result<RunPage, ErrorBody>>, tick: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    {
        let timer = StoredValue::new(None::<TimeoutHandle>);
        let stop = move || {
            if let Some(t) = timer.try_update_value(Option::take).flatten() {
                t.clear();
            }
        };
        Effect::new(move |_| {
            // Each answer schedules the next read while something is in progress.
            let busy =
                runs.with(|r| matches!(r, Some(Ok(page)) if page.runs.iter().any(in_progress)));
            stop();
            if busy {
                let next = set_timeout_with_handle(
                    move || {
                        tick.try_update(|n| *n += 1);
                    },
                    std::time::Duration::from_millis(POLL_MS),
                );
                if let Ok(t) = next {
                    timer.try_set_value(Some(t));
                }
            }
        });
        on_cleanup(stop);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (runs, tick);
}

/// `n` with thousands separators.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// At most `max` characters of `text` on one line, with `…` when cut.
fn excerpt(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        line
    }
}

/// What a decision led to, in a sentence.
fn outcome(run: &Run) -> String {
    let what = match run.approval.as_ref().map(|a| a.decision) {
        Some(RunDecision::Rejected) => "Rejected",
        _ => "Approved",
    };
    let next = match run.status {
        RunStatus::Pending | RunStatus::Running => {
            ": it executes now; its answer appears under Runs below."
        }
        RunStatus::Completed => ": it has completed; its answer is under Runs below.",
        RunStatus::Blocked => ": it will not execute.",
        RunStatus::Error => ": it failed; see Runs below.",
        RunStatus::Paused => ".",
    };
    format!(
        "{what}. The run on route “{}” is now {}{next}",
        run.route, run.status
    )
}

#[component]
fn Approvals(admin: bool) -> impl IntoView {
    let decide = ServerAction::<DecideRun>::new();
    // Bumped by the Refresh button: both lists read again.
    let refresh = RwSignal::new(0u32);
    let inbox = Resource::new(
        move || (decide.version().get(), refresh.get()),
        |_| list_runs(true, None, None),
    );
    let status = RwSignal::new(None::<RunStatus>);
    let cursor = RwSignal::new(None::<String>);
    // Bumped while a listed run is queued or executing: the list follows it to its end.
    let tick = RwSignal::new(0u32);
    let runs = Resource::new(
        move || {
            (
                decide.version().get(),
                refresh.get(),
                tick.get(),
                status.get(),
                cursor.get(),
            )
        },
        |(_, _, _, status, cursor)| list_runs(false, status, cursor),
    );
    poll(runs, tick);
    view! {
        <PageCard title="Approvals" actions=Box::new(move || view! {
            <button class="button secondary" type="button"
                on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        }.into_any())>
            <p>
                "Runs on a route that needs approval wait here for one of their approvers. "
                "Check what was asked and what the guardrails found, then approve (the run "
                "executes) or reject it (it is blocked)."
            </p>
            <DecisionOutcome decide/>
        </PageCard>
        <section class="card" aria-labelledby="inbox-title">
            <h2 id="inbox-title">"Waiting for you"</h2>
            <Loaded resource=inbox loading="Loading the runs waiting for you…" let:page>
                <Inbox page decide/>
            </Loaded>
        </section>
        <section class="card" aria-labelledby="runs-title">
            <div class="card-head">
                <h2 id="runs-title">"Runs"</h2>
                <StatusFilter status cursor/>
            </div>
            <p class="muted">
                {if admin {
                    "Every run of your organisation, newest first."
                } else {
                    "The runs you started and those you approve, newest first."
                }}
            </p>
            <Loaded resource=runs loading="Loading runs…" let:page>
                <RunList page cursor filtered=status.get_untracked().is_some() admin/>
            </Loaded>
        </section>
    }
}

/// The result of the last decision: the run's new status, or why it was refused.
#[component]
fn DecisionOutcome(decide: ServerAction<DecideRun>) -> impl IntoView {
    move || {
        decide.value().get().map(|r| match r {
            Ok(run) => view! {
                <div data-testid="decision-outcome"><Notice>{outcome(&run)}</Notice></div>
            }
            .into_any(),
            Err(e) => view! { <Alert text=e.detail/> }.into_any(),
        })
    }
}

#[component]
fn Inbox(page: RunPage, decide: ServerAction<DecideRun>) -> impl IntoView {
    if page.runs.is_empty() {
        return view! {
            <EmptyState>
                "Nothing is waiting for you. A run appears here when its route needs approval and "
                "you are one of its approvers (a route without approvers is approved by the "
                "organisation's admins); nobody approves their own runs."
            </EmptyState>
        }
        .into_any();
    }
    let more = page.next_cursor.is_some();
    view! {
        <div class="run-requests">
            {page.runs.into_iter().map(|run| view! { <RunRequest run decide/> }).collect_view()}
        </div>
        {more.then(|| view! {
            <p class="muted">"More runs are waiting: decide on these, and the next ones appear."</p>
        })}
    }
    .into_any()
}

/// One paused run: what it asks, and the decision.
#[component]
fn RunRequest(run: Run, decide: ServerAction<DecideRun>) -> impl IntoView {
    let id = run.run_id;
    let comment = RwSignal::new(String::new());
    let send = move |decision: RunDecision| {
        decide.dispatch(DecideRun {
            id,
            decision,
            comment: comment.get_untracked(),
        });
    };
    let busy = move || decide.pending().get();
    let approvers = if run.approvers.is_empty() {
        "the organisation's admins".to_owned()
    } else {
        run.approvers
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let findings = if run.findings.is_empty() {
        view! { <p class="muted">"The guardrails found nothing in this input."</p> }.into_any()
    } else {
        view! {
            <ul class="findings">
                {run.findings.iter().map(|f| {
                    let what = f.pattern.clone().unwrap_or_else(|| f.detector.as_str().replace('_', " "));
                    view! { <li><span class="detector">{what}</span> ": " <code>{f.preview.clone()}</code></li> }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let title = format!("Run on route {}", run.route);
    view! {
        <article class="run-request" data-run=id.to_string() aria-label=title>
            <header class="run-head">
                <h3>{run.route.clone()}</h3>
                <span class="state state-paused">"paused"</span>
            </header>
            <dl class="facts">
                <dt>"Requested"</dt><dd>{time::absolute(run.created_at)}</dd>
                <dt>"By"</dt>
                <dd>{run.requested_by.clone().unwrap_or_else(|| "someone who left".to_owned())}</dd>
                <dt>"Expires"</dt>
                <dd>{time::absolute_or(run.expires_at, "—")}</dd>
                <dt>"Estimated cost"</dt>
                <dd>{format!("{} credits (worst case)", grouped(run.estimated_cost))}</dd>
                <dt>"Approvers"</dt><dd>{approvers}</dd>
            </dl>
            <h4>"Guardrail findings"</h4>
            {findings}
            <h4>"Input"</h4>
            <ol class="run-messages">
                {run.messages.iter().map(|m| view! {
                    <li class=format!("run-message role-{}", m.role.as_str())>
                        <span class="role">{m.role.as_str()}</span>
                        <div class="content">{m.content.clone()}</div>
                    </li>
                }).collect_view()}
            </ol>
            <form class="decision" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                <Field label="Comment" hint="Optional; recorded with your decision.">
                    <textarea name="comment" rows="2" maxlength="2000" bind:value=comment></textarea>
                </Field>
                <div class="form-actions">
                    <button class="button" type="button" disabled=busy
                        on:click=move |_| send(RunDecision::Approved)>"Approve"</button>
                    <button class="button danger" type="button" disabled=busy
                        on:click=move |_| send(RunDecision::Rejected)>"Reject"</button>
                </div>
            </form>
        </article>
    }
}

/// Only the runs of one status, or all.
#[component]
fn StatusFilter(
    status: RwSignal<Option<RunStatus>>,
    cursor: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <label class="status-filter">"Status "
            <select aria-label="Status" on:change=move |ev| {
                cursor.set(None);
                status.set(event_target_value(&ev).parse::<RunStatus>().ok());
            }>
                <option value="" selected=move || status.get().is_none()>"All"</option>
                {RunStatus::ALL.iter().map(|s| {
                    let s = *s;
                    view! { <option value=s.as_str() selected=move || status.get() == Some(s)>{s.as_str()}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// What a run's row says about its result.
fn result_of(run: &Run) -> String {
    if let Some(error) = &run.error {
        return format!("{}: {}", error.code, error.message);
    }
    match run.status {
        RunStatus::Completed => run
            .response
            .as_deref()
            .map_or_else(|| "(empty answer)".to_owned(), |r| excerpt(r, 160)),
        RunStatus::Paused => format!(
            "Waiting for approval until {}.",
            time::absolute_or(run.expires_at, "its route's timeout")
        ),
        RunStatus::Pending => "Queued to execute.".to_owned(),
        RunStatus::Running => "Executing…".to_owned(),
        RunStatus::Blocked | RunStatus::Error => "—".to_owned(),
    }
}

#[component]
fn RunList(
    page: RunPage,
    cursor: RwSignal<Option<String>>,
    filtered: bool,
    admin: bool,
) -> impl IntoView {
    let older = page.next_cursor.clone();
    let paged = cursor.get_untracked().is_some();
    let empty = page.runs.is_empty();
    let list = if empty {
        let text = if filtered || paged {
            "No runs here: choose another status, or go back to the newest runs."
        } else {
            "No runs yet. Runs are started over the API (POST /v1/runs, or /v1/chat/completions \
             with a route's name as model); the route decides whether they wait for approval."
        };
        view! {
            <EmptyState>{text}</EmptyState>
            {(!filtered && !paged).then(|| view! {
                <p class="muted">
                    "See the " <a href=routes::API_REFERENCE>"API reference"</a>
                    {admin.then(|| view! { " and your organisation's " <a href=routes::RUN_ROUTES>"routes"</a> })}
                    "."
                </p>
            })}
        }
        .into_any()
    } else {
        view! {
            <DataTable class="ops runs" headers=&["Status", "Route", "Created", "Result"]>
                {page.runs.into_iter().map(|run| {
                    let result = result_of(&run);
                    let failed = run.error.is_some();
                    view! {
                        <tr data-run=run.run_id.to_string() data-status=run.status.as_str()>
                            <td><span class=format!("state state-{}", run.status)>{run.status.as_str()}</span></td>
                            <td>{run.route.clone()}</td>
                            <td>{time::absolute(run.created_at)}</td>
                            <td class="result" class:error=failed>{result}</td>
                        </tr>
                    }
                }).collect_view()}
            </DataTable>
        }
        .into_any()
    };
    view! {
        {list}
        <div class="form-actions pager">
            {paged.then(|| view! {
                <button class="button secondary" type="button"
                    on:click=move |_| cursor.set(None)>"Newest runs"</button>
            })}
            {older.map(|next| view! {
                <button class="button secondary" type="button"
                    on:click=move |_| cursor.set(Some(next.clone()))>"Older runs"</button>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::{excerpt, grouped};

    #[test]
    fn credits_read_with_separators() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
    }

    #[test]
    fn excerpts_are_one_line_and_cut_on_characters() {
        assert_eq!(excerpt("echo:\n  hello   world", 40), "echo: hello world");
        assert_eq!(excerpt("abcdef", 4), "abc…");
        // Multi-byte characters are never split.
        assert_eq!(excerpt("ééééé", 3), "éé…");
        assert_eq!(excerpt("", 3), "");
    }
}
