//! Login completion: the account a sign-in the provider vouched for leads to, within the
//! provider's organisation ([`complete_login`]): an identity linked already, an existing member
//! linked by the provider's authority over the email's domain, or a new account (invitation or
//! just-in-time provisioning); else the person must prove the account (see [`super::link`]) or
//! the sign-in is refused.

use chrono::Utc;
use serde_json::json;

use super::config::{StoredConfig, stored_config};
use super::flow::{Redirect, pickup_redirect};
use super::policy::policy_of;
use super::refusal::refuse;
use super::sign_in::{Link, Login, attach, commit_sign_in, renew_identity};
use crate::actor::{Actor, Role};
use crate::db::entities::{identities, memberships, organizations, sso_providers, users};
use crate::services::audit::Event;
use crate::services::license::{self, Seat};
use crate::services::orgs;
use crate::sso::oidc::ExternalProfile;
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::ids::{OrgId, SsoProviderId, UserId};
use aerie_contract::sso::SsoPolicy;
use aerie_contract::{SsoKind, UserStatus};

/// What a sign-in the provider vouched for leads to.
pub(crate) enum Account {
    /// This member is signed in.
    Ready(users::Model),
    /// The identity may belong to this member, but linking it needs the person's proof (their
    /// password or a session of theirs): why, in words for the audit trail.
    NeedsProof(users::Model, &'static str),
}

/// Why automatic linking stopped, for the audit trail and the link page.
pub(crate) const OWNER: &str =
    "An owner's account is never linked automatically: sign in to it to link this identity.";
pub(crate) const ABOVE_PROVIDER: &str = "This account has a higher role than the administrator who last changed this identity provider: sign in to it to link this identity.";
pub(crate) const NOT_AUTHORITATIVE: &str = "An account with this email exists. This identity provider is not marked authoritative for its domain: sign in to the account to link this identity.";

/// After a provider (`row`, of `kind`) vouched for `profile`: the pick-up of a finished sign-in,
/// or the link page where the person proves the account first.
pub(crate) async fn conclude(
    ctx: &AppContext,
    actor: &Actor,
    kind: SsoKind,
    row: &sso_providers::Model,
    profile: ExternalProfile,
    return_to: &str,
    binding: Option<&str>,
) -> Result<Redirect> {
    match complete_login(ctx, actor, row, &profile, kind).await? {
        Account::Ready(user) => {
            pickup_redirect(ctx, row, UserId(user.id), return_to, binding).await
        }
        Account::NeedsProof(user, why) => {
            super::link::request_proof(ctx, actor, row, &user, &profile, why, return_to, binding)
                .await
        }
    }
}

/// Finds or creates the account a provider vouches for, within the provider's organisation:
/// 1. an identity already linked to this subject signs in; but an account ranking above the
///    provider's last editor (`StoredConfig::max_role`) only with a proof newer than the
///    provider's last change;
/// 2. otherwise, an existing member with the same email is linked automatically only when the
///    organisation marked this provider authoritative for the email's domain, the member is not
///    an owner and does not rank above the provider's last editor; in every other case the
///    person must prove the account ([`Account::NeedsProof`]). Nobody else's account is
///    touched;
/// 3. otherwise a new account, for a verified email (or one of a domain the provider is
///    authoritative for): with a pending invitation for the email, or by just-in-time
///    provisioning; its role never above the provider's last editor's. Else refused.
///
/// Every outcome is audited; refusals carry their reason.
pub(crate) async fn complete_login(
    ctx: &AppContext,
    actor: &Actor,
    row: &sso_providers::Model,
    profile: &ExternalProfile,
    method: SsoKind,
) -> Result<Account> {
    let org = OrgId(row.org_id);
    let org_row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    let attempt = Attempt {
        ctx,
        actor,
        row,
        profile,
        method,
        policy: policy_of(&org_row),
        approved: super::policy::approved_domains(ctx, org).await?,
        config: stored_config(row),
        org_row,
    };
    if attempt.org_row.suspended_at.is_some() {
        return Err(attempt
            .refuse(
                "organisation_suspended",
                "This organisation is suspended by the instance operator: nobody can sign in to it until it is resumed.",
            )
            .await);
    }
    if let Some(identity) =
        store::sso::find_identity(ctx.db(), org, SsoProviderId(row.id), &profile.subject).await?
    {
        return attempt.through_linked_identity(identity).await;
    }
    let email = attempt.linkable_email().await?;
    if let Some(existing) = store::users::find_by_email_global(ctx.db(), &email).await? {
        return attempt.existing_account(existing, &email).await;
    }
    attempt
        .provision(&email)
        .await
        .map(|(u, _)| Account::Ready(u))
}

/// Whether the person proved the account after the provider's last change.
fn proven_since(
    proven_at: Option<sea_orm::prelude::DateTimeWithTimeZone>,
    changed_at: Option<chrono::DateTime<Utc>>,
) -> bool {
    match (proven_at, changed_at) {
        (Some(proven), Some(changed)) => store::utc(proven) >= changed,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// A sign-in the provider vouched for, on its way to an account: the steps of
/// [`complete_login`].
struct Attempt<'a> {
    ctx: &'a AppContext,
    actor: &'a Actor,
    row: &'a sso_providers::Model,
    profile: &'a ExternalProfile,
    /// The protocol: the provider's kind.
    method: SsoKind,
    org_row: organizations::Model,
    policy: SsoPolicy,
    /// The policy's domains the operator approved: only these provision or are vouched for.
    approved: Vec<String>,
    config: StoredConfig,
}

impl Attempt<'_> {
    fn org(&self) -> OrgId {
        OrgId(self.row.org_id)
    }

    /// Refuses the sign-in against this provider, with the email the provider shared.
    async fn refuse(&self, reason: &'static str, message: &str) -> Error {
        refuse(
            self.ctx,
            self.actor,
            Some(self.row),
            reason,
            message.to_owned(),
            self.profile.email.as_deref(),
        )
        .await
    }

    /// Step 1: the identity is linked already. Its member signs in, unless they rank above the
    /// provider's last editor without a proof newer than the provider's last change.
    async fn through_linked_identity(&self, identity: identities::Model) -> Result<Account> {
        let Some((user, membership)) =
            store::users::find_member(self.ctx.db(), self.org(), UserId(identity.user_id))
                .await?
                .filter(|(u, _)| u.status() == Ok(UserStatus::Active))
        else {
            return Err(self
                .refuse(
                    "account_disabled",
                    "This account is disabled. Ask your administrator.",
                )
                .await);
        };
        if membership.role()? > self.config.max_role()
            && !proven_since(identity.proven_at, self.config.changed_at())
        {
            return Ok(Account::NeedsProof(user, ABOVE_PROVIDER));
        }
        self.sign_in_linked(identity, &membership).await?;
        Ok(Account::Ready(user))
    }

    /// Signs in through an identity linked already: refreshes what the provider says of it and
    /// syncs groups, audited.
    async fn sign_in_linked(
        &self,
        identity: identities::Model,
        membership: &memberships::Model,
    ) -> Result<()> {
        let now = Utc::now();
        let txn = crate::db::begin_write(self.ctx.db()).await?;
        let link = Link {
            row: self.row,
            membership,
            profile: self.profile,
            proven_at: None,
        };
        let login = Login {
            method: self.method,
            how: "linked_identity",
        };
        renew_identity(&txn, self.actor, &link, identity, None, login, now).await?;
        commit_sign_in(self.ctx, txn, self.row, now).await
    }

    /// The email an account may be found or created for: one the provider shared, did not
    /// call unverified, of a domain the organisation allows (when it lists any).
    async fn linkable_email(&self) -> Result<String> {
        let Some(email) = self.profile.email.clone() else {
            return Err(self
                .refuse(
                    "no_email",
                    "The identity provider did not share an email address.",
                )
                .await);
        };
        if self.profile.email_verified == Some(false) {
            return Err(self
                .refuse(
                    "unverified_email",
                    "The identity provider has not verified this email address, so it cannot be linked to an account.",
                )
                .await);
        }
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let domain_listed = self.policy.email_domains.contains(&domain);
        if !self.policy.email_domains.is_empty() && !domain_listed {
            return Err(self
                .refuse(
                    "domain_not_allowed",
                    &format!("Accounts of {domain} cannot sign in to this organisation."),
                )
                .await);
        }
        Ok(email)
    }

    /// Step 2: an account with this email exists. It is linked automatically only when it is a
    /// member here, active, not an owner, not above the provider's last editor, and the
    /// provider is authoritative for the email's domain; else the person must prove it.
    async fn existing_account(&self, existing: users::Model, email: &str) -> Result<Account> {
        let vouched = self.config.vouches_for(email, &self.approved);
        let Some((user, membership)) =
            store::users::find_member(self.ctx.db(), self.org(), UserId(existing.id)).await?
        else {
            return Err(self
                .refuse(
                    "other_organisation",
                    "This email belongs to an account of another organisation.",
                )
                .await);
        };
        if user.status() != Ok(UserStatus::Active) {
            return Err(self
                .refuse(
                    "account_disabled",
                    "This account is disabled. Ask your administrator.",
                )
                .await);
        }
        let role = membership.role()?;
        let why = if role == Role::Owner {
            Some(OWNER)
        } else if role > self.config.max_role() {
            Some(ABOVE_PROVIDER)
        } else if !vouched {
            Some(NOT_AUTHORITATIVE)
        } else {
            None
        };
        if let Some(why) = why {
            return Ok(Account::NeedsProof(user, why));
        }
        self.link_by_email(&user, &membership, email).await?;
        Ok(Account::Ready(user))
    }

    /// Links the identity to the member the provider is authoritative for (`sso.linked`, proof
    /// `authoritative_domain`) and signs them in.
    async fn link_by_email(
        &self,
        user: &users::Model,
        membership: &memberships::Model,
        email: &str,
    ) -> Result<()> {
        let row = self.row;
        let txn = crate::db::begin_write(self.ctx.db()).await?;
        let event = Event::new("sso.linked")
            .target("user", user.id)
            .details(json!({ "provider": row.id, "kind": self.method, "email": email, "proof": "authoritative_domain" }));
        let link = Link {
            row,
            membership,
            profile: self.profile,
            proven_at: None,
        };
        let login = Login {
            method: self.method,
            how: "linked_by_email",
        };
        attach(&txn, self.actor, &link, event, login, Utc::now()).await?;
        commit_sign_in(self.ctx, txn, row, Utc::now()).await
    }

    /// Step 3: a new account for a vouched-for email: by a pending invitation (its role) or
    /// just-in-time provisioning (the organisation's default role); never above the provider's
    /// last editor.
    async fn provision(&self, email: &str) -> Result<(users::Model, memberships::Model)> {
        let org = self.org();
        let now = Utc::now();
        let domain_listed = email
            .rsplit_once('@')
            .is_some_and(|(_, d)| self.approved.iter().any(|x| x == d));
        let invitation =
            store::invitations::find_pending_for_email(self.ctx.db(), org, email, now).await?;
        let role = match &invitation {
            Some(i) => i.role()?,
            None if self.policy.jit_provisioning && domain_listed => {
                orgs::default_role(&self.org_row)
            }
            None => {
                return Err(self
                    .refuse(
                        "invitation_required",
                        "There is no account for this email here, and this organisation adds members by invitation. Ask an administrator to invite you.",
                    )
                    .await);
            }
        };
        // An invitation or a seat goes only to an address the provider vouches for.
        if self.profile.email_verified != Some(true)
            && !self.config.vouches_for(email, &self.approved)
        {
            return Err(self
                .refuse(
                    "unverified_email",
                    "The identity provider does not vouch for this email address, so no account can be created for it. Ask your administrator.",
                )
                .await);
        }
        let role = role.min(self.config.max_role());
        let name = self
            .profile
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        let name: String = name.trim().chars().take(120).collect();
        license::room_for(self.ctx, Seat::User).await?;
        let txn = crate::db::begin_write(self.ctx.db()).await?;
        if let Some(i) = &invitation
            && !store::invitations::consume(&txn, org, i.id, now).await?
        {
            return Err(self
                .refuse("invitation_required", "The invitation was used meanwhile.")
                .await);
        }
        let (user, membership) = store::users::insert_member(
            &txn,
            org,
            store::users::NewUser {
                email,
                name: &name,
                password_hash: None,
                role,
            },
            now,
        )
        .await?;
        let row = self.row;
        let event = Event::new("sso.provisioned")
            .target("user", user.id)
            .details(json!({
                "provider": row.id, "kind": self.method, "email": email, "role": role.as_str(),
                "invitation": invitation.as_ref().map(|i| i.id),
            }));
        let link = Link {
            row,
            membership: &membership,
            profile: self.profile,
            proven_at: None,
        };
        let login = Login {
            method: self.method,
            how: "provisioned",
        };
        attach(&txn, self.actor, &link, event, login, now).await?;
        commit_sign_in(self.ctx, txn, row, now).await?;
        Ok((user, membership))
    }
}
