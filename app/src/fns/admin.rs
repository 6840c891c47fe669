//! Organisation administration for the dashboard: settings, users, invitations, groups, profile.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::auth::User;
use crate::contract::ids::{GroupId, UserId};
use crate::contract::kinds::{Role, SignupMode, UserStatus};
use crate::contract::orgs::{Group, Invitation, Organization};

#[server(prefix = "/_server", endpoint = "org_get")]
pub async fn get_organization() -> Result<Organization, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::orgs::get(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

/// `allowed_domains` is comma- or newline-separated; `public` is the checkbox (present when
/// ticked).
#[server(prefix = "/_server", endpoint = "org_update")]
pub async fn update_organization(
    name: String,
    allowed_domains: String,
    signup_mode: SignupMode,
    public: Option<String>,
) -> Result<Organization, ErrorBody> {
    use crate::contract::orgs::UpdateOrganization;
    let (ctx, actor) = super::ssr::context().await?;
    let domains = allowed_domains
        .split([',', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let input = UpdateOrganization {
        name: Some(name),
        allowed_domains: Some(domains),
        signup_mode: Some(signup_mode),
        public: Some(public.is_some()),
    };
    crate::backend::services::orgs::update(&ctx, &actor, None, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "users_list")]
pub async fn list_users() -> Result<Vec<User>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::users::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "users_invite")]
pub async fn invite_user(email: String, role: Role) -> Result<Invitation, ErrorBody> {
    use crate::contract::orgs::InviteUser;
    let (ctx, actor) = super::ssr::context().await?;
    let input = InviteUser {
        email,
        role: Some(role),
    };
    crate::backend::services::users::invite(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Absent fields stay unchanged.
#[server(prefix = "/_server", endpoint = "users_update")]
pub async fn update_user(
    id: UserId,
    role: Option<Role>,
    status: Option<UserStatus>,
) -> Result<User, ErrorBody> {
    use crate::contract::orgs::UpdateUser;
    let (ctx, actor) = super::ssr::context().await?;
    let input = UpdateUser { role, status };
    crate::backend::services::users::update(&ctx, &actor, id, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "users_delete")]
pub async fn delete_user(id: UserId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::users::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "groups_list")]
pub async fn list_groups() -> Result<Vec<Group>, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::groups::list(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "groups_create")]
pub async fn create_group(name: String, description: String) -> Result<Group, ErrorBody> {
    use crate::contract::orgs::GroupInput;
    let (ctx, actor) = super::ssr::context().await?;
    let input = GroupInput {
        name: Some(name),
        description: Some(description),
    };
    crate::backend::services::groups::create(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "groups_delete")]
pub async fn delete_group(id: GroupId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::groups::delete(&ctx, &actor, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "groups_add")]
pub async fn add_group_member(id: GroupId, user_id: UserId) -> Result<Group, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::groups::add_member(&ctx, &actor, id, user_id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "groups_remove")]
pub async fn remove_group_member(id: GroupId, user_id: UserId) -> Result<(), ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::groups::remove_member(&ctx, &actor, id, user_id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "profile_update")]
pub async fn update_profile(name: String, language: String) -> Result<User, ErrorBody> {
    use crate::contract::auth::UpdateProfile;
    let (ctx, actor) = super::ssr::context().await?;
    let input = UpdateProfile {
        name: Some(name),
        avatar_url: None,
        language: Some(language),
    };
    crate::backend::services::auth::sessions::update_profile(&ctx, &actor, input)
        .await
        .map_err(super::ssr::err)
}

/// Approves or rejects a waitlisted signup.
#[server(prefix = "/_server", endpoint = "waitlist_decide")]
pub async fn decide_signup(id: UserId, approve: bool) -> Result<User, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::users::decide(&ctx, &actor, id, approve)
        .await
        .map_err(super::ssr::err)
}
