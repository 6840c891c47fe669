//! Organisation administration: settings, users and invitations, groups; and the user's profile.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{SignedIn, error_of};
use crate::contract::auth::User;
use crate::contract::kinds::{Role, SignupMode, UserStatus};
use crate::contract::orgs::{Group, Organization};
use crate::fns::admin::{
    AddGroupMember, CreateGroup, DecideSignup, DeleteGroup, DeleteUser, InviteUser,
    RemoveGroupMember, UpdateOrganization, UpdateProfile, UpdateUser, get_organization,
    list_groups, list_users,
};
use crate::ui::components::{DataTable, ErrorAlert, Field, Loaded, PageCard, SaveOutcome, time};
use crate::ui::pages::sso::LinkedIdentities;
use crate::ui::session::use_session;

/// The `/organization` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct OrganizationRoute;

#[lazy_route]
impl LazyRoute for OrganizationRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <OrganizationPage/> }.into_any()
    }
}

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <SignedIn title="Organisation" let:_user>
            <OrganizationSettings/>
        </SignedIn>
    }
}

#[component]
fn OrganizationSettings() -> impl IntoView {
    let save = ServerAction::<UpdateOrganization>::new();
    let org = Resource::new(move || save.version().get(), |_| get_organization());
    view! {
        <PageCard title="Organisation">
            <Loaded resource=org let:org>
                <OrgForm org save/>
            </Loaded>
            <SaveOutcome action=save saved="Saved."/>
        </PageCard>
    }
}

#[component]
fn OrgForm(org: Organization, save: ServerAction<UpdateOrganization>) -> impl IntoView {
    let mode = org.signup_mode;
    let option = move |value: SignupMode, label: &'static str| {
        let selected = mode == value;
        view! { <option value=value.as_str() selected=selected>{label}</option> }
    };
    view! {
        <ActionForm action=save>
            <Field label="Name"><input name="name" required value=org.name.clone()/></Field>
            <Field label="Allowed knowledge domains"
                hint="Comma-separated domain slugs members may query; leave empty to allow all.">
                <input name="allowed_domains" value=org.allowed_domains.join(", ") placeholder="empty: all domains"/>
            </Field>
            <Field label="Who can join">
                <select name="signup_mode">
                    {option(SignupMode::InviteOnly, "Invitation only")}
                    {option(SignupMode::Open, "Anyone (open signup)")}
                    {option(SignupMode::Waitlist, "Waitlist: an admin approves")}
                    {option(SignupMode::Closed, "Nobody (closed)")}
                </select>
            </Field>
            <label>
                <input type="checkbox" name="public" checked=org.public/>
                " List this organisation publicly"
                <small class="muted">"It appears, with its address, in the public organisation list (embedded chat, signup); off: only people who know the address find it."</small>
            </label>
            <p class="muted">"Address: " <code>{org.slug.clone()}</code> " · plan: " {org.plan.clone()}</p>
            <button class="button" type="submit">"Save"</button>
        </ActionForm>
    }
}

/// The `/users` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <UsersPage/> }.into_any()
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <SignedIn title="Users" let:_user>
            <UsersAdmin/>
        </SignedIn>
    }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let decide = ServerAction::<DecideSignup>::new();
    let users = Resource::new(
        move || {
            (
                update.version().get(),
                delete.version().get(),
                decide.version().get(),
            )
        },
        |_| list_users(),
    );
    let errors = move || {
        error_of(invite)()
            .or_else(error_of(update))
            .or_else(error_of(delete))
    };
    view! {
        <PageCard title="Users">
            <h2>"Invite someone"</h2>
            <ActionForm action=invite attr:class="inline-form">
                <Field label="Email"><input type="email" name="email" required/></Field>
                <Field label="Role">
                    <select name="role">
                        <option value=Role::Member.as_str() selected>"Member"</option>
                        <option value=Role::Admin.as_str()>"Admin"</option>
                    </select>
                </Field>
                <button class="button" type="submit">"Create invitation"</button>
            </ActionForm>
            {move || invite.value().get().and_then(Result::ok).map(|i| view! {
                <div class="secret" role="status">
                    <p>{format!("Invitation for {} ({}), valid until {}. Send them this link; it works once:", i.email, i.role, time::date(i.expires_at))}</p>
                    <code data-testid="invite-url">{i.invite_url.unwrap_or_default()}</code>
                    <p class="muted">"Token: " <code data-testid="invite-token">{i.token.unwrap_or_default()}</code></p>
                </div>
            })}
            <ErrorAlert message=errors/>
        </PageCard>
        <section class="card">
            <Loaded resource=users loading="Loading users…" let:list>
                <UserTable list update delete decide/>
            </Loaded>
        </section>
    }
}

