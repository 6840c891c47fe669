pub mod admin;
pub mod agents;
pub mod api_keys;
pub mod api_reference;
pub mod approvals;
pub mod auth;
pub mod billing;
pub mod chat;
pub mod home;
pub mod knowledge;
pub mod not_found;
pub mod operator;
pub mod providers;
pub mod run_routes;
pub mod sso;

pub(crate) use crate::ui::components::{SignedIn, error_of, is_admin};
