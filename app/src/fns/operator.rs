//! The instance operator's page: every organisation (create, suspend, resume, delete), the
//! email domains organisations claim for single sign-on (approve, reject), and the licence.

// A plan's form posts its eight fields as the server function's arguments (the browser-side
// code the macro generates carries them too, out of reach of an attribute on the function).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::billing::Plan;
use crate::contract::ids::OrgId;
use crate::contract::kinds::DomainClaimStatus;
use crate::contract::license::LicenseStatus;
use crate::contract::operator::{CreatedTenant, DomainClaim, ModelPrice, TenantOrganization};

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

/// Applies a licence key (a signed JWT); 400 with the reason when it does not verify.
#[server(prefix = "/_server", endpoint = "operator_license_apply")]
pub async fn apply_license(license_key: String) -> Result<LicenseStatus, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::license::apply(&ctx, &op, &license_key)
        .await
        .map_err(super::ssr::err)
}

/// Removes the licence: back to Community.
#[server(prefix = "/_server", endpoint = "operator_license_remove")]
pub async fn remove_license() -> Result<LicenseStatus, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::license::remove(&ctx, &op)
        .await
        .map_err(super::ssr::err)
}

/// Creates or replaces the plan `slug`; an empty number is unlimited; `features` are
/// comma-separated.
#[server(prefix = "/_server", endpoint = "operator_plan_save")]
pub async fn save_plan(
    slug: String,
    name: String,
    #[server(default)] price_label: String,
    #[server(default)] monthly_credits: String,
    #[server(default)] monthly_tokens_per_user: String,
    #[server(default)] requests_per_minute: String,
    #[server(default)] tokens_per_minute: String,
    #[server(default)] features: String,
) -> Result<Plan, ErrorBody> {
    use super::ssr::optional_number as n;
    let (ctx, op) = operator().await?;
    let input = crate::contract::operator::PlanInput {
        slug,
        name,
        price_label,
        monthly_credits: n("monthly_credits", &monthly_credits, "unlimited")?,
        monthly_tokens_per_user: n(
            "monthly_tokens_per_user",
            &monthly_tokens_per_user,
            "unlimited",
        )?,
        requests_per_minute: n("requests_per_minute", &requests_per_minute, "unlimited")?,
        tokens_per_minute: n("tokens_per_minute", &tokens_per_minute, "unlimited")?,
        features: features.split(',').map(|f| f.trim().to_owned()).collect(),
    };
    crate::backend::services::billing::terms::save_plan(&ctx, &op, input)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "operator_prices")]
pub async fn list_prices() -> Result<Vec<ModelPrice>, ErrorBody> {
    let (ctx, _op) = operator().await?;
    crate::backend::services::billing::terms::price_list(&ctx)
        .await
        .map_err(super::ssr::err)
}

/// Prices `model` in credits per million input and output tokens.
#[server(prefix = "/_server", endpoint = "operator_price_save")]
pub async fn save_price(
    model: String,
    input_per_mtok: String,
    output_per_mtok: String,
) -> Result<(), ErrorBody> {
    use super::ssr::optional_number as n;
    let (ctx, op) = operator().await?;
    let required = |field: &'static str, v: Option<i64>| {
        v.ok_or_else(|| {
            super::ssr::err(crate::backend::Error::invalid(
                field,
                format!("{field} is a whole number of credits per million tokens."),
            ))
        })
    };
    let input = ModelPrice {
        model,
        input_per_mtok: required(
            "input_per_mtok",
            n("input_per_mtok", &input_per_mtok, "required")?,
        )?,
        output_per_mtok: required(
            "output_per_mtok",
            n("output_per_mtok", &output_per_mtok, "required")?,
        )?,
    };
    crate::backend::services::billing::terms::save_model_price(&ctx, &op, input)
        .await
        .map(drop)
        .map_err(super::ssr::err)
}

/// Moves the organisation `id` to the plan `plan`.
#[server(prefix = "/_server", endpoint = "operator_org_plan")]
pub async fn change_tenant_plan(id: OrgId, plan: String) -> Result<Plan, ErrorBody> {
    let (ctx, op) = operator().await?;
    crate::backend::services::billing::terms::subscribe_org(&ctx, &op, id, &plan)
        .await
        .map_err(super::ssr::err)
}
