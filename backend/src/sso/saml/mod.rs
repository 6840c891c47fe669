//! SAML 2.0 Web Browser SSO, service-provider side, as a pure protocol module (no database):
//! our SP key pair and metadata, reading an IdP's metadata, the `AuthnRequest`, and the
//! verification of the IdP's `Response` (HTTP-POST binding).
//!
//! samael 0.0.22 (over libxmlsec1) checks the XML signatures; everything around them is ours,
//! because samael's own flow leaves holes we must close:
//!
//! * an IdP configuration without a signing certificate is refused ([`parse_idp_metadata`],
//!   and [`verify_response`] again), so nothing is ever accepted unsigned;
//! * the assertion must be signed (our metadata says `WantAssertionsSigned`); a signed Response
//!   must verify too; signature, digest, canonicalization and transforms are allow-listed
//!   (RSA/ECDSA with SHA-256 or better, no SHA-1, no XPath/XSLT);
//! * signature wrapping: exactly one assertion, a direct child of the Response; unique IDs;
//!   each signature is enveloped in the element it references (`URI="#ID"`, one reference);
//!   every value is then read from the bytes xmlsec actually digested (its pre-digest buffer,
//!   re-parsed), never from the document the attacker sent;
//! * audience (required, ours), Destination, Recipient, issuer and every time bound
//!   (Conditions, SubjectConfirmationData, SessionNotOnOrAfter, IssueInstant) with the caller's
//!   clock and skew;
//! * NameID and attribute values are the full text of their element (a comment cannot cut it);
//! * `EncryptedAssertion`s are decrypted with openssl (RSA-OAEP + AES-CBC/GCM) and the plaintext
//!   goes through the same checks;
//! * libxmlsec1 is not thread-safe: every call into it holds [`xmlsec_lock`].
//!
//! Replay protection and `InResponseTo` matching are the caller's: [`VerifiedAssertion`] carries
//! the assertion ID, the request ID it answers and the time until which it must be remembered.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[cfg(any(test, feature = "test-support"))]
pub mod craft;
mod decrypt;
mod dom;
mod metadata;
mod request;
#[cfg(test)]
mod tests;
mod verify;

pub use metadata::{parse_idp_metadata, sp_metadata_xml};
pub use request::authn_request;
#[cfg(any(test, feature = "test-support"))]
pub use verify::verify_response;
pub use verify::{peek, verify_response_async};

/// Binding URI of HTTP-Redirect (the `AuthnRequest` travels deflated in the query string).
pub const BINDING_HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// Binding URI of HTTP-POST (an auto-submitted form).
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The process-wide lock around libxmlsec1, which is not thread-safe. [`verify_response`]
/// takes it itself; hold it around any other call into samael's xmlsec-backed functions.
pub fn xmlsec_lock() -> MutexGuard<'static, ()> {
    static XMLSEC: Mutex<()> = Mutex::new(());
    // A panic while holding it leaves no state of ours behind: keep going.
    XMLSEC
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Our service provider's key pair: signs nothing today (requests go unsigned) but is published
/// in our metadata for signing and encryption, and decrypts `EncryptedAssertion`s.
#[derive(Clone)]
pub struct SpKeys {
    /// The self-signed X.509 certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PEM (PKCS#8).
    pub key_pem: SecretString,
}

impl fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpKeys")
            .field("cert_der", &format_args!("{} bytes", self.cert_der.len()))
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

impl SpKeys {
    /// Bits of the RSA key made by [`SpKeys::generate`].
    pub const RSA_BITS: u32 = 3072;

