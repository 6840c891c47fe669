//! `/v1/*`: the Egret, Egzora and Aegis families.

pub mod billings;
pub mod orgs;

use aerie_app::backend::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(billings::router())
        .merge(orgs::router())
}
