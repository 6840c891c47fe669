//! Who is calling. The HTTP layer resolves it once per request (see
//! `services::auth::authenticate`) and inserts it into the request's extensions; services decide
//! what it may do.

use std::net::IpAddr;

use aerie_contract::ErrorCode;
use aerie_contract::ids::{ApiKeyId, OrgId, UserId};

use super::{Error, Result};

pub use aerie_contract::kinds::Role;

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A browser session cookie.
    Session,
    /// A JWT access token.
    Jwt,
    /// An API key.
    ApiKey(ApiKeyId),
    /// The `aerie` command line, run by the operator on the server.
    Cli,
    /// `aerie dev`: authentication is off.
    Dev,
}

impl Credential {
    /// A person proved who they are (password, single sign-on, or the operator's own machine);
    /// an API key only proves possession of the key.
    pub fn is_person(self) -> bool {
        !matches!(self, Credential::ApiKey(_))
    }
}

/// An authenticated user acting in one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    pub credential: Credential,
    /// The rate limits of the API key the caller used, when it has its own (none otherwise).
    pub key_limits: KeyLimits,
}

/// An API key's own rate limits, in place of its plan's for the calls made with it (`None`:
/// the plan's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub requests_per_minute: Option<i32>,
    pub tokens_per_minute: Option<i64>,
}

impl KeyLimits {
    /// Whether the key sets either limit.
    pub fn any(self) -> bool {
        self.requests_per_minute.is_some() || self.tokens_per_minute.is_some()
    }
}

impl Principal {
    pub fn api_key_id(&self) -> Option<ApiKeyId> {
        match self.credential {
            Credential::ApiKey(id) => Some(id),
            _ => None,
        }
    }
}

/// What the request's credentials resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Identity {
    /// No credentials were presented.
    #[default]
    Anonymous,
    /// `aerie dev` before any account exists.
    Dev,
    /// A valid user.
    User(Principal),
    /// Credentials were presented and refused; the code says why (expired key, invalid token).
    Rejected(ErrorCode),
}

/// The caller of a request: who, and from where.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    pub identity: Identity,
    pub ip: Option<IpAddr>,
}

impl Actor {
    pub fn anonymous(ip: Option<IpAddr>) -> Self {
        Self {
            identity: Identity::Anonymous,
            ip,
        }
    }

    pub fn user(principal: Principal, ip: Option<IpAddr>) -> Self {
        Self {
            identity: Identity::User(principal),
            ip,
        }
    }

    /// A short label for logs.
    pub fn kind(&self) -> &'static str {
        match &self.identity {
            Identity::Anonymous => "anonymous",
            Identity::Dev => "dev",
            Identity::Rejected(_) => "rejected",
            Identity::User(p) => match p.credential {
                Credential::Session => "session",
                Credential::Jwt => "jwt",
                Credential::ApiKey(_) => "api_key",
                Credential::Cli => "cli",
                Credential::Dev => "dev",
            },
        }
    }

    /// The authenticated user, or the 401 that explains why there is none.
    pub fn principal(&self) -> Result<&Principal> {
        match &self.identity {
            Identity::User(p) => Ok(p),
            Identity::Rejected(code) => Err(Error::Code(*code)),
            Identity::Anonymous | Identity::Dev => Err(Error::Unauthenticated),
        }
    }

    /// The authenticated user if their role is at least `role` (403 otherwise).
    pub fn require_role(&self, role: Role) -> Result<&Principal> {
        let p = self.principal()?;
        if p.role >= role {
            Ok(p)
        } else {
            Err(Error::Forbidden)
        }
    }

    /// For endpoints the reference documents mark JWT-only (Egret's key and org management):
    /// API keys are refused with Egret's 401. Browser sessions, the CLI and dev mode are accepted.
    pub fn require_jwt(&self) -> Result<&Principal> {
        let p = self.principal()?;
        if p.credential.is_person() {
            Ok(p)
        } else {
            Err(Error::JwtRequired)
        }
    }

    /// For endpoints that need a person (managing keys, members, the organisation and its
    /// settings, the dashboard): API keys are refused with a 403 that says so.
    pub fn require_person(&self) -> Result<&Principal> {
        let p = self.principal()?;
        if p.credential.is_person() {
            Ok(p)
        } else {
            Err(Error::PersonRequired)
        }
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// Handlers take `actor: Actor`; the auth middleware put it in the request.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Actor>().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(role: Role, credential: Credential) -> Actor {
        Actor::user(
            Principal {
                user_id: UserId::new(),
                org_id: OrgId::new(),
                role,
                credential,
                key_limits: KeyLimits::default(),
            },
            None,
        )
    }

    #[test]
    fn roles_are_ordered_and_enforced() {
        assert!(
            with(Role::Owner, Credential::Jwt)
                .require_role(Role::Admin)
                .is_ok()
        );
        assert!(
            with(Role::Admin, Credential::Jwt)
                .require_role(Role::Admin)
                .is_ok()
        );
        let err = with(Role::Member, Credential::Jwt)
            .require_role(Role::Admin)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Forbidden);
        for r in ["owner", "admin", "member"] {
            assert_eq!(r.parse::<Role>().map(Role::as_str), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn api_keys_are_refused_where_a_jwt_is_required() {
        let key = with(Role::Owner, Credential::ApiKey(ApiKeyId::new()));
        assert_eq!(
            key.require_jwt().unwrap_err().code(),
            ErrorCode::Unauthenticated
        );
        assert!(with(Role::Member, Credential::Jwt).require_jwt().is_ok());
        assert_eq!(
            key.require_person().unwrap_err().code(),
            ErrorCode::Forbidden
        );
        for person in [
            Credential::Session,
            Credential::Jwt,
            Credential::Cli,
            Credential::Dev,
        ] {
            assert!(with(Role::Member, person).require_person().is_ok());
        }
        assert_eq!(
            Actor::default().principal().unwrap_err().code(),
            ErrorCode::Unauthenticated
        );
        let rejected = Actor {
            identity: Identity::Rejected(ErrorCode::InvalidApiKey),
            ip: None,
        };
        assert_eq!(
            rejected.principal().unwrap_err().code(),
            ErrorCode::InvalidApiKey
        );
    }
}
