//! The public view of single sign-on: which organisation a person signs in to (by slug, or by
//! the email domain its policy claims) and the providers its login page offers, with their
//! login links; and the kinds of provider enabled anywhere (`/auth/setup-status`).

use super::policy::policy_of;
use crate::db::entities::{organizations, sso_providers};
use crate::store;
use crate::{AppContext, Result};
use aerie_contract::ids::{OrgId, SsoProviderId};
use aerie_contract::sso::{LoginOptions, LoginProvider};
use aerie_contract::{DomainClaimStatus, SsoKind};

/// Where a login through this provider (of `kind`) starts.
pub(super) fn login_url(kind: SsoKind, row: &sso_providers::Model) -> String {
    format!("/auth/{kind}/login?provider={}", row.id)
}

/// The organisation whose SSO policy claims this email's domain, with the instance operator's
/// approval (a claim awaiting it routes nobody).
pub async fn org_for_email(ctx: &AppContext, email: &str) -> Result<Option<organizations::Model>> {
    let Some(domain) = email.rsplit_once('@').map(|(_, d)| d.trim().to_lowercase()) else {
        return Ok(None);
    };
    let Some(claim) = store::sso_domains::find_global(ctx.db(), &domain).await? else {
        return Ok(None);
    };
    if claim.status() != Ok(DomainClaimStatus::Approved) {
        return Ok(None);
    }
    let Some(org) = store::orgs::find(ctx.db(), OrgId(claim.org_id)).await? else {
        return Ok(None);
    };
    // The policy still names it (a claim is dropped with the domain, but read both).
    Ok(policy_of(&org)
        .email_domains
        .contains(&domain)
        .then_some(org))
}

/// `GET /auth/sso/discover?email=…|org=…`: the organisation a person signs in to and its
/// providers (domain routing on the login page). Unknown emails get an empty answer, the same
/// shape as a known one without providers.
pub async fn discover(
    ctx: &AppContext,
    email: Option<&str>,
    org: Option<&str>,
) -> Result<LoginOptions> {
    let found = match (org.map(str::trim).filter(|s| !s.is_empty()), email) {
        (Some(slug), _) => store::orgs::find_by_slug_global(ctx.db(), slug).await?,
        (None, Some(email)) => org_for_email(ctx, email).await?,
        (None, None) => {
            // A single-organisation install shows its providers without asking.
            let orgs = store::orgs::list_global(ctx.db()).await?;
            if orgs.len() == 1 {
                orgs.into_iter().next()
            } else {
                None
            }
        }
    };
    let Some(org) = found else {
        return Ok(LoginOptions {
            organization: None,
            organization_name: None,
            providers: Vec::new(),
            password_allowed: true,
        });
    };
    let mut providers = Vec::new();
    for r in store::sso::list(ctx.db(), OrgId(org.id)).await? {
        if !r.enabled {
            continue;
        }
        let kind = r.kind()?;
        if cfg!(feature = "saml") || kind != SsoKind::Saml {
            providers.push(LoginProvider {
                id: SsoProviderId(r.id),
                login_url: login_url(kind, &r),
                kind,
                name: r.name,
            });
        }
    }
    Ok(LoginOptions {
        password_allowed: !policy_of(&org).sso_only,
        organization: Some(org.slug),
        organization_name: Some(org.name),
        providers,
    })
}

/// The kinds of provider enabled anywhere on this instance (`/auth/setup-status`).
pub async fn configured_kinds(ctx: &AppContext) -> Result<Vec<SsoKind>> {
    Ok(store::sso::enabled_kinds_global(ctx.db()).await?)
}
