//! Organisation administration: settings, users and invitations, groups; and the user's profile.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::contract::auth::User;
use crate::contract::orgs::{Group, Organization};
use crate::fns::admin::{
    AddGroupMember, CreateGroup, DecideSignup, DeleteGroup, DeleteUser, InviteUser,
    RemoveGroupMember, UpdateOrganization, UpdateProfile, UpdateUser, get_organization,
    list_groups, list_users,
};
use crate::ui::pages::sso::LinkedIdentities;
use crate::ui::session::use_session;

/// Shows `body` once someone is signed in, else a sign-in prompt.
#[component]
fn SignedIn(title: &'static str, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Title text=title/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || session.user.get().map(|u| match u {
                Ok(Some(_)) => children.with_value(|c| c()).into_any(),
                _ => view! {
                    <section class="card narrow">
                        <h1>{title}</h1>
                        <p>"Sign in to continue."</p>
                        <p><a class="button" href=crate::ui::routes::LOGIN>"Sign in"</a></p>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

fn error_of<T>(action: ServerAction<T>) -> impl Fn() -> Option<String> + Copy
where
    T: server_fn::ServerFn<Error = crate::contract::ErrorBody> + Clone + Send + Sync + 'static,
    T::Output: Clone + Send + Sync + 'static,
{
    move || action.value().get().and_then(Result::err).map(|e| e.detail)
}

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <SignedIn title="Organisation">
            <OrganizationSettings/>
        </SignedIn>
    }
}

#[component]
fn OrganizationSettings() -> impl IntoView {
    let save = ServerAction::<UpdateOrganization>::new();
    let org = Resource::new(move || save.version().get(), |_| get_organization());
    let error = error_of(save);
    view! {
        <section class="card">
            <h1>"Organisation"</h1>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || org.get().map(|r| match r {
                    Ok(org) => view! { <OrgForm org save/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
                })}
            </Transition>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="ok" role="status">"Saved."</p> })}
        </section>
    }
}

