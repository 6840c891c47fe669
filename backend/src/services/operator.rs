//! The instance operator: above every organisation. Creates, suspends, resumes and deletes
//! organisations, and approves the email domains organisations claim for single sign-on
//! (docs/TENANTS.md). The first owner is the operator from the start; `aerie operator grant`
//! adds others. Only a person acts as operator: an API key never does, whoever holds it.

use chrono::{Duration, Utc};

use super::audit::{self, Event};
use super::license::{self, Seat};
use super::users::INVITE_TTL_DAYS;
use super::validate;
use crate::actor::{Actor, Role};
use crate::db::entities::{organizations, sso_domain_claims};
use crate::store::{self, utc};
use crate::{AppContext, Error, Result, crypto, db};
use aerie_contract::ids::{OrgId, UserId};
use aerie_contract::operator::{CreateTenant, CreatedTenant, DomainClaim, TenantOrganization};
use aerie_contract::{DomainClaimStatus, ErrorCode, OrgStatus, UserStatus};

/// Proof that the caller is the instance operator: a signed-in operator, or the `aerie`
/// command line on the server.
pub struct Operator {
    actor: Actor,
    /// The operator's own organisation (none from the command line): they may not suspend or
    /// delete it from under themselves.
    home: Option<OrgId>,
    user: Option<UserId>,
}

impl Operator {
    /// The command line: whoever runs `aerie` on the server operates the instance.
    pub fn cli() -> Self {
        Self {
            actor: Actor::default(),
            home: None,
            user: None,
        }
    }

    /// The caller, if they are the operator (a person: session, JWT); 403 otherwise.
    pub async fn check(ctx: &AppContext, actor: &Actor) -> Result<Self> {
        let p = actor.principal()?;
        if !is_operator(ctx, actor).await? {
            return Err(Error::detailed(
                ErrorCode::Forbidden,
                "Only the instance operator may do this.",
            ));
        }
        Ok(Self {
            actor: actor.clone(),
            home: Some(p.org_id),
            user: Some(p.user_id),
        })
    }

    /// Who acts: the person, or the command line.
    pub(crate) fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The operator's account (none from the command line).
    pub(crate) fn user(&self) -> Option<UserId> {
        self.user
    }

