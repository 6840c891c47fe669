//! Our SP metadata, and reading (and checking) an IdP's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::Node;

use super::dom::{self, NS_DS, NS_MD, escape};
use super::{BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, ConfigError, IdpConfig, SpKeys};

const PROTOCOL_SAML2: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// Largest metadata document read (some federations' are large, but one IdP's is small).
const MAX_METADATA: usize = 1024 * 1024;
/// Smallest RSA key accepted for an IdP signing certificate.
const MIN_RSA_BITS: u32 = 2048;

/// Our SP metadata: an `EntityDescriptor` with an `SPSSODescriptor` (requests unsigned,
/// assertions wanted signed), our certificate for signing and for encryption (with the
/// encryption methods we accept), the emailAddress and unspecified NameID formats, and the ACS
/// (HTTP-POST, index 0).
pub fn sp_metadata_xml(entity_id: &str, acs_url: &str, keys: &SpKeys) -> anyhow::Result<String> {
    anyhow::ensure!(!entity_id.trim().is_empty(), "the SP entity ID is empty");
    check_http_url(acs_url)
        .map_err(|()| anyhow::anyhow!("the ACS URL {acs_url:?} is not an http(s) URL"))?;
    openssl::x509::X509::from_der(&keys.cert_der)
        .map_err(|e| anyhow::anyhow!("the SP certificate cannot be read: {e}"))?;
    let cert = keys.cert_b64();
    let key_info = format!(
        "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
    );
    let encryption_methods = [
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        "http://www.w3.org/2009/xmlenc11#rsa-oaep",
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    ]
    .iter()
    .map(|a| format!("\n      <md:EncryptionMethod Algorithm=\"{a}\"/>"))
    .collect::<String>();
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{NS_MD}" xmlns:ds="{NS_DS}" entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="{PROTOCOL_SAML2}">
    <md:KeyDescriptor use="signing">
      {key_info}
    </md:KeyDescriptor>
    <md:KeyDescriptor use="encryption">
      {key_info}{encryption_methods}
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{acs_url}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity_id = escape(entity_id.trim()),
        acs_url = escape(acs_url),
    ))
}

fn check_http_url(value: &str) -> Result<(), ()> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => Ok(()),
        _ => Err(()),
    }
}

/// Reads an IdP's metadata (an `EntityDescriptor`, or an `EntitiesDescriptor` with exactly one
/// IdP): entity ID, SSO endpoint (HTTP-Redirect preferred, else HTTP-POST) and the signing
/// certificates (`KeyDescriptor use="signing"` or without `use`). Refuses metadata without a
/// signing certificate, with an unreadable or weak one, without a usable SSO endpoint, or whose
/// SSO URL is not http(s).
pub fn parse_idp_metadata(xml: &str) -> Result<IdpConfig, ConfigError> {
    if xml.len() > MAX_METADATA {
        return Err(ConfigError::Malformed("larger than 1 MiB".to_owned()));
    }
    let doc =
        dom::parse(xml.trim_start_matches('\u{feff}').trim()).map_err(ConfigError::Malformed)?;
    let root = doc.root_element();
    let entity = if dom::is(root, NS_MD, "EntityDescriptor") {
        root
    } else if dom::is(root, NS_MD, "EntitiesDescriptor") {
        let idps: Vec<_> = root
            .descendants()
            .filter(|n| dom::is(*n, NS_MD, "EntityDescriptor") && idp_descriptor(*n).is_some())
            .collect();
        match idps.as_slice() {
            [] => return Err(ConfigError::NotIdpMetadata),
            [one] => *one,
            several => return Err(ConfigError::SeveralIdps(several.len())),
        }
    } else {
        return Err(ConfigError::NotIdpMetadata);
    };
    let idp = idp_descriptor(entity).ok_or(ConfigError::NotIdpMetadata)?;
    let entity_id = entity
        .attribute("entityID")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if entity_id.is_empty() {
        return Err(ConfigError::MissingEntityId);
    }

    let services: Vec<_> = dom::children(idp, NS_MD, "SingleSignOnService").collect();
    let pick = |binding: &'static str| {
        services
            .iter()
            .find(|s| s.attribute("Binding") == Some(binding))
            .map(|s| {
                (
                    binding,
                    s.attribute("Location")
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                )
            })
    };
    let (binding, sso_url) = pick(BINDING_HTTP_REDIRECT)
        .or_else(|| pick(BINDING_HTTP_POST))
        .ok_or(ConfigError::NoSingleSignOnService)?;

    let mut signing = Vec::new();
    let mut unspecified = Vec::new();
    for descriptor in dom::children(idp, NS_MD, "KeyDescriptor") {
        let target = match descriptor.attribute("use").map(str::trim) {
            Some("signing") => &mut signing,
            None | Some("") => &mut unspecified,
            Some(_) => continue,
        };
        for cert in certificates_in(descriptor) {
            target.push(cert);
        }
    }
    // KeyDescriptors without `use` serve both purposes (SAML metadata §2.4.1.1).
    signing.extend(unspecified);
    let mut certificates_der_b64 = Vec::new();
    for text in signing {
        let b64 = certificate_from_text(&text)?;
        if !certificates_der_b64.contains(&b64) {
            certificates_der_b64.push(b64);
        }
    }

    let config = IdpConfig {
        entity_id,
        sso_url,
        sso_binding: binding.to_owned(),
        certificates_der_b64,
    };
    validate(&config)?;
    Ok(config)
}

