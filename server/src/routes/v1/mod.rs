//! `/v1/*`: the Egret, Egzora and Aegis families.

pub mod audit;
pub mod billings;
pub mod chat;
pub mod domains;
pub mod openai;
pub mod orgs;
pub mod query;
pub mod rag;
pub mod runs;
pub mod sessions;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

use crate::routes::family::Family;

/// Four families (`routes/family.rs`): Egret's key and organisation management (people; an API
/// key gets Egret's 401 "JWT required"; its plans are public and its subscription takes keys), Egret's sessions and domains (public, widened by a
/// credential) and the OpenAI-compatible API (the data plane), and Egzora's gateway (the data plane, keys first).
pub fn router() -> OpenApiRouter<AppState> {
    let egret_accounts = OpenApiRouter::new()
        .merge(billings::router())
        .merge(orgs::router());
    Family::PEOPLE
        .routes(egret_accounts)
        .merge(Family::PUBLIC.routes(billings::plans_router()))
        .merge(Family::DATA_PLANE.routes(billings::subscription_router()))
        .merge(Family::DATA_PLANE.routes(sessions::router()))
        .merge(Family::DATA_PLANE.routes(domains::router()))
        .merge(Family::DATA_PLANE.routes(openai::router()))
        .merge(Family::DATA_PLANE.routes(rag::router()))
        .merge(Family::DATA_PLANE.routes(query::router()))
        .merge(Family::DATA_PLANE.routes(audit::router()))
        .merge(Family::DATA_PLANE.routes(runs::router()))
        .merge(Family::GATEWAY.routes(chat::router()))
}
