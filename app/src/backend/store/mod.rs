//! Org-scoped queries over any connection or transaction. The only place with `QueryFilter`.
//! Every function takes `(db, org, ...)`, except the few identity lookups that must find a user
//! or credential before an organisation is known; those say so in their name (`*_global`).

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod conversations;
pub mod groups;
pub mod invitations;
pub mod orgs;
pub mod providers;
pub mod refresh_tokens;
pub mod sso;
pub mod usage;
pub mod users;

use chrono::{DateTime, FixedOffset, Utc};

/// Timestamps are stored with their offset (always UTC here).
pub fn ts(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

pub fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}
