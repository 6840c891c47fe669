//! Who sees a resource that has an owner, a visibility and groups (agents, knowledge bases):
//! its owner and the organisation's admins always; others by its visibility — everyone in the
//! organisation for `organization` and `public`, the members of its groups for `groups`,
//! nobody for `private`. Outside its organisation nothing is seen through this rule (public
//! resources are read across organisations only through the marketplace and Egret's domain
//! views).

use crate::actor::{Principal, Role};
use crate::{AppContext, Error, Result, store};
use aerie_contract::agents::Visibility;
use aerie_contract::ids::{GroupId, OrgId, UserId};

/// A member of one organisation, as the visibility rule needs them.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: UserId,
    pub role: Role,
    /// The groups of the organisation they belong to.
    pub groups: Vec<GroupId>,
}

async fn groups_of(ctx: &AppContext, org: OrgId, user: UserId) -> Result<Vec<GroupId>> {
    Ok(store::groups::members(ctx.db(), org)
        .await?
        .into_iter()
        .filter(|(_, u)| *u == user)
        .map(|(g, _)| g)
        .collect())
}

impl Viewer {
    /// The caller.
    pub async fn of(ctx: &AppContext, p: &Principal) -> Result<Self> {
        Ok(Self {
            user: p.user_id,
            role: p.role,
            groups: groups_of(ctx, p.org_id, p.user_id).await?,
        })
    }

    /// Another member of `org` (an agent's owner, whose view decides what the agent may use);
    /// `None` when they are not a member any more.
    pub async fn member(ctx: &AppContext, org: OrgId, user: UserId) -> Result<Option<Self>> {
        let Some((_, membership)) = store::users::find_member(ctx.db(), org, user).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            user,
            role: membership.role()?,
            groups: groups_of(ctx, org, user).await?,
        }))
    }

    /// Whether they see a resource of their organisation.
    pub fn sees(&self, owner: UserId, visibility: Visibility, groups: &[GroupId]) -> bool {
        self.may_change(owner)
            || match visibility {
                Visibility::Private => false,
                Visibility::Organization | Visibility::Public => true,
                Visibility::Groups => groups.iter().any(|g| self.groups.contains(g)),
            }
    }

    /// Whether they may change it: its owner, or an admin or owner of the organisation.
    pub fn may_change(&self, owner: UserId) -> bool {
        self.user == owner || self.role >= Role::Admin
    }
}

/// Checks that every group of a `groups` visibility is a group of `org` (400 naming the first
/// that is not).
pub async fn check_groups(ctx: &AppContext, org: OrgId, groups: &[GroupId]) -> Result<()> {
    for g in groups {
        if store::groups::find(ctx.db(), org, *g).await?.is_none() {
            return Err(Error::invalid(
                "group_ids",
                format!("group_ids: {g} is not a group of your organisation."),
            ));
        }
    }
    Ok(())
}
