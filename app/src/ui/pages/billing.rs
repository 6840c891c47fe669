//! Billing: the organisation's plan, this period's credits (a gauge: used, held by calls in
//! progress, left) and tokens, when the quota resets, the usage charts (by day, model, person,
//! agent or key over a chosen range, with the CSV export where the licence includes it), and
//! the plans on offer (docs/BILLING.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::SignedIn;
use crate::contract::billing::{Plan, Quota, Subscription};
use crate::contract::license::LicenseStatus;
use crate::contract::usage::{UsagePeriod, UsageReport, UsageScope};
use crate::contract::{LicenseFeature, UsageGroup};
use crate::fns::billing::{get_license, get_subscription, get_usage, list_plans};
use crate::ui::components::chart::{BarChart, ColumnChart, Point};
use crate::ui::components::{DataTable, Loaded, PageCard, time};

/// The `/billing` route (its own wasm file, `ui::App`).
pub struct BillingRoute;

#[lazy_route]
impl LazyRoute for BillingRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <BillingPage/> }.into_any()
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    view! {
        <SignedIn title="Billing" prompt="Sign in to see your organisation's plan and credits." let:_user>
            <Billing/>
        </SignedIn>
    }
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

fn limit(v: Option<i64>) -> String {
    v.map_or_else(|| "Unlimited".to_owned(), grouped)
}

#[component]
fn Billing() -> impl IntoView {
    let subscription = Resource::new(|| (), |_| get_subscription());
    let plans = Resource::new(|| (), |_| list_plans());
    view! {
        <Loaded resource=subscription loading="Loading your plan…" let:s>
            <SubscriptionCard s/>
        </Loaded>
        <Usage/>
        <section class="card">
            <h2>"Plans"</h2>
            <Loaded resource=plans loading="Loading plans…" let:list>
                <PlansTable list/>
            </Loaded>
        </section>
    }
}

#[component]
fn SubscriptionCard(s: Subscription) -> impl IntoView {
    let q = s.current_quota.clone();
    view! {
        <PageCard title="Billing">
            <p>
                "Your organisation is on the " <strong data-testid="plan-name">{s.plan.name.clone()}</strong>
                " plan (" {s.plan.price_label.clone()} "). This period runs from "
                {time::absolute(s.current_period_start)} " to " {time::absolute(s.current_period_end)}
                "; its credits reset then."
            </p>
            <CreditsGauge q=q.clone()/>
            <dl class="facts">
                <dt>"Credits used"</dt><dd data-testid="credits-used">{grouped(q.credits_used)}</dd>
                <dt>"Held by calls in progress"</dt><dd>{grouped(q.credits_reserved)}</dd>
                <dt>"Credits left"</dt><dd data-testid="credits-remaining">{limit(q.credits_remaining)}</dd>
                <dt>"Tokens used"</dt><dd data-testid="tokens-used">{grouped(q.tokens_used)}</dd>
                {q.tokens_total.map(|t| view! {
                    <dt>"Token cap"</dt><dd>{grouped(t)}</dd>
                })}
                {s.your_tokens.clone().map(|y| view! {
                    <dt>"Your tokens"</dt>
                    <dd data-testid="your-tokens">
                        {format!("{} of {} used, {} left", grouped(y.tokens_used), grouped(y.tokens_total), grouped(y.tokens_remaining))}
                    </dd>
                })}
            </dl>
            <p class="muted">
                "Every model call holds its worst case before it runs and is charged what it used
                 after; when a call does not fit, it is refused with “Credit quota exhausted”.
                 The operator sets plans and prices."
            </p>
        </PageCard>
    }
}

/// Used credits as a `<meter>` out of the period's total (none when unlimited). No inline style:
/// the Content-Security-Policy allows none.
#[component]
fn CreditsGauge(q: Quota) -> impl IntoView {
    let Some(total) = q.credits_total.filter(|t| *t > 0) else {
        return view! { <p data-testid="credits-unlimited">"Credits: unlimited."</p> }.into_any();
    };
    let label = format!(
        "{} of {} credits used",
        grouped(q.credits_used),
        grouped(total)
    );
    let used = q.credits_used.clamp(0, total);
    let held = q.credits_reserved.max(0);
    view! {
        <meter class="gauge" aria-label=label.clone() min="0" max=total.to_string()
            low=(total / 2).to_string() high=(total - total / 10).to_string() optimum="0"
            value=used.to_string()></meter>
        <p class="gauge-label">
            {label}
            {(held > 0).then(|| format!(", {} held by calls in progress", grouped(held)))}
        </p>
    }
    .into_any()
}

/// The groupings the usage card offers, with their tab names.
const GROUPS: [(UsageGroup, &str); 5] = [
    (UsageGroup::Day, "By day"),
    (UsageGroup::Model, "By model"),
    (UsageGroup::User, "By person"),
    (UsageGroup::Agent, "By agent"),
    (UsageGroup::Key, "By API key"),
];