#[component]
fn OrgForm(org: Organization, save: ServerAction<UpdateOrganization>) -> impl IntoView {
    let mode = org.signup_mode.clone();
    let option = move |value: &'static str, label: &'static str| {
        let selected = mode == value;
        view! { <option value=value selected=selected>{label}</option> }
    };
    view! {
        <ActionForm action=save>
            <label>"Name" <input name="name" required value=org.name.clone()/></label>
            <label>"Allowed knowledge domains"
                <input name="allowed_domains" value=org.allowed_domains.join(", ") placeholder="empty: all domains"/>
                <small class="muted">"Comma-separated domain slugs members may query; leave empty to allow all."</small>
            </label>
            <label>"Who can join"
                <select name="signup_mode">
                    {option("invite_only", "Invitation only")}
                    {option("open", "Anyone (open signup)")}
                    {option("waitlist", "Waitlist: an admin approves")}
                    {option("closed", "Nobody (closed)")}
                </select>
            </label>
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

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <SignedIn title="Users">
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
        <section class="card">
            <h1>"Users"</h1>
            <h2>"Invite someone"</h2>
            <ActionForm action=invite attr:class="inline-form">
                <label>"Email" <input type="email" name="email" required/></label>
                <label>"Role"
                    <select name="role">
                        <option value="member" selected>"Member"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </label>
                <button class="button" type="submit">"Create invitation"</button>
            </ActionForm>
            {move || invite.value().get().and_then(Result::ok).map(|i| view! {
                <div class="secret" role="status">
                    <p>{format!("Invitation for {} ({}), valid until {}. Send them this link; it works once:", i.email, i.role, i.expires_at.format("%Y-%m-%d"))}</p>
                    <code data-testid="invite-url">{i.invite_url.unwrap_or_default()}</code>
                    <p class="muted">"Token: " <code data-testid="invite-token">{i.token.unwrap_or_default()}</code></p>
                </div>
            })}
            {move || errors().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
        <section class="card">
            <Transition fallback=|| view! { <p>"Loading users…"</p> }>
                {move || users.get().map(|r| match r {
                    Ok(list) => view! { <UserTable list update delete decide/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
                })}
            </Transition>
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
        <table class="ops">
            <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|u| {
                    let id = u.id;
                    let role = u.role.clone();
                    let active = u.status == "active";
                    let waiting = u.status == "waitlisted";
                    let role_option = move |value: &'static str| {
                        let selected = role == value;
                        view! { <option value=value selected=selected>{value}</option> }
                    };
                    view! {
                        <tr data-user=u.email.clone()>
                            <td>{u.name.clone()}</td>
                            <td>{u.email.clone()}</td>
                            <td>
                                <select aria-label="Role" on:change=move |ev| {
                                    update.dispatch(UpdateUser { id, role: event_target_value(&ev), status: String::new() });
                                }>
                                    {role_option("member")}{role_option("admin")}{role_option("owner")}
                                </select>
                            </td>
                            <td><span class=format!("state state-{}", u.status)>{u.status.clone()}</span></td>
                            <td class="actions">
                                <Show when=move || waiting>
                                    <button class="button" type="button"
                                        on:click=move |_| { decide.dispatch(DecideSignup { id, approve: true }); }>"Approve"</button>
                                    <button class="button danger" type="button"
                                        on:click=move |_| { decide.dispatch(DecideSignup { id, approve: false }); }>"Reject"</button>
                                </Show>
                                <Show when=move || !waiting>
                                <button class="button secondary" type="button" on:click=move |_| {
                                    let status = if active { "disabled" } else { "active" };
                                    update.dispatch(UpdateUser { id, role: String::new(), status: status.to_owned() });
                                }>{if active { "Disable" } else { "Enable" }}</button>
                                <button class="button danger" type="button"
                                    on:click=move |_| { delete.dispatch(DeleteUser { id }); }>"Delete"</button>
                                </Show>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    view! {
        <SignedIn title="Groups">
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
        <section class="card">
            <h1>"Groups"</h1>
            <p>"Groups grant access to agents and knowledge bases to several people at once."</p>
            <ActionForm action=create attr:class="inline-form">
                <label>"Group name" <input name="name" required maxlength="100"/></label>
                <label>"Description" <input name="description"/></label>
                <button class="button" type="submit">"Create group"</button>
            </ActionForm>
            {move || errors().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
        <Transition fallback=|| view! { <p>"Loading groups…"</p> }>
            {move || groups.get().map(|r| match r {
                Ok(list) => {
                    let people = users.get().and_then(Result::ok).unwrap_or_default();
                    list.into_iter().map(|g| view! { <GroupCard group=g people=people.clone() delete add remove/> }).collect_view().into_any()
                }
                Err(e) => view! { <p class="error">{e.detail}</p> }.into_any(),
            })}
        </Transition>
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
                <label>"Add member"
                    <select on:change=move |ev| set_pick.set(event_target_value(&ev))>
                        <option value="">"Choose…"</option>
                        {candidates.into_iter().map(|p| view! { <option value=p.id.to_string()>{p.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
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
        <SignedIn title="Profile">
            <section class="card narrow">
                <h1>"Profile"</h1>
                {move || session.user.get().and_then(Result::ok).flatten().map(|u| view! {
                    <ActionForm action=save>
                        <label>"Name" <input name="name" required value=u.name.clone()/></label>
                        <label>"Language"
                            <select name="language"><option value="en" selected>"English"</option></select>
                        </label>
                        <p class="muted">{format!("{} · {} of your organisation", u.email, u.role)}</p>
                        <button class="button" type="submit">"Save"</button>
                    </ActionForm>
                })}
                {move || save.value().get().map(|r| match r {
                    Ok(_) => view! { <p class="ok" role="status">"Saved."</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.detail}</p> }.into_any(),
                })}
            </section>
            <LinkedIdentities/>
        </SignedIn>
    }
}
