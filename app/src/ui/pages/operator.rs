//! The instance operator's page (`/operator`): every organisation, with its plan, status and
//! members — create one (its owner gets an invitation link), suspend, resume, delete — and the
//! email domains organisations claim for single sign-on, which route nobody until approved here
//! (docs/TENANTS.md); the plans and model prices (docs/BILLING.md), and which plan each
//! organisation is on; and the instance's licence: its tier, features and limits, applied or
//! removed here (docs/LICENSING.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::SignedIn;
use crate::contract::ErrorBody;
use crate::contract::billing::Plan;
use crate::contract::kinds::{DomainClaimStatus, OrgStatus};
use crate::contract::license::{LicenseState, LicenseStatus};
use crate::contract::operator::ModelPrice;
use crate::contract::operator::{DomainClaim, TenantOrganization};
use crate::fns::billing::get_license;
use crate::fns::operator::{
    ApplyLicense, ChangeTenantPlan, CreateTenant, DecideDomainClaim, DeleteTenant, RemoveLicense,
    SavePlan, SavePrice, SetTenantSuspended, list_domain_claims, list_prices, list_tenants,
    tenant_plans,
};
use crate::ui::components::{
    ConfirmDelete, DataTable, EmptyState, ErrorAlert, Field, Loaded, PageCard, error_of, time,
};

/// The `/operator` route (its own wasm file, `ui::App`).
pub struct OperatorRoute;

#[lazy_route]
impl LazyRoute for OperatorRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <OperatorPage/> }.into_any()
    }
}

#[component]
pub fn OperatorPage() -> impl IntoView {
    // Saving a plan refreshes every list of plans on the page (the plan pickers included).
    let saved_plans = ServerAction::<SavePlan>::new();
    view! {
        <SignedIn title="Operator" prompt="Sign in as the instance operator." let:_user>
            <Tenants saved_plans/>
            <Plans save=saved_plans/>
            <DomainClaims/>
            <Licence/>
        </SignedIn>
    }
}

#[component]
fn Tenants(saved_plans: ServerAction<SavePlan>) -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let suspend = ServerAction::<SetTenantSuspended>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let move_plan = ServerAction::<ChangeTenantPlan>::new();
    let orgs = Resource::new(
        move || {
            (
                create.version().get(),
                suspend.version().get(),
                delete.version().get(),
                move_plan.version().get(),
            )
        },
        |_| list_tenants(),
    );
    let plans = Resource::new(move || saved_plans.version().get(), |_| tenant_plans());
    let errors = move || {
        error_of(create)()
            .or_else(error_of(suspend))
            .or_else(error_of(delete))
            .or_else(error_of(move_plan))
    };
    view! {
        <PageCard title="Organisations">
            <h2>"New organisation"</h2>
            <ActionForm action=create attr:class="inline-form">
                <Field label="Organisation name"><input name="name" required/></Field>
                <Field label="Owner's email"><input type="email" name="owner_email" required/></Field>
                <Field label="Plan">
                    <select name="plan">
                        <option value="">"Default plan"</option>
                        <PlanOptions plans/>
                    </select>
                </Field>
                <button class="button" type="submit">"Create organisation"</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|c| view! {
                <div class="secret" role="status">
                    <p>{format!("{} ({}) is created. Send its owner this link; it works once:", c.organization.name, c.organization.slug)}</p>
                    <code data-testid="owner-invite-url">{c.owner_invite_url}</code>
                </div>
            })}
            <ErrorAlert message=errors/>
            <Loaded resource=orgs loading="Loading organisations…" let:list>
                <TenantTable list suspend delete/>
            </Loaded>
            <h2>"Move an organisation to a plan"</h2>
            <ActionForm action=move_plan attr:class="inline-form" attr:data-testid="move-plan">
                <Field label="Organisation">
                    <select name="id" required>
                        <Transition fallback=|| ()>
                            {move || orgs.get().and_then(Result::ok).map(|list| list.into_iter().map(|o| view! {
                                <option value=o.id.to_string()>{format!("{} ({})", o.name, o.slug)}</option>
                            }).collect_view())}
                        </Transition>
                    </select>
                </Field>
                <Field label="Plan">
                    <select name="plan" required>
                        <PlanOptions plans/>
                    </select>
                </Field>
                <button class="button" type="submit">"Move"</button>
            </ActionForm>
        </PageCard>
    }
}

