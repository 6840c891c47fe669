//! The billing page: the organisation's plan and this period's credits, the plans on offer, the
//! usage charts, and the instance's licence (whether the CSV export is included).

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::UsageGroup;
use crate::contract::billing::{Plan, Subscription};
use crate::contract::license::LicenseStatus;
use crate::contract::usage::{UsagePeriod, UsageReport};

#[server(prefix = "/_server", endpoint = "billing_subscription")]
pub async fn get_subscription() -> Result<Subscription, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::billing::subscription(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "billing_plans")]
pub async fn list_plans() -> Result<Vec<Plan>, ErrorBody> {
    let state = super::ssr::state()?;
    crate::backend::services::billing::plans(&state.ctx)
        .await
        .map_err(super::ssr::err)
}

/// The caller's organisation's usage (their own, for a member) over `period`, grouped.
#[server(prefix = "/_server", endpoint = "billing_usage")]
pub async fn get_usage(
    period: UsagePeriod,
    group_by: UsageGroup,
) -> Result<UsageReport, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    let filter = crate::backend::services::usage::UsageFilter::of_period(period);
    crate::backend::services::usage::report(&ctx, &actor, &filter, group_by)
        .await
        .map_err(super::ssr::err)
}

#[server(prefix = "/_server", endpoint = "license_status")]
pub async fn get_license() -> Result<LicenseStatus, ErrorBody> {
    let (ctx, actor) = super::ssr::context().await?;
    crate::backend::services::license::status(&ctx, &actor)
        .await
        .map_err(super::ssr::err)
}
