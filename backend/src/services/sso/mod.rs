//! Single sign-on, the rules around the protocol clients of `crate::sso`.
//!
//! Administration: an organisation's identity providers ([`providers`]: validated when saved,
//! secrets sealed, their stored [`config`] and `endpoints`), its SSO [`policy`], providers
//! described by `AERIE_*` settings ([`configured`]), and users' own linked [`identities`].
//!
//! Signing in: the login page's routing by email domain ([`discovery`]), the flows bound to a
//! browser ([`flow`]) through OAuth/OIDC ([`oauth`]) or SAML (`saml`), then the account a
//! vouched-for sign-in leads to (`account`), what a successful sign-in writes (`sign_in`),
//! linking with the person's proof ([`link`]), and refusals (`refusal`). Process-wide state is
//! in [`runtime`].

pub(crate) mod account;
pub mod config;
pub mod configured;
pub mod discovery;
pub(crate) mod endpoints;
pub mod flow;
pub mod identities;
pub mod link;
pub mod oauth;
pub mod policy;
pub mod providers;
pub(crate) mod refusal;
pub mod runtime;
#[cfg(feature = "saml")]
pub mod saml;
pub(crate) mod sign_in;

pub use config::{Overrides, Steward, StoredConfig, StoredIssuer, stored_config};
pub use configured::{apply_configured, configured_inputs};
pub use discovery::{configured_kinds, discover, org_for_email};
pub use identities::{my_identities, unlink};
pub use policy::{get_policy, policy_of, put_policy};
pub use providers::{create, delete, dto, get, list, test, update};
