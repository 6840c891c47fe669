//! `/v1/*`: the Egret, Egzora and Aegis families.

pub mod billings;
pub mod chat;
pub mod openai;
pub mod orgs;
pub mod sessions;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(billings::router())
        .merge(chat::router())
        .merge(openai::router())
        .merge(sessions::router())
        .merge(orgs::router())
}
