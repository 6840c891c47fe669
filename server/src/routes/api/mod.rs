//! `/api/*`: the workspace API (seed 004).

pub mod agents;
pub mod api_keys;
pub mod chat;
pub mod conversations;
pub mod guardrails;
pub mod knowledge;
pub mod license;
pub mod operator;
pub mod orgs;
pub mod providers;
pub mod run_routes;
pub mod sso;
pub mod usage;
pub mod users;

use aerie_backend::AppState;
use utoipa_axum::router::OpenApiRouter;

use crate::routes::family::Family;

/// Two families (`routes/family.rs`): the data plane (agents, chat, conversations, knowledge
/// bases, usage; changing an agent or a knowledge base takes a person), and the workspace's
/// management (keys, providers, single sign-on, the organisation, its members and groups, the
/// operator's organisations, the licence and the guardrails), people only.
pub fn router() -> OpenApiRouter<AppState> {
    let data_plane = OpenApiRouter::new()
        .merge(agents::router())
        .merge(chat::router())
        .merge(conversations::router())
        .merge(knowledge::router())
        .merge(usage::router());
    let management = OpenApiRouter::new()
        .merge(api_keys::router())
        .merge(providers::router())
        .merge(sso::router())
        .merge(orgs::router())
        .merge(operator::router())
        .merge(license::router())
        .merge(guardrails::router())
        .merge(run_routes::router())
        .merge(users::router());
    Family::DATA_PLANE
        .routes(data_plane)
        .merge(Family::PEOPLE.routes(management))
}
