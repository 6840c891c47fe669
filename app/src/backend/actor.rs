//! Who is calling. The HTTP layer resolves it once per request and inserts it into the request's
//! extensions; services decide what it may do.

/// The caller of a request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Actor {
    /// No credentials were presented.
    #[default]
    Anonymous,
    /// `aerie dev`: authentication is off, every request acts as the local developer.
    /// Only ever set by the `dev` command, which binds loopback only.
    Dev,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Anonymous => "anonymous",
            Actor::Dev => "dev",
        }
    }
}