    fn refuse_home(&self, org: OrgId, what: &str) -> Result<()> {
        if self.home == Some(org) {
            return Err(Error::state(
                "organization",
                format!(
                    "You cannot {what} the organisation you are signed in to; use `aerie org` on the server."
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `actor` is the instance operator: a person (session, JWT), never an API key.
pub async fn is_operator(ctx: &AppContext, actor: &Actor) -> Result<bool> {
    Ok(match actor.principal() {
        Ok(p) => {
            p.credential.is_person()
                && store::users::is_operator_global(ctx.db(), p.user_id).await?
        }
        Err(_) => false,
    })
}

/// Whether the person `user` is the instance operator (the dashboard's menu).
pub async fn is_operator_user(ctx: &AppContext, user: UserId) -> Result<bool> {
    Ok(store::users::is_operator_global(ctx.db(), user).await?)
}

fn tenant(org: &organizations::Model, members: u64) -> TenantOrganization {
    TenantOrganization {
        id: OrgId(org.id),
        slug: org.slug.clone(),
        name: org.name.clone(),
        plan: org.plan.clone(),
        status: if org.suspended_at.is_some() {
            OrgStatus::Suspended
        } else {
            OrgStatus::Active
        },
        suspended_at: org.suspended_at.map(utc),
        members,
        created_at: utc(org.created_at),
    }
}

async fn tenant_of(ctx: &AppContext, org: OrgId) -> Result<TenantOrganization> {
    let row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    let counts = store::orgs::member_counts_global(ctx.db()).await?;
    Ok(tenant(&row, counts.get(&row.id).copied().unwrap_or(0)))
}

/// Every organisation, oldest first (`GET /api/operator/organizations`, `aerie org list`).
pub async fn organizations(ctx: &AppContext, _op: &Operator) -> Result<Vec<TenantOrganization>> {
    let counts = store::orgs::member_counts_global(ctx.db()).await?;
    Ok(store::orgs::list_global(ctx.db())
        .await?
        .iter()
        .map(|o| tenant(o, counts.get(&o.id).copied().unwrap_or(0)))
        .collect())
}

/// The organisation with this slug (the command line names organisations by slug).
pub async fn find_by_slug(ctx: &AppContext, _op: &Operator, slug: &str) -> Result<OrgId> {
    store::orgs::find_by_slug_global(ctx.db(), slug.trim())
        .await?
        .map(|o| OrgId(o.id))
        .ok_or_else(|| Error::invalid("org", format!("No organisation has the slug {slug}.")))
}

/// A new organisation on `plan` (the default plan when absent) and an invitation for its first
/// owner (`POST /api/operator/organizations`, `aerie org create`).
pub async fn create(ctx: &AppContext, op: &Operator, input: CreateTenant) -> Result<CreatedTenant> {
    let name = validate::name("name", &input.name, validate::PERSON_NAME_MAX)?;
    let email = validate::email(&input.owner_email)
        .map_err(|_| Error::invalid("owner_email", "owner_email must be an email address."))?;
    if let Some(u) = store::users::find_by_email_global(ctx.db(), &email).await?
        && u.status()? != UserStatus::Deleted
    {
        return Err(Error::state(
            "owner_email",
            "This person already has an account; invite someone new as the owner.",
        ));
    }
    license::room_for(ctx, Seat::Organization).await?;
    let plan = match input
        .plan
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(slug) => Some(
            store::billing::plan_global(ctx.db(), slug)
                .await?
                .ok_or_else(|| Error::invalid("plan", format!("No plan has the slug {slug}.")))?
                .slug,
        ),
        None => None,
    };
    let slug = validate::slugify_or(&name, "organisation");
    if store::orgs::find_by_slug_global(ctx.db(), &slug)
        .await?
        .is_some()
    {
        return Err(Error::state(
            "name",
            format!("An organisation with the address {slug} exists; choose another name."),
        ));
    }
    let token = format!("inv_{}", crypto::random_token(32));
    let hash = crypto::keyed_hash(&ctx.secrets().token_pepper, &token);
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    let org = store::orgs::insert(&txn, &slug, &name, now).await?;
    let org_id = OrgId(org.id);
    if let Some(plan) = &plan {
        store::orgs::set_plan(&txn, org_id, plan, now).await?;
    }
    store::invitations::insert(
        &txn,
        org_id,
        store::invitations::NewInvitation {
            email: &email,
            role: Role::Owner,
            token_hash: &hash,
            invited_by: op.user,
            expires_at: now + Duration::days(INVITE_TTL_DAYS),
        },
        now,
    )
    .await?;
    audit::record(
        &txn,
        None,
        &op.actor,
        Event::new("organization.created")
            .target("organization", org.id)
            .details(serde_json::json!({ "slug": slug, "owner_email": email })),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedTenant {
        organization: tenant_of(ctx, org_id).await?,
        owner_invite_url: format!("{}/invite/{token}", ctx.config().public_url()),
    })
}

/// Suspends `org`: from now on its API keys, sessions and access tokens are refused (403
/// `AUTH-009`; another instance's key cache forgets within 5 s), its turns running here stop,
/// and its members cannot sign in. Nothing is deleted.
pub async fn suspend(ctx: &AppContext, op: &Operator, org: OrgId) -> Result<TenantOrganization> {
    op.refuse_home(org, "suspend")?;
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    if !store::orgs::set_suspended(&txn, org, Some(now), now).await? {
        // Unknown (404), or suspended already: nothing to do.
        drop(txn);
        return tenant_of(ctx, org).await;
    }
    audit::record(
        &txn,
        None,
        &op.actor,
        Event::new("organization.suspended").target("organization", org),
    )
    .await?;
    txn.commit().await?;
    ctx.key_cache().clear();
    let stopped = ctx.in_flight().cancel_org(org);
    if stopped > 0 {
        tracing::info!(org = %org, stopped, "suspension stopped running turns");
    }
    tenant_of(ctx, org).await
}

/// Resumes a suspended `org`: its keys, sessions and tokens work again.
pub async fn resume(ctx: &AppContext, op: &Operator, org: OrgId) -> Result<TenantOrganization> {
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    if !store::orgs::set_suspended(&txn, org, None, now).await? {
        // Unknown (404), or active already: nothing to do.
        drop(txn);
        return tenant_of(ctx, org).await;
    }
    audit::record(
        &txn,
        None,
        &op.actor,
        Event::new("organization.resumed").target("organization", org),
    )
    .await?;
    txn.commit().await?;
    ctx.key_cache().clear();
    tenant_of(ctx, org).await
}

/// Deletes a suspended `org` and everything it holds: its knowledge bases' vectors and files,
/// then its rows (members' accounts of no other organisation stay, without a membership). Only
/// a suspended organisation may be deleted, so nothing of it is running meanwhile; a deletion
/// that fails half-way can be run again.
pub async fn delete(ctx: &AppContext, op: &Operator, org: OrgId) -> Result<()> {
    op.refuse_home(org, "delete")?;
    let row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    if row.suspended_at.is_none() {
        return Err(Error::state(
            "organization",
            "Suspend the organisation before deleting it.",
        ));
    }
    let kbs = store::knowledge_bases::ids_any(ctx.db(), org).await?;
    if !kbs.is_empty() {
        let vectors = ctx.vectors().await?;
        let tables = vectors
            .tables()
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("listing vector tables: {e}")))?;
        for kb in kbs {
            let prefix = super::knowledge::table_prefix(kb.into());
            for t in tables.iter().filter(|t| t.starts_with(&prefix)) {
                vectors
                    .drop_table(t)
                    .await
                    .map_err(|e| Error::Internal(anyhow::anyhow!("dropping {t}: {e}")))?;
            }
        }
    }
    let files = ctx
        .config()
        .data_dir
        .join("uploads")
        .join("knowledge")
        .join(org.0.to_string());
    match tokio::fs::remove_dir_all(&files).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::Internal(anyhow::anyhow!("removing files: {e}"))),
    }
    let txn = db::begin_write(ctx.db()).await?;
    store::orgs::delete(&txn, org).await?;
    audit::record(
        &txn,
        None,
        &op.actor,
        Event::new("organization.deleted")
            .target("organization", org)
            .details(serde_json::json!({ "slug": row.slug, "name": row.name })),
    )
    .await?;
    txn.commit().await?;
    ctx.key_cache().clear();
    ctx.agent_cache().clear();
    super::billing::forget(ctx, org);
    Ok(())
}

fn claim_dto(
    claim: &sso_domain_claims::Model,
    orgs: &[organizations::Model],
) -> Result<DomainClaim> {
    let org = orgs.iter().find(|o| o.id == claim.org_id);
    Ok(DomainClaim {
        domain: claim.domain.clone(),
        org_id: OrgId(claim.org_id),
        org_slug: org.map(|o| o.slug.clone()).unwrap_or_default(),
        org_name: org.map(|o| o.name.clone()).unwrap_or_default(),
        status: claim.status()?,
        requested_at: utc(claim.requested_at),
        decided_at: claim.decided_at.map(utc),
    })
}

/// The organisations' claims to email domains, optionally of one status, oldest request first.
pub async fn domain_claims(
    ctx: &AppContext,
    _op: &Operator,
    status: Option<DomainClaimStatus>,
) -> Result<Vec<DomainClaim>> {
    let orgs = store::orgs::list_global(ctx.db()).await?;
    store::sso_domains::list_global(ctx.db(), status)
        .await?
        .iter()
        .map(|c| claim_dto(c, &orgs))
        .collect()
}

/// Approves or rejects the claim on `domain`. Approved, it routes the login page to its
/// organisation, and its providers may provision and vouch for people of the domain.
pub async fn decide_domain(
    ctx: &AppContext,
    op: &Operator,
    domain: &str,
    status: DomainClaimStatus,
) -> Result<DomainClaim> {
    if status == DomainClaimStatus::Pending {
        return Err(Error::invalid(
            "status",
            "status must be approved or rejected.",
        ));
    }
    let domain = domain.trim().trim_start_matches('@').to_lowercase();
    let now = Utc::now();
    let txn = db::begin_write(ctx.db()).await?;
    if !store::sso_domains::decide_global(&txn, &domain, status, op.user, now).await? {
        return Err(Error::NotFound);
    }
    let claim = store::sso_domains::find_global(&txn, &domain)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &txn,
        Some(OrgId(claim.org_id)),
        &op.actor,
        Event::new(match status {
            DomainClaimStatus::Approved => "sso_domain.approved",
            _ => "sso_domain.rejected",
        })
        .details(serde_json::json!({ "domain": domain })),
    )
    .await?;
    txn.commit().await?;
    let orgs = store::orgs::list_global(ctx.db()).await?;
    claim_dto(&claim, &orgs)
}

/// Makes the person with `email` an instance operator, or not (`aerie operator grant|revoke`;
/// the command line stays the operator whoever holds the role).
pub async fn set_operator(
    ctx: &AppContext,
    _op: &Operator,
    email: &str,
    operator: bool,
) -> Result<()> {
    let email = validate::email(email)?;
    let user = store::users::find_by_email_global(ctx.db(), &email)
        .await?
        .ok_or_else(|| Error::invalid("email", format!("No account has the email {email}.")))?;
    store::users::set_operator_global(ctx.db(), UserId(user.id), operator, Utc::now()).await?;
    audit::record(
        ctx.db(),
        None,
        &Actor::default(),
        Event::new(if operator {
            "operator.granted"
        } else {
            "operator.revoked"
        })
        .target("user", user.id),
    )
    .await?;
    Ok(())
}
