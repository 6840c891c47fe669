//! The `AuthnRequest` (unsigned), for the HTTP-Redirect or the HTTP-POST binding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::schema::{Issuer, NameIdPolicy};
use samael::traits::ToXml;

use super::dom::escape;
use super::{AuthnRequest, BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, IdpConfig, PostForm};

/// Longest RelayState the SAML bindings allow (bytes).
const MAX_RELAY_STATE: usize = 80;

/// A new request ID: an NCName (`_` then 32 hex digits, 128 random bits).
pub(super) fn new_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

/// Builds an `AuthnRequest` for `idp`, asking for the answer at `acs_url` (HTTP-POST) with
/// `relay_state` (at most 80 bytes; empty for none). HTTP-Redirect binding when the IdP has it:
/// [`AuthnRequest::redirect_url`]; else [`AuthnRequest::post_form`] for an auto-submitting form.
pub fn authn_request(
    idp: &IdpConfig,
    sp_entity_id: &str,
    acs_url: &str,
    relay_state: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<AuthnRequest> {
    anyhow::ensure!(
        relay_state.len() <= MAX_RELAY_STATE,
        "the RelayState is longer than {MAX_RELAY_STATE} bytes"
    );
    anyhow::ensure!(!sp_entity_id.trim().is_empty(), "the SP entity ID is empty");
    let id = new_id();
    let request = samael::schema::AuthnRequest {
        id: id.clone(),
        version: "2.0".to_owned(),
        issue_instant: now,
        destination: Some(idp.sso_url.clone()),
        // samael writes the Issuer's text unescaped (attributes are escaped).
        issuer: Some(Issuer {
            value: Some(escape(sp_entity_id.trim())),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        assertion_consumer_service_url: Some(acs_url.to_owned()),
        protocol_binding: Some(BINDING_HTTP_POST.to_owned()),
        ..samael::schema::AuthnRequest::default()
    };
    match idp.sso_binding.as_str() {
        BINDING_HTTP_REDIRECT => {
            let url = request
                .redirect(relay_state)
                .map_err(|e| anyhow::anyhow!("cannot build the SAML redirect: {e}"))?
                .ok_or_else(|| anyhow::anyhow!("the IdP has no SSO URL"))?;
            Ok(AuthnRequest {
                id,
                redirect_url: url.to_string(),
                post_form: None,
            })
        }
        BINDING_HTTP_POST => {
            let xml = request
                .to_string()
                .map_err(|e| anyhow::anyhow!("cannot serialize the AuthnRequest: {e}"))?;
            Ok(AuthnRequest {
                id,
                redirect_url: String::new(),
                post_form: Some(PostForm {
                    action: idp.sso_url.clone(),
                    saml_request: STANDARD.encode(xml),
                    relay_state: relay_state.to_owned(),
                }),
            })
        }
        other => anyhow::bail!("the SSO binding {other:?} is not supported"),
    }
}