/// Usage over a chosen range: a chart of credits (columns per day, or ranked bars), the table
/// behind it, and the CSV export.
#[component]
fn Usage() -> impl IntoView {
    let period = RwSignal::new(UsagePeriod::Current);
    let group = RwSignal::new(UsageGroup::Day);
    let report = Resource::new(
        move || (period.get(), group.get()),
        |(p, g)| get_usage(p, g),
    );
    let license = Resource::new(|| (), |_| get_license());
    view! {
        <section class="card usage" data-testid="usage">
            <div class="usage-head">
                <h2>"Usage"</h2>
                <label class="usage-period">
                    "Range "
                    <select data-testid="usage-period" on:change=move |ev| {
                        period.set(UsagePeriod::parse(&event_target_value(&ev)));
                    }>
                        {UsagePeriod::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str() selected=move || period.get() == p>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="tabs" role="tablist" aria-label="Group usage">
                {GROUPS.into_iter().map(|(g, name)| view! {
                    <button type="button" role="tab" class="tab"
                        aria-selected=move || (group.get() == g).to_string()
                        data-testid=format!("usage-by-{}", g.as_str())
                        on:click=move |_| group.set(g)>{name}</button>
                }).collect_view()}
            </div>
            <Loaded resource=report loading="Loading usage…" let:r>
                <UsageView r/>
            </Loaded>
            <Loaded resource=license loading="" let:l>
                <ExportLink l report/>
            </Loaded>
        </section>
    }
}

#[component]
fn UsageView(r: UsageReport) -> impl IntoView {
    let credits = |v: i64| format!("{} credits", grouped(v));
    let points: Vec<Point> = r
        .rows
        .iter()
        .map(|row| Point {
            label: row.label.clone(),
            value: row.credits,
            shown: credits(row.credits),
        })
        .collect();
    let whose = match r.scope {
        UsageScope::Organization => "Your organisation's",
        UsageScope::User => "Your",
    };
    let summary = format!(
        "{whose} model calls from {} to {} (UTC): {} calls, {} input and {} output tokens, {}.",
        r.from,
        r.to,
        grouped(r.total.requests),
        grouped(r.total.input_tokens),
        grouped(r.total.output_tokens),
        credits(r.total.credits),
    );
    let chart = if r.group_by == UsageGroup::Day {
        view! { <ColumnChart points title="Credits per day".to_owned() unit="credits"/> }.into_any()
    } else if points.is_empty() {
        view! { <p class="muted">"No model calls in this range."</p> }.into_any()
    } else {
        let top: Vec<Point> = points.into_iter().take(10).collect();
        view! { <BarChart points=top title="Credits by group, largest first".to_owned()/> }
            .into_any()
    };
    let first = match r.group_by {
        UsageGroup::Day => "Day",
        UsageGroup::Model => "Model",
        UsageGroup::User => "Person",
        UsageGroup::Agent => "Agent",
        UsageGroup::Key => "API key",
    };
    let rows = r.rows.clone();
    view! {
        <p data-testid="usage-summary">{summary}</p>
        {chart}
        <table class="ops usage-table" data-testid="usage-table">
            <thead><tr>
                <th>{first}</th><th>"Calls"</th><th>"Input tokens"</th><th>"Output tokens"</th><th>"Credits"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().filter(|row| row.requests > 0).map(|row| view! {
                    <tr>
                        <td>{row.label}</td>
                        <td>{grouped(row.requests)}</td>
                        <td>{grouped(row.input_tokens)}</td>
                        <td>{grouped(row.output_tokens)}</td>
                        <td>{grouped(row.credits)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The CSV export of the shown range, or which licence tier includes it.
#[component]
fn ExportLink(
    l: LicenseStatus,
    report: Resource<Result<UsageReport, crate::contract::ErrorBody>>,
) -> impl IntoView {
    let feature = LicenseFeature::UsageExport;
    if !l.features.contains(&feature) {
        return view! {
            <p class="muted" data-testid="usage-export-locked">
                {format!(
                    "{} needs the {} licence tier; this instance runs {}.",
                    feature.describe(),
                    feature.tier().title(),
                    l.tier.title()
                )}
            </p>
        }
        .into_any();
    }
    let href = move || {
        report
            .get()
            .and_then(Result::ok)
            .map(|r| format!("/api/usage.csv?from={}&to={}", r.from, r.to))
    };
    view! {
        <p>
            <a class="button secondary" data-testid="usage-export" download="" href=href>
                "Download CSV (every call of the range)"
            </a>
        </p>
    }
    .into_any()
}

#[component]
fn PlansTable(list: Vec<Plan>) -> impl IntoView {
    view! {
        <DataTable class="ops plans"
            headers=&["Plan", "Price", "Credits / month", "Requests / min", "Tokens / min", "Features"]>
            {list.into_iter().map(|p| view! {
                <tr>
                    <td>{p.name}</td>
                    <td>{p.price_label}</td>
                    <td>{limit(p.monthly_credits)}</td>
                    <td>{limit(p.requests_per_minute.map(i64::from))}</td>
                    <td>{limit(p.tokens_per_minute)}</td>
                    <td>{p.features.join(", ")}</td>
                </tr>
            }).collect_view()}
        </DataTable>
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
    }
}
