//! Typed identifiers, so an `AgentId` can never be passed where an `OrgId` belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        #[cfg(feature = "server")]
        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        #[cfg(feature = "server")]
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )+};
}

typed_id!(
    /// An organisation (tenant).
    OrgId,
    /// A user account.
    UserId,
    /// A group of users inside one organisation.
    GroupId,
    /// An API key.
    ApiKeyId,
    /// An agent.
    AgentId,
    /// A knowledge base.
    KbId,
    /// A category of documents inside a knowledge base.
    CategoryId,
    /// A document of a knowledge base.
    DocumentId,
    /// A conversation (session).
    ConversationId,
    /// A governed run.
    RunId,
    /// A route: an organisation's named policy for runs (seed 003).
    RouteId,
    /// An upstream LLM provider connection.
    ProviderId,
    /// A chat message.
    MessageId,
    /// A usage record.
    UsageId,
    /// A single sign-on identity provider of an organisation.
    SsoProviderId,
    /// An external identity linked to a user.
    IdentityId,
    /// A background job (`backend/src/services/jobs/`).
    JobId,
);

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_bare_uuids() {
        let id = OrgId::new();
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", id.0));
        let back: OrgId = serde_json::from_str(&json).unwrap_or_else(|_| OrgId(Uuid::nil()));
        assert_eq!(back, id);
    }
}
