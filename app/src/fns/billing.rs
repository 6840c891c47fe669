//! The billing page: the organisation's plan and this period's credits, and the plans on offer.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::billing::{Plan, Subscription};

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