/// An `<option>` per plan, once the plans are loaded.
#[component]
fn PlanOptions(plans: Resource<Result<Vec<Plan>, ErrorBody>>) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || plans.get().and_then(Result::ok).map(|list| list.into_iter().map(|p| view! {
                <option value=p.slug.clone()>{p.name.clone()}</option>
            }).collect_view())}
        </Transition>
    }
}

#[component]
fn TenantTable(
    list: Vec<TenantOrganization>,
    suspend: ServerAction<SetTenantSuspended>,
    delete: ServerAction<DeleteTenant>,
) -> impl IntoView {
    view! {
        <DataTable class="ops" headers=&["Name", "Address", "Plan", "Status", "Members", "Created", ""]>
            {list.into_iter().map(|o| {
                let id = o.id;
                let suspended = o.status == OrgStatus::Suspended;
                let confirming = RwSignal::new(false);
                view! {
                    <tr data-org=o.slug.clone()>
                        <td>{o.name.clone()}</td>
                        <td><code>{o.slug.clone()}</code></td>
                        <td>{o.plan.clone()}</td>
                        <td><span class=format!("state state-{}", o.status)>{o.status.as_str()}</span></td>
                        <td>{o.members}</td>
                        <td>{time::date(o.created_at)}</td>
                        <td class="actions">
                            <button class="button secondary" type="button" on:click=move |_| {
                                suspend.dispatch(SetTenantSuspended { id, suspend: !suspended });
                            }>{if suspended { "Resume" } else { "Suspend" }}</button>
                            <Show when=move || suspended>
                                <button class="button danger" type="button"
                                    on:click=move |_| confirming.set(true)>"Delete"</button>
                            </Show>
                            <ConfirmDelete open=confirming
                                question=format!(
                                    "Delete “{}” and everything it holds (members' access, agents, chats, knowledge, keys)? This cannot be undone.",
                                    o.name
                                )
                                on_confirm=move || { delete.dispatch(DeleteTenant { id }); }/>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}

/// A number for a form field: empty when unlimited.
fn number(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// The plans on offer, each editable, a new one, and the price table.
#[component]
fn Plans(save: ServerAction<SavePlan>) -> impl IntoView {
    let price = ServerAction::<SavePrice>::new();
    let plans = Resource::new(move || save.version().get(), |_| tenant_plans());
    let prices = Resource::new(move || price.version().get(), |_| list_prices());
    let errors = move || error_of(save)().or_else(error_of(price));
    view! {
        <PageCard title="Plans and prices">
            <p class="muted">
                "Each organisation subscribes to one plan: its credits per month, tokens per person, "
                "requests and tokens per minute (per API key and per person). An empty number is unlimited. "
                "A model call costs its input and output tokens at the model's price, in credits per million tokens."
            </p>
            <ErrorAlert message=errors/>
            <Loaded resource=plans loading="Loading plans…" let:list>
                {list.into_iter().map(|p| view! { <PlanForm plan=Some(p) save/> }).collect_view()}
            </Loaded>
            <PlanForm plan=None save/>
            <h2>"Prices"</h2>
            <Loaded resource=prices loading="Loading prices…" let:list>
                <PriceTable list/>
            </Loaded>
            <ActionForm action=price attr:class="inline-form" attr:data-testid="price-form">
                <Field label="Model"><input name="model" required placeholder="gpt-4o, or * for every other model"/></Field>
                <Field label="Input credits / M tokens"><input name="input_per_mtok" inputmode="numeric" required/></Field>
                <Field label="Output credits / M tokens"><input name="output_per_mtok" inputmode="numeric" required/></Field>
                <button class="button" type="submit">"Save price"</button>
            </ActionForm>
        </PageCard>
    }
}

/// One plan's form (a new plan's when `plan` is none), folded under its summary.
#[component]
fn PlanForm(plan: Option<Plan>, save: ServerAction<SavePlan>) -> impl IntoView {
    let new = plan.is_none();
    let p = plan.unwrap_or(Plan {
        slug: String::new(),
        name: String::new(),
        price_label: String::new(),
        monthly_credits: Some(0),
        monthly_tokens_per_user: None,
        requests_per_minute: None,
        tokens_per_minute: None,
        features: Vec::new(),
    });
    let summary = if new {
        "New plan".to_owned()
    } else {
        let credits = p.monthly_credits.map_or_else(
            || "unlimited credits".to_owned(),
            |c| format!("{c} credits a month"),
        );
        format!("{} ({}): {}, {}", p.name, p.slug, p.price_label, credits)
    };
    let slug = p.slug.clone();
    let slug_field = if new {
        view! { <Field label="Slug"><input name="slug" required pattern="[a-z0-9\\-]{1,32}"/></Field> }.into_any()
    } else {
        view! { <input type="hidden" name="slug" value=p.slug.clone()/> }.into_any()
    };
    view! {
        <details class="plan-editor" data-plan=slug>
            <summary>{summary}</summary>
            <ActionForm action=save attr:class="inline-form">
                {slug_field}
                <Field label="Name"><input name="name" required value=p.name.clone()/></Field>
                <Field label="Price label"><input name="price_label" value=p.price_label.clone()/></Field>
                <Field label="Credits / month"><input name="monthly_credits" inputmode="numeric" value=number(p.monthly_credits)/></Field>
                <Field label="Tokens / person / month"><input name="monthly_tokens_per_user" inputmode="numeric" value=number(p.monthly_tokens_per_user)/></Field>
                <Field label="Requests / min"><input name="requests_per_minute" inputmode="numeric" value=number(p.requests_per_minute.map(i64::from))/></Field>
                <Field label="Tokens / min"><input name="tokens_per_minute" inputmode="numeric" value=number(p.tokens_per_minute)/></Field>
                <Field label="Features (comma-separated)"><input name="features" value=p.features.join(", ")/></Field>
                <button class="button" type="submit">{if new { "Create plan" } else { "Save plan" }}</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn PriceTable(list: Vec<ModelPrice>) -> impl IntoView {
    view! {
        <DataTable class="ops prices" headers=&["Model", "Input credits / M tokens", "Output credits / M tokens"]>
            {list.into_iter().map(|p| view! {
                <tr data-model=p.model.clone()>
                    <td><code>{p.model.clone()}</code></td>
                    <td>{p.input_per_mtok}</td>
                    <td>{p.output_per_mtok}</td>
                </tr>
            }).collect_view()}
        </DataTable>
    }
}

#[component]
fn DomainClaims() -> impl IntoView {
    let decide = ServerAction::<DecideDomainClaim>::new();
    let claims = Resource::new(move || decide.version().get(), |_| list_domain_claims());
    view! {
        <PageCard title="Single sign-on domains">
            <p class="muted">
                "An organisation's claim to an email domain routes people of that domain to its sign-in, "
                "and lets its identity providers create and link their accounts, only once approved here."
            </p>
            <ErrorAlert message=error_of(decide)/>
            <Loaded resource=claims loading="Loading claims…" let:list>
                <ClaimTable list decide/>
            </Loaded>
        </PageCard>
    }
}

#[component]
fn ClaimTable(list: Vec<DomainClaim>, decide: ServerAction<DecideDomainClaim>) -> impl IntoView {
    if list.is_empty() {
        return view! { <EmptyState>"No organisation claims an email domain."</EmptyState> }
            .into_any();
    }
    view! {
        <DataTable class="ops" headers=&["Domain", "Organisation", "Status", "Requested", ""]>
            {list.into_iter().map(|c| {
                let status = c.status;
                let approve = c.domain.clone();
                let reject = c.domain.clone();
                view! {
                    <tr data-domain=c.domain.clone()>
                        <td><code>{c.domain.clone()}</code></td>
                        <td>{format!("{} ({})", c.org_name, c.org_slug)}</td>
                        <td><span class=format!("state state-{}", status)>{status.as_str()}</span></td>
                        <td>{time::date(c.requested_at)}</td>
                        <td class="actions">
                            <Show when=move || status != DomainClaimStatus::Approved>
                                <button class="button" type="button" on:click={
                                    let domain = approve.clone();
                                    move |_| { decide.dispatch(DecideDomainClaim { domain: domain.clone(), status: DomainClaimStatus::Approved }); }
                                }>"Approve"</button>
                            </Show>
                            <Show when=move || status != DomainClaimStatus::Rejected>
                                <button class="button danger" type="button" on:click={
                                    let domain = reject.clone();
                                    move |_| { decide.dispatch(DecideDomainClaim { domain: domain.clone(), status: DomainClaimStatus::Rejected }); }
                                }>"Reject"</button>
                            </Show>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }.into_any()
}

#[component]
fn Licence() -> impl IntoView {
    let apply = ServerAction::<ApplyLicense>::new();
    let remove = ServerAction::<RemoveLicense>::new();
    let status = Resource::new(
        move || (apply.version().get(), remove.version().get()),
        |_| get_license(),
    );
    let errors = move || error_of(apply)().or_else(error_of(remove));
    view! {
        <PageCard title="Licence">
            <Loaded resource=status loading="Loading the licence…" let:s>
                <LicenceFacts s/>
            </Loaded>
            <ActionForm action=apply attr:class="inline-form">
                <Field label="Licence key">
                    <textarea name="license_key" rows="3" required placeholder="eyJ…"
                        data-testid="license-key"></textarea>
                </Field>
                <button class="button" type="submit">"Apply licence"</button>
            </ActionForm>
            <p>
                <button class="button secondary" type="button" data-testid="license-remove"
                    on:click=move |_| { remove.dispatch(RemoveLicense {}); }>
                    "Remove the licence (back to Community)"
                </button>
            </p>
            <ErrorAlert message=errors/>
        </PageCard>
    }
}

#[component]
fn LicenceFacts(s: LicenseStatus) -> impl IntoView {
    let limit = |v: Option<i64>| v.map_or_else(|| "Unlimited".to_owned(), |n| n.to_string());
    let state = match s.state {
        LicenseState::None => "No licence applied",
        LicenseState::Active => "Active",
        LicenseState::Expired => "Not in force",
    };
    let features = if s.features.is_empty() {
        "The Community platform".to_owned()
    } else {
        s.features
            .iter()
            .map(|f| f.describe())
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <dl class="facts">
            <dt>"Tier"</dt><dd data-testid="license-tier">{s.tier.title()}</dd>
            <dt>"State"</dt><dd>{state}</dd>
            {s.licensee.clone().map(|who| view! { <dt>"Licensee"</dt><dd>{who}</dd> })}
            {s.expires_at.map(|at| view! { <dt>"Expires"</dt><dd>{time::absolute(at)}</dd> })}
            {s.reason.clone().map(|why| view! { <dt>"Why"</dt><dd>{why}</dd> })}
            <dt>"Features"</dt><dd>{features}</dd>
            <dt>"People"</dt><dd>{limit(s.limits.users)}</dd>
            <dt>"Organisations"</dt><dd>{limit(s.limits.organizations)}</dd>
        </dl>
        {(!s.verification_configured).then(|| view! {
            <p class="muted">
                "This instance cannot verify licences: set AERIE_LICENSE_PUBLIC_KEY to the licensor's Ed25519 public key."
            </p>
        })}
    }
}
