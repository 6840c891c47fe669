//! Single sign-on protocols (no database): OpenID Connect / OAuth 2 and SAML 2.0.

pub mod oidc;

#[cfg(feature = "saml")]
pub mod saml;
