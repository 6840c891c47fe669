//! The organisation's SSO policy and what a provider may vouch for: the policy in the
//! organisation's settings (`settings.sso`: SSO-only, its email domains, just-in-time
//! provisioning), the domains a provider is authoritative for (`trusted_email_domains`, a
//! subset of the policy's), and the highest role a provider vouches for on its own (its
//! steward's, [`StoredConfig::max_role`]).

use chrono::Utc;

use super::config::{Steward, StoredConfig};
use crate::actor::{Actor, Principal, Role};
use crate::db::entities::organizations;
use crate::services::audit::{self, Event};
use crate::services::validate;
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::DomainClaimStatus;
use aerie_contract::ids::OrgId;
use aerie_contract::sso::{SsoPolicy, SsoProviderInput};

impl StoredConfig {
    /// The highest role this provider vouches for on its own. Providers stored before stewards
    /// were recorded count as an admin's.
    pub fn max_role(&self) -> Role {
        self.changed_by
            .as_ref()
            .and_then(|s| s.role.parse::<Role>().ok())
            .unwrap_or(Role::Admin)
    }

    /// When the provider was last changed (identities proven before then must prove again to
    /// reach above [`Self::max_role`]).
    pub fn changed_at(&self) -> Option<chrono::DateTime<Utc>> {
        self.changed_by.as_ref().map(|s| s.at)
    }

    /// Whether the provider is authoritative for this email's domain (and the organisation
    /// still claims the domain, with the operator's approval: `approved`).
    pub fn vouches_for(&self, email: &str, approved: &[String]) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        !domain.is_empty()
            && self.trusted_email_domains.iter().any(|d| d == domain)
            && approved.iter().any(|d| d == domain)
    }
}

/// Records who made a change to a provider, and their role then.
pub(super) fn stewarded(config: &mut StoredConfig, p: &Principal) {
    config.changed_by = Some(Steward {
        user: p.user_id.0,
        role: p.role.as_str().to_owned(),
        at: Utc::now(),
    });
}

