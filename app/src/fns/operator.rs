//! The instance operator's page: every organisation (create, suspend, resume, delete) and the
//! email domains organisations claim for single sign-on (approve, reject).

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::billing::Plan;
use crate::contract::ids::OrgId;
use crate::contract::kinds::DomainClaimStatus;
use crate::contract::operator::{CreatedTenant, DomainClaim, TenantOrganization};

#[cfg(feature = "ssr")]
async fn operator() -> Result<
    (
        crate::backend::AppContext,
        crate::backend::services::operator::Operator,
    ),
    ErrorBody,
> {
    let (ctx, actor) = super::ssr::context().await?;
    let op = crate::backend::services::operator::Operator::check(&ctx, &actor)
        .await
        .map_err(super::ssr::err)?;
    Ok((ctx, op))
}

#[server(prefix = "/_server", endpoint = "operator_orgs")]
pub async fn list_tenants() -> Result<Vec<TenantOrganization>, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::operator::organizations(&ctx, &op)
        .await
        .map_err(super::ssr::err)
}

/// The plans a new organisation may start on.
#[server(prefix = "/_server", endpoint = "operator_plans")]
pub async fn tenant_plans() -> Result<Vec<Plan>, ErrorBody> {
    let (ctx, _op) = operator().await?;
    crate::backend::services::billing::plans(&ctx)
        .await
        .map_err(super::ssr::err)
}

/// `plan` empty: the default plan.
#[server(prefix = "/_server", endpoint = "operator_org_create")]
pub async fn create_tenant(
    name: String,
    owner_email: String,
    plan: String,
) -> Result<CreatedTenant, ErrorBody> {
    use crate::contract::operator::CreateTenant;
    let (ctx, op) = operator().await?;
    let input = CreateTenant {
        name,
        owner_email,
        plan: Some(plan).filter(|p| !p.trim().is_empty()),
    };
    crate::backend::services::operator::create(&ctx, &op, input)
        .await
        .map_err(super::ssr::err)
}

/// Suspends (`suspend`) or resumes the organisation `id`.
#[server(prefix = "/_server", endpoint = "operator_org_suspend")]
pub async fn set_tenant_suspended(
    id: OrgId,
    suspend: bool,
) -> Result<TenantOrganization, ErrorBody> {
    use crate::backend::services::operator;
    let (ctx, op) = operator().await?;
    let result = if suspend {
        operator::suspend(&ctx, &op, id).await
    } else {
        operator::resume(&ctx, &op, id).await
    };
    result.map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "operator_org_delete")]
pub async fn delete_tenant(id: OrgId) -> Result<(), ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::operator::delete(&ctx, &op, id)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "operator_domains")]
pub async fn list_domain_claims() -> Result<Vec<DomainClaim>, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::operator::domain_claims(&ctx, &op, None)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "operator_domain_decide")]
pub async fn decide_domain_claim(
    domain: String,
    status: DomainClaimStatus,
) -> Result<DomainClaim, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::operator::decide_domain(&ctx, &op, &domain, status)
        .await
        .map_err(super::ssr::err)
}
