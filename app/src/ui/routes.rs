//! Paths of the dashboard's pages, used by links so a rename happens in one place.

pub const HOME: &str = "/";
pub const API_REFERENCE: &str = "/api-reference";
pub const OPENAPI_JSON: &str = "/api/openapi.json";
pub const LOGIN: &str = "/login";
/// Where a single sign-on that needs the account's proof stops (`?code=`).
pub const LINK_ACCOUNT: &str = "/link-account";
pub const SETUP: &str = "/setup";
pub const API_KEYS: &str = "/keys";
pub const BILLING: &str = "/billing";
pub const ORGANIZATION: &str = "/organization";
pub const OPERATOR: &str = "/operator";
pub const USERS: &str = "/users";
pub const GROUPS: &str = "/groups";
pub const PROFILE: &str = "/profile";
pub const SIGNUP: &str = "/signup";
pub const CHAT: &str = "/chat";
pub const AGENTS: &str = "/agents";
pub const KNOWLEDGE: &str = "/knowledge";
pub const PROVIDERS: &str = "/providers";
/// The approvals inbox and the runs the user sees.
pub const APPROVALS: &str = "/approvals";
/// The organisation's routes: named policies for governed runs.
pub const RUN_ROUTES: &str = "/routes";
pub const SSO_SETTINGS: &str = "/admin/sso";

/// The chat page showing one conversation.
pub fn conversation(id: crate::contract::ids::ConversationId) -> String {
    format!("{CHAT}/{id}")
}

/// The chat page, starting a new conversation with this agent.
pub fn chat_with(agent: crate::contract::ids::AgentId) -> String {
    format!("{CHAT}?agent={agent}")
}
