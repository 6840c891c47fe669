//! Billing: the organisation's plan, this period's credits (a gauge: used, held by calls in
//! progress, left) and tokens, when the quota resets, and the plans on offer (docs/BILLING.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::SignedIn;
use crate::contract::billing::{Plan, Quota, Subscription};
use crate::fns::billing::{get_subscription, list_plans};
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