    /// A new RSA key and a self-signed certificate for it (CN `common_name`, valid 10 years,
    /// SHA-256).
    pub fn generate(common_name: &str) -> anyhow::Result<SpKeys> {
        use openssl::asn1::Asn1Time;
        use openssl::bn::{BigNum, MsbOption};
        use openssl::hash::MessageDigest;
        use openssl::nid::Nid;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
        use openssl::x509::{X509Builder, X509NameBuilder};

        let common_name = common_name.trim();
        anyhow::ensure!(
            !common_name.is_empty(),
            "the certificate needs a common name"
        );
        // X.509 bounds the CN at 64 characters.
        let common_name: String = common_name.chars().take(64).collect();

        let key = PKey::from_rsa(Rsa::generate(Self::RSA_BITS)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, &common_name)?;
        let name = name.build();

        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let mut builder = X509Builder::new()?;
        builder.set_version(2)?;
        builder.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        builder.set_not_after(Asn1Time::days_from_now(3650)?.as_ref())?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
        builder.append_extension(ski)?;
        builder.sign(&key, MessageDigest::sha256())?;
        let cert_der = builder.build().to_der()?;
        let key_pem = String::from_utf8(key.private_key_to_pem_pkcs8()?)?;
        Ok(SpKeys {
            cert_der,
            key_pem: SecretString::from(key_pem),
        })
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert_der)
    }

    /// The certificate, base64 DER (the content of `ds:X509Certificate`).
    pub fn cert_b64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.cert_der)
    }

    /// Checks that the key is a readable RSA key matching the certificate.
    pub fn check(&self) -> anyhow::Result<()> {
        let cert = openssl::x509::X509::from_der(&self.cert_der)?;
        let key =
            openssl::pkey::PKey::private_key_from_pem(self.key_pem.expose_secret().as_bytes())?;
        anyhow::ensure!(key.rsa().is_ok(), "the SP key must be an RSA key");
        anyhow::ensure!(
            cert.public_key()?.public_eq(&key),
            "the SP key does not match its certificate"
        );
        Ok(())
    }
}

/// PEM armour of DER bytes.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let bytes = b64.as_bytes();
    for line in bytes.chunks(64) {
        // base64 output is ASCII: every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// What we keep of an identity provider: from its metadata ([`parse_idp_metadata`]) or typed in
/// ([`IdpConfig::manual`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpConfig {
    /// The IdP's entity ID (the `Issuer` of its responses).
    pub entity_id: String,
    /// Where to send the `AuthnRequest`.
    pub sso_url: String,
    /// The binding of `sso_url`: [`BINDING_HTTP_REDIRECT`] (preferred) or [`BINDING_HTTP_POST`].
    pub sso_binding: String,
    /// The IdP's signing certificates, base64 DER (several during a key rollover).
    pub certificates_der_b64: Vec<String>,
}