#[component]
fn UserTable(
    list: Vec<User>,
    update: ServerAction<UpdateUser>,
    delete: ServerAction<DeleteUser>,
    decide: ServerAction<DecideSignup>,
) -> impl IntoView {
    view! {
        <DataTable class="ops" headers=&["Name", "Email", "Role", "Status", ""]>
            {list.into_iter().map(|u| {
                let id = u.id;
                let role = u.role;
                let active = u.status == UserStatus::Active;
                let waiting = u.status == UserStatus::Waitlisted;
                let role_option = move |value: Role| {
                    let selected = role == value;
                    view! { <option value=value.as_str() selected=selected>{value.as_str()}</option> }
                };
                view! {
                    <tr data-user=u.email.clone()>
                        <td>{u.name.clone()}</td>
                        <td>{u.email.clone()}</td>
                        <td>
                            <select aria-label="Role" on:change=move |ev| {
                                if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                                    update.dispatch(UpdateUser { id, role: Some(role), status: None });
                                }
                            }>
                                {role_option(Role::Member)}{role_option(Role::Admin)}{role_option(Role::Owner)}
                            </select>
                        </td>
                        <td><span class=format!("state state-{}", u.status)>{u.status.as_str()}</span></td>
                        <td class="actions">
                            <Show when=move || waiting>
                                <button class="button" type="button"
                                    on:click=move |_| { decide.dispatch(DecideSignup { id, approve: true }); }>"Approve"</button>
                                <button class="button danger" type="button"
                                    on:click=move |_| { decide.dispatch(DecideSignup { id, approve: false }); }>"Reject"</button>
                            </Show>
                            <Show when=move || !waiting>
                            <button class="button secondary" type="button" on:click=move |_| {
                                let status = if active { UserStatus::Disabled } else { UserStatus::Active };
                                update.dispatch(UpdateUser { id, role: None, status: Some(status) });
                            }>{if active { "Disable" } else { "Enable" }}</button>
                            <button class="button danger" type="button"
                                on:click=move |_| { delete.dispatch(DeleteUser { id }); }>"Delete"</button>
                            </Show>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}

/// The `/groups` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct GroupsRoute;

#[lazy_route]
impl LazyRoute for GroupsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <GroupsPage/> }.into_any()
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    view! {
        <SignedIn title="Groups" let:_user>
            <GroupsAdmin/>
        </SignedIn>
    }
}

#[component]
fn GroupsAdmin() -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let add = ServerAction::<AddGroupMember>::new();
    let remove = ServerAction::<RemoveGroupMember>::new();
    let groups = Resource::new(
        move || {
            (
                create.version().get(),
                delete.version().get(),
                add.version().get(),
                remove.version().get(),
            )
        },
        |_| list_groups(),
    );
    let users = Resource::new(|| (), |_| list_users());
    let errors = move || {
        error_of(create)()
            .or_else(error_of(delete))
            .or_else(error_of(add))
            .or_else(error_of(remove))
    };
    view! {
        <PageCard title="Groups">
            <p>"Groups grant access to agents and knowledge bases to several people at once."</p>
            <ActionForm action=create attr:class="inline-form">
                <Field label="Group name"><input name="name" required maxlength="100"/></Field>
                <Field label="Description"><input name="description"/></Field>
                <button class="button" type="submit">"Create group"</button>
            </ActionForm>
            <ErrorAlert message=errors/>
        </PageCard>
        <Loaded resource=groups loading="Loading groups…" let:list>
            {
                let people = users.get().and_then(Result::ok).unwrap_or_default();
                list.into_iter().map(|g| view! { <GroupCard group=g people=people.clone() delete add remove/> }).collect_view()
            }
        </Loaded>
    }
}

#[component]
fn GroupCard(
    group: Group,
    people: Vec<User>,
    delete: ServerAction<DeleteGroup>,
    add: ServerAction<AddGroupMember>,
    remove: ServerAction<RemoveGroupMember>,
) -> impl IntoView {
    let id = group.id;
    let name_of = {
        let people = people.clone();
        move |uid| {
            people
                .iter()
                .find(|p| p.id == uid)
                .map_or_else(|| uid.to_string(), |p| p.name.clone())
        }
    };
    let candidates: Vec<User> = people
        .into_iter()
        .filter(|p| !group.members.contains(&p.id))
        .collect();
    let (pick, set_pick) = signal(String::new());
    view! {
        <section class="card" data-group=group.name.clone()>
            <h2>{group.name.clone()}</h2>
            <p class="muted">{group.description.clone()}</p>
            <ul class="members">
                {group.members.iter().map(|uid| {
                    let uid = *uid;
                    view! {
                        <li>{name_of(uid)} " "
                            <button class="button secondary" type="button"
                                on:click=move |_| { remove.dispatch(RemoveGroupMember { id, user_id: uid }); }>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="inline-form">
                <Field label="Add member">
                    <select on:change=move |ev| set_pick.set(event_target_value(&ev))>
                        <option value="">"Choose…"</option>
                        {candidates.into_iter().map(|p| view! { <option value=p.id.to_string()>{p.name.clone()}</option> }).collect_view()}
                    </select>
                </Field>
                <button class="button" type="button" on:click=move |_| {
                    if let Ok(uid) = pick.get_untracked().parse::<uuid::Uuid>() {
                        add.dispatch(AddGroupMember { id, user_id: uid.into() });
                    }
                }>"Add"</button>
                <button class="button danger" type="button"
                    on:click=move |_| { delete.dispatch(DeleteGroup { id }); }>"Delete group"</button>
            </div>
        </section>
    }
}

/// The `/profile` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct ProfileRoute;

#[lazy_route]
impl LazyRoute for ProfileRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ProfilePage/> }.into_any()
    }
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let session = use_session();
    let save = ServerAction::<UpdateProfile>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            session.refresh();
        }
    });
    view! {
        <SignedIn title="Profile" let:_user>
            <PageCard title="Profile" class="card narrow">
                {move || session.user.get().and_then(Result::ok).flatten().map(|u| view! {
                    <ActionForm action=save>
                        <Field label="Name"><input name="name" required value=u.name.clone()/></Field>
                        <Field label="Language">
                            <select name="language"><option value="en" selected>"English"</option></select>
                        </Field>
                        <p class="muted">{format!("{} · {} of your organisation", u.email, u.role)}</p>
                        <button class="button" type="submit">"Save"</button>
                    </ActionForm>
                })}
                <SaveOutcome action=save saved="Saved."/>
            </PageCard>
            <LinkedIdentities/>
        </SignedIn>
    }
}