/// The organisation's policy, from its settings (`settings.sso`).
pub fn policy_of(org: &organizations::Model) -> SsoPolicy {
    org.settings
        .get("sso")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The policy of the caller's organisation.
pub(super) async fn org_policy(ctx: &AppContext, org: OrgId) -> Result<SsoPolicy> {
    let row = store::orgs::find(ctx.db(), org)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(policy_of(&row))
}

/// The domains of `org`'s policy the instance operator approved: only these route the login
/// page, provision accounts or let a provider vouch for an email.
pub(crate) async fn approved_domains(ctx: &AppContext, org: OrgId) -> Result<Vec<String>> {
    Ok(store::sso_domains::list(ctx.db(), org)
        .await?
        .into_iter()
        .filter(|c| c.status() == Ok(DomainClaimStatus::Approved))
        .map(|c| c.domain)
        .collect())
}

/// `policy` as answered: with the domains still awaiting the operator's approval.
async fn answered(ctx: &AppContext, org: OrgId, mut policy: SsoPolicy) -> Result<SsoPolicy> {
    let approved = approved_domains(ctx, org).await?;
    policy.awaiting_approval = policy
        .email_domains
        .iter()
        .filter(|d| !approved.contains(d))
        .cloned()
        .collect();
    Ok(policy)
}

/// `GET /api/sso/policy`.
pub async fn get_policy(ctx: &AppContext, actor: &Actor) -> Result<SsoPolicy> {
    let p = actor.require_role(Role::Admin)?;
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    answered(ctx, p.org_id, policy_of(&org)).await
}

/// `PUT /api/sso/policy`. Turning on SSO-only needs an enabled provider, so nobody is locked
/// out (owners keep password login anyway).
pub async fn put_policy(ctx: &AppContext, actor: &Actor, input: SsoPolicy) -> Result<SsoPolicy> {
    let p = actor.require_role(Role::Admin)?;
    let domains = email_domains("email_domains", &input.email_domains)?;
    let policy = SsoPolicy {
        sso_only: input.sso_only,
        email_domains: domains,
        jit_provisioning: input.jit_provisioning,
        awaiting_approval: Vec::new(),
    };
    if policy.sso_only
        && !store::sso::list(ctx.db(), p.org_id)
            .await?
            .iter()
            .any(|r| r.enabled)
    {
        return Err(Error::state(
            "sso_only",
            "Add and enable an identity provider before making sign-in SSO-only.",
        ));
    }
    let org = store::orgs::find(ctx.db(), p.org_id)
        .await?
        .ok_or(Error::NotFound)?;
    refuse_domains_claimed_elsewhere(ctx, &org, &policy).await?;
    let before = policy_of(&org);
    let settings = settings_with(&org, &policy)?;
    let now = Utc::now();
    // A claim the operator makes is approved at once; anyone else's waits for the operator.
    let claim = if crate::services::operator::is_operator(ctx, actor).await? {
        DomainClaimStatus::Approved
    } else {
        DomainClaimStatus::Pending
    };
    let txn = crate::db::begin_write(ctx.db()).await?;
    store::orgs::update_settings(&txn, p.org_id, org, settings, now).await?;
    store::sso_domains::sync(
        &txn,
        p.org_id,
        &policy.email_domains,
        claim,
        Some(p.user_id),
        now,
    )
    .await?;
    audit::record(
        &txn,
        Some(p.org_id),
        actor,
        Event::new("sso_policy.updated").details(serde_json::json!({
            "before": before, "after": policy,
        })),
    )
    .await?;
    txn.commit().await?;
    answered(ctx, p.org_id, policy).await
}

/// Another organisation may not claim a domain another one holds (pending or approved; a
/// rejected claim holds nothing).
async fn refuse_domains_claimed_elsewhere(
    ctx: &AppContext,
    org: &organizations::Model,
    policy: &SsoPolicy,
) -> Result<()> {
    for d in &policy.email_domains {
        if let Some(claim) = store::sso_domains::find_global(ctx.db(), d).await?
            && claim.org_id != org.id
            && claim.status() != Ok(DomainClaimStatus::Rejected)
        {
            return Err(Error::state(
                "email_domains",
                format!("{d} is already claimed by another organisation."),
            ));
        }
    }
    Ok(())
}

/// The organisation's settings with `policy` as their `sso` entry.
fn settings_with(org: &organizations::Model, policy: &SsoPolicy) -> Result<serde_json::Value> {
    let mut settings = org.settings.clone();
    let value = serde_json::to_value(policy).map_err(|e| Error::Internal(e.into()))?;
    match settings.as_object_mut() {
        Some(map) => {
            map.insert("sso".to_owned(), value);
        }
        None => settings = serde_json::json!({ "sso": value }),
    }
    Ok(settings)
}

/// Email domains as given (`@` prefix and case ignored, duplicates dropped), or which one is not
/// a domain name.
fn email_domains(field: &'static str, given: &[String]) -> Result<Vec<String>> {
    let mut domains = Vec::new();
    for given in given {
        // As documented (`validate::EMAIL_DOMAIN_PATTERN`): a domain name, an optional `@`.
        let d = given
            .strip_prefix('@')
            .unwrap_or(given)
            .to_ascii_lowercase();
        let valid = given.chars().count() <= validate::EMAIL_DOMAIN_MAX
            && d.contains('.')
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(Error::invalid(
                field,
                format!("{d:?} is not a domain name (expected e.g. example.com)."),
            ));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    Ok(domains)
}

/// Sets the domains a provider is authoritative for: only domains the organisation's policy
/// claims (so one organisation can never vouch for another's users).
pub(super) fn apply_trusted_domains(
    config: &mut StoredConfig,
    input: &SsoProviderInput,
    policy: &SsoPolicy,
) -> Result<()> {
    let Some(given) = &input.trusted_email_domains else {
        return Ok(());
    };
    let domains = email_domains("trusted_email_domains", given)?;
    if let Some(d) = domains.iter().find(|d| !policy.email_domains.contains(d)) {
        return Err(Error::state(
            "trusted_email_domains",
            format!(
                "{d} is not one of this organisation's email domains: add it to the SSO policy first."
            ),
        ));
    }
    config.trusted_email_domains = domains;
    Ok(())
}