impl IdpConfig {
    /// An IdP typed in by an administrator: entity ID, SSO URL (HTTP-Redirect binding) and the
    /// signing certificate as PEM or base64 DER.
    #[cfg(any(test, feature = "test-support"))]
    pub fn manual(
        entity_id: &str,
        sso_url: &str,
        certificate: &str,
    ) -> Result<IdpConfig, ConfigError> {
        let certificate = metadata::certificate_from_text(certificate)?;
        let config = IdpConfig {
            entity_id: entity_id.trim().to_owned(),
            sso_url: sso_url.trim().to_owned(),
            sso_binding: BINDING_HTTP_REDIRECT.to_owned(),
            certificates_der_b64: vec![certificate],
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks a stored configuration: entity ID, http(s) SSO URL, known binding, at least one
    /// readable signing certificate with a strong enough key.
    #[cfg(any(test, feature = "test-support"))]
    pub fn validate(&self) -> Result<(), ConfigError> {
        metadata::validate(self)
    }
}

/// Why an IdP configuration (metadata or typed in) is refused. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not well-formed XML (or a DOCTYPE, or too large).
    #[error(
        "the IdP metadata is not valid XML ({0}): paste the metadata document exactly as the IdP exports it"
    )]
    Malformed(String),
    /// Well-formed, but not SAML 2.0 IdP metadata.
    #[error(
        "the document is not SAML 2.0 identity-provider metadata (expected an EntityDescriptor with an IDPSSODescriptor for urn:oasis:names:tc:SAML:2.0:protocol): download the IdP's SAML 2.0 metadata, not the SP's or a WS-Federation document"
    )]
    NotIdpMetadata,
    /// An `EntitiesDescriptor` listing several IdPs.
    #[error("the metadata describes {0} identity providers: paste the metadata of exactly one IdP")]
    SeveralIdps(usize),
    /// No (or an empty) `entityID`.
    #[error(
        "the IdP metadata has no entityID: export the metadata again, or type the IdP's entity ID"
    )]
    MissingEntityId,
    /// No SSO endpoint with a binding we speak.
    #[error(
        "the IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding: enable SAML 2.0 web SSO for this application in the IdP and export the metadata again"
    )]
    NoSingleSignOnService,
    /// The SSO endpoint is not an http(s) URL.
    #[error(
        "the IdP's single sign-on URL {0:?} is not an http(s) URL: fix the SingleSignOnService Location in the IdP"
    )]
    BadSsoUrl(String),
    /// A binding other than HTTP-Redirect and HTTP-POST in a stored configuration.
    #[error("the SSO binding {0:?} is not supported: use HTTP-Redirect or HTTP-POST")]
    UnsupportedBinding(String),
    /// No signing certificate: samael would then skip signature verification.
    #[error(
        "the IdP metadata has no signing certificate (KeyDescriptor use=\"signing\"): export the metadata again with the certificate, or paste the certificate"
    )]
    NoSigningCertificate,
    /// A certificate that cannot be decoded.
    #[error(
        "a signing certificate of the IdP cannot be read ({0}): export the metadata again, or paste the certificate in PEM format"
    )]
    BadCertificate(String),
    /// A certificate whose key is too weak or of an unsupported type.
    #[error(
        "the IdP signing certificate has a weak or unsupported key ({0}): configure the IdP with an RSA key of at least 2048 bits or an EC key"
    )]
    WeakKey(String),
}

/// What [`verify_response`] checks against.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// Our SP entity ID: the required audience.
    pub sp_entity_id: &'a str,
    /// Our ACS URL: the Destination and Recipient.
    pub acs_url: &'a str,
    /// The IdP the response must come from.
    pub idp: &'a IdpConfig,
    /// The current time.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Clock skew tolerated on every time bound (negative counts as zero).
    pub skew: chrono::Duration,
}

/// [`Expected`] with owned fields, to move into [`verify_response_async`].
#[derive(Clone, Debug)]
pub struct OwnedExpected {
    /// See [`Expected::sp_entity_id`].
    pub sp_entity_id: String,
    /// See [`Expected::acs_url`].
    pub acs_url: String,
    /// See [`Expected::idp`].
    pub idp: IdpConfig,
    /// See [`Expected::now`].
    pub now: chrono::DateTime<chrono::Utc>,
    /// See [`Expected::skew`].
    pub skew: chrono::Duration,
}

impl OwnedExpected {
    /// Borrows it as an [`Expected`].
    pub fn as_expected(&self) -> Expected<'_> {
        Expected {
            sp_entity_id: &self.sp_entity_id,
            acs_url: &self.acs_url,
            idp: &self.idp,
            now: self.now,
            skew: self.skew,
        }
    }
}

impl From<&Expected<'_>> for OwnedExpected {
    fn from(e: &Expected<'_>) -> Self {
        OwnedExpected {
            sp_entity_id: e.sp_entity_id.to_owned(),
            acs_url: e.acs_url.to_owned(),
            idp: e.idp.clone(),
            now: e.now,
            skew: e.skew,
        }
    }
}