/// The SAML 2.0 `IDPSSODescriptor` of an `EntityDescriptor`.
fn idp_descriptor<'a, 'i>(entity: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    dom::children(entity, NS_MD, "IDPSSODescriptor").find(|d| {
        d.attribute("protocolSupportEnumeration")
            .is_some_and(|p| p.split_ascii_whitespace().any(|p| p == PROTOCOL_SAML2))
    })
}

/// The `ds:X509Certificate` texts under a `KeyDescriptor`.
fn certificates_in(descriptor: Node<'_, '_>) -> Vec<String> {
    dom::children(descriptor, NS_DS, "KeyInfo")
        .flat_map(|ki| dom::children(ki, NS_DS, "X509Data"))
        .flat_map(|xd| dom::children(xd, NS_DS, "X509Certificate"))
        .map(dom::text_content)
        .collect()
}

/// A certificate given as PEM or base64 DER (whitespace ignored), checked, as base64 DER.
pub(super) fn certificate_from_text(text: &str) -> Result<String, ConfigError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::NoSigningCertificate);
    }
    let der = if text.contains("-----BEGIN") {
        openssl::x509::X509::from_pem(text.as_bytes())
            .and_then(|c| c.to_der())
            .map_err(|e| ConfigError::BadCertificate(format!("not a PEM certificate: {e}")))?
    } else {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD
            .decode(compact)
            .map_err(|_| ConfigError::BadCertificate("not base64".to_owned()))?
    };
    check_certificate(&der)?;
    Ok(STANDARD.encode(der))
}

/// A DER certificate must parse and carry an RSA (≥ 2048 bits) or EC public key.
fn check_certificate(der: &[u8]) -> Result<(), ConfigError> {
    let cert = openssl::x509::X509::from_der(der)
        .map_err(|e| ConfigError::BadCertificate(format!("not an X.509 certificate: {e}")))?;
    let key = cert
        .public_key()
        .map_err(|e| ConfigError::BadCertificate(format!("unreadable public key: {e}")))?;
    if let Ok(rsa) = key.rsa() {
        let bits = rsa.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(ConfigError::WeakKey(format!("RSA {bits} bits")));
        }
        return Ok(());
    }
    if key.ec_key().is_ok() {
        return Ok(());
    }
    Err(ConfigError::WeakKey(format!("key type {:?}", key.id())))
}

/// See [`IdpConfig::validate`].
pub(super) fn validate(config: &IdpConfig) -> Result<(), ConfigError> {
    if config.entity_id.trim().is_empty() {
        return Err(ConfigError::MissingEntityId);
    }
    if config.sso_url.is_empty() {
        return Err(ConfigError::NoSingleSignOnService);
    }
    check_http_url(&config.sso_url).map_err(|()| ConfigError::BadSsoUrl(config.sso_url.clone()))?;
    if config.sso_binding != BINDING_HTTP_REDIRECT && config.sso_binding != BINDING_HTTP_POST {
        return Err(ConfigError::UnsupportedBinding(config.sso_binding.clone()));
    }
    if config.certificates_der_b64.is_empty() {
        return Err(ConfigError::NoSigningCertificate);
    }
    for b64 in &config.certificates_der_b64 {
        let der = STANDARD
            .decode(b64)
            .map_err(|_| ConfigError::BadCertificate("not base64".to_owned()))?;
        check_certificate(&der)?;
    }
    Ok(())
}

/// The IdP's signing certificates, DER, for the verifier.
pub(super) fn certificates_der(config: &IdpConfig) -> Result<Vec<Vec<u8>>, ConfigError> {
    validate(config)?;
    config
        .certificates_der_b64
        .iter()
        .map(|b64| {
            STANDARD
                .decode(b64)
                .map_err(|_| ConfigError::BadCertificate("not base64".to_owned()))
        })
        .collect()
}
