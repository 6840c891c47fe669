//! The instance operator's page (`/operator`): every organisation, with its plan, status and
//! members — create one (its owner gets an invitation link), suspend, resume, delete — and the
//! email domains organisations claim for single sign-on, which route nobody until approved here
//! (docs/TENANTS.md).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::SignedIn;
use crate::contract::kinds::{DomainClaimStatus, OrgStatus};
use crate::contract::operator::{DomainClaim, TenantOrganization};
use crate::fns::operator::{
    CreateTenant, DecideDomainClaim, DeleteTenant, SetTenantSuspended, list_domain_claims,
    list_tenants, tenant_plans,
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
    view! {
        <SignedIn title="Operator" prompt="Sign in as the instance operator." let:_user>
            <Tenants/>
            <DomainClaims/>
        </SignedIn>
    }
}

#[component]
fn Tenants() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let suspend = ServerAction::<SetTenantSuspended>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let orgs = Resource::new(
        move || {
            (
                create.version().get(),
                suspend.version().get(),
                delete.version().get(),
            )
        },
        |_| list_tenants(),
    );
    let plans = Resource::new(|| (), |_| tenant_plans());
    let errors = move || {
        error_of(create)()
            .or_else(error_of(suspend))
            .or_else(error_of(delete))
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
                        <Transition fallback=|| ()>
                            {move || plans.get().and_then(Result::ok).map(|list| list.into_iter().map(|p| view! {
                                <option value=p.slug.clone()>{p.name.clone()}</option>
                            }).collect_view())}
                        </Transition>
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
        </PageCard>
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