/// A verified assertion: every field comes from the signed assertion, except
/// [`VerifiedAssertion::response_id`] (signed only when the Response is). The login flow reads
/// what it needs; the rest is kept for the tests that check verification end to end.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct VerifiedAssertion {
    /// The assertion's `ID` (the replay-cache key, with the issuer).
    pub assertion_id: String,
    /// The Response's `ID`.
    pub response_id: String,
    /// The assertion's `Issuer` (equal to the IdP's entity ID).
    pub issuer: String,
    /// The request this answers: `SubjectConfirmationData@InResponseTo`, else the Response's
    /// when the Response is signed (an unsigned Response's is not trusted). `None`: treat it
    /// as an IdP-initiated login. The caller matches it against its stored request IDs.
    pub in_response_to: Option<String>,
    /// Until when the assertion could be accepted (earliest `NotOnOrAfter` plus the skew): keep
    /// its ID in the replay cache until then.
    pub not_on_or_after: chrono::DateTime<chrono::Utc>,
    /// The subject's `NameID`, the whole text of the element, trimmed.
    pub name_id: String,
    /// The `NameID`'s `Format`.
    pub name_id_format: Option<String>,
    /// The `AuthnStatement`'s `SessionIndex` (for single logout).
    pub session_index: Option<String>,
    /// Attribute values keyed by `Name` and also by `FriendlyName` when present.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Unverified routing information of a response, to find the flow and IdP it belongs to
/// before verifying it. Never trust it for anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peek {
    /// The Response's `Issuer`, else the (plain) assertion's.
    pub issuer: Option<String>,
    /// The Response's `InResponseTo`.
    pub in_response_to: Option<String>,
}

/// Why a response is refused. [`Refusal::code`] is a stable snake_case reason for the audit log;
/// the message is a sentence for the user or administrator.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not a well-formed SAML Response, or a required part is missing.
    #[error("the identity provider's answer is not a valid SAML response: {0}")]
    Malformed(String),
    /// The IdP answered with an error status.
    #[error("the identity provider refused the login (status {status}{})", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    StatusNotSuccess {
        /// The (first-level) status code.
        status: String,
        /// The `StatusMessage`, if any.
        message: Option<String>,
    },
    /// The assertion carries no signature of its own.
    #[error(
        "the assertion is not signed: configure the identity provider to sign assertions (signing only the response is not enough)"
    )]
    UnsignedAssertion,
    /// An algorithm outside the allow-list (SHA-1, RSA PKCS#1 v1.5 key transport, XPath…).
    #[error(
        "the identity provider uses an algorithm that is not accepted ({0}): configure it to sign with RSA or ECDSA and SHA-256 (or better) and to encrypt with RSA-OAEP and AES"
    )]
    WeakAlgorithm(String),
    /// A signature does not verify with the IdP's certificates.
    #[error(
        "the signature does not verify with the identity provider's certificate: the message was altered, or the IdP's signing certificate changed (update the IdP configuration)"
    )]
    BadSignature,
    /// The structure allows a signature-wrapping attack.
    #[error("the response is structured in a way that is refused for security reasons ({0})")]
    SignatureWrapping(String),
    /// The issuer is not the configured IdP.
    #[error("the response was issued by {found:?}, not by the configured identity provider")]
    WrongIssuer {
        /// The issuer found.
        found: String,
    },
    /// The Response's Destination is not our ACS URL.
    #[error("the response is addressed to {found:?}, not to this service's ACS URL")]
    WrongDestination {
        /// The Destination found.
        found: String,
    },
    /// No bearer confirmation has our ACS URL as Recipient.
    #[error("the assertion is meant for recipient {found:?}, not this service's ACS URL")]
    WrongRecipient {
        /// The Recipient found.
        found: String,
    },
    /// No bearer `SubjectConfirmation` with `SubjectConfirmationData`.
    #[error(
        "the assertion has no bearer subject confirmation with its data (Recipient, NotOnOrAfter)"
    )]
    NoBearerConfirmation,
    /// No `AudienceRestriction`.
    #[error(
        "the assertion is not restricted to an audience: configure the identity provider to send this service's entity ID as audience"
    )]
    MissingAudience,
    /// An `AudienceRestriction` without our entity ID.
    #[error(
        "the assertion is meant for another service (audience {found:?}): check the SP entity ID configured in the identity provider"
    )]
    WrongAudience {
        /// The audiences found.
        found: String,
    },
    /// A `NotOnOrAfter` has passed.
    #[error("the assertion has expired (at {0}): try signing in again, and check the clocks")]
    Expired(String),
    /// A `NotBefore` (or `IssueInstant`) is still ahead.
    #[error(
        "the assertion is not valid yet (until {0}): check the clocks of this server and the identity provider"
    )]
    NotYetValid(String),
    /// The `EncryptedAssertion` cannot be decrypted with our key.
    #[error(
        "the encrypted assertion cannot be decrypted with this service's key: give the identity provider this service's current certificate (from its metadata)"
    )]
    DecryptionFailed,
    /// The Response's and the assertion's `InResponseTo` differ.
    #[error("the response and the assertion answer different requests")]
    InResponseToMismatch,
    /// The stored IdP configuration is unusable (no or unreadable certificate).
    #[error("the identity provider is not configured correctly: {0}")]
    IdpMisconfigured(String),
    /// A failure of ours (task, SP key).
    #[error("an internal error stopped the verification of the SAML response")]
    Internal,
}

