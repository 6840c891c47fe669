//! Instance status and the API catalogue, for the dashboard.

use leptos::prelude::*;

use crate::contract::ErrorBody;
use crate::contract::health::{Operation, ServerStatus};

/// What the home page shows about the server.
#[server(prefix = "/_server", endpoint = "status")]
pub async fn get_server_status() -> Result<ServerStatus, ErrorBody> {
    let state = super::ssr::state()?;
    Ok(crate::backend::services::system::status(&state.ctx).await)
}

/// The operations of the OpenAPI document, for the API reference page.
#[server(prefix = "/_server", endpoint = "api_operations")]
pub async fn list_api_operations() -> Result<Vec<Operation>, ErrorBody> {
    let catalogue = use_context::<crate::backend::services::system::ApiCatalogue>()
        .ok_or_else(|| ErrorBody::new(crate::contract::ErrorCode::Internal))?;
    Ok(catalogue.operations())
}