impl Refusal {
    /// Stable snake_case reason for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::StatusNotSuccess { .. } => "status_not_success",
            Refusal::UnsignedAssertion => "unsigned_assertion",
            Refusal::WeakAlgorithm(_) => "weak_algorithm",
            Refusal::BadSignature => "bad_signature",
            Refusal::SignatureWrapping(_) => "signature_wrapping",
            Refusal::WrongIssuer { .. } => "wrong_issuer",
            Refusal::WrongDestination { .. } => "wrong_destination",
            Refusal::WrongRecipient { .. } => "wrong_recipient",
            Refusal::NoBearerConfirmation => "no_bearer_confirmation",
            Refusal::MissingAudience => "missing_audience",
            Refusal::WrongAudience { .. } => "wrong_audience",
            Refusal::Expired(_) => "expired",
            Refusal::NotYetValid(_) => "not_yet_valid",
            Refusal::DecryptionFailed => "decryption_failed",
            Refusal::InResponseToMismatch => "in_response_to_mismatch",
            Refusal::IdpMisconfigured(_) => "idp_misconfigured",
            Refusal::Internal => "internal_error",
        }
    }
}

/// `AuthnRequest` to send the browser to the IdP with.
#[derive(Clone, Debug)]
pub struct AuthnRequest {
    /// The request's `ID`: store it with the flow and match it against
    /// [`VerifiedAssertion::in_response_to`].
    pub id: String,
    /// HTTP-Redirect binding: the URL to redirect the browser to (SAMLRequest deflated and
    /// base64'd, RelayState in the query). Empty when [`AuthnRequest::post_form`] is set.
    pub redirect_url: String,
    /// HTTP-POST binding (the IdP has no HTTP-Redirect endpoint): render an auto-submitting
    /// form with these fields instead of redirecting.
    pub post_form: Option<PostForm>,
}

/// The fields of an HTTP-POST binding form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostForm {
    /// The form's `action` (the IdP's SSO URL).
    pub action: String,
    /// The `SAMLRequest` field: the request XML, base64 (not deflated).
    pub saml_request: String,
    /// The `RelayState` field (omit the field when empty).
    pub relay_state: String,
}

impl PostForm {
    /// The HTTP-POST binding's page: a form that submits itself (a button without scripts).
    pub fn html(&self) -> String {
        let relay = if self.relay_state.is_empty() {
            String::new()
        } else {
            format!(
                r#"<input type="hidden" name="RelayState" value="{}">"#,
                dom::escape(&self.relay_state)
            )
        };
        format!(
            r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signing in…</title></head><body onload="document.forms[0].submit()"><form method="post" action="{}"><input type="hidden" name="SAMLRequest" value="{}">{relay}<noscript><button type="submit">Continue</button></noscript></form></body></html>"#,
            dom::escape(&self.action),
            dom::escape(&self.saml_request)
        )
    }
}
