//! Verifying the IdP's `Response` (HTTP-POST binding).
//!
//! Order: decode and parse (no DTD) → Response root → Status → structure (one assertion, a
//! direct child; unique IDs; signatures only enveloped in the Response or the assertion, each
//! referencing its parent, allow-listed algorithms) → xmlsec verifies every signature with the
//! IdP's certificates and hands back what it digested → the values are read from those bytes →
//! issuer, destination, subject confirmation, conditions, audience, times.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use roxmltree::{Document, Node};
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};
use secrecy::ExposeSecret;

use super::dom::{self, NS_SAML, NS_SAMLP, truncate};
use super::{Expected, OwnedExpected, Peek, Refusal, SpKeys, VerifiedAssertion, decrypt};

/// Largest `SAMLResponse` accepted (base64 characters).
const MAX_RESPONSE_B64: usize = 2 * 1024 * 1024;
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The same allow-list as [`dom::SIGNATURE_ALLOWED`], handed to samael as a second check.
const SAMAEL_ALLOWED: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Decodes the `SAMLResponse` form field (base64, line breaks tolerated) to XML text.
fn decode(saml_response_b64: &str) -> Result<String, Refusal> {
    if saml_response_b64.len() > MAX_RESPONSE_B64 {
        return Err(Refusal::Malformed("the response is too large".to_owned()));
    }
    let compact: String = saml_response_b64
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| Refusal::Malformed("the SAMLResponse is not base64".to_owned()))?;
    let xml = String::from_utf8(bytes)
        .map_err(|_| Refusal::Malformed("the response is not UTF-8".to_owned()))?;
    Ok(xml.trim_start_matches('\u{feff}').to_owned())
}

fn parse(xml: &str) -> Result<Document<'_>, Refusal> {
    dom::parse(xml).map_err(Refusal::Malformed)
}

/// Reads the unverified routing information of a response: its issuer and `InResponseTo`.
pub fn peek(saml_response_b64: &str) -> Result<Peek, Refusal> {
    let xml = decode(saml_response_b64)?;
    let doc = parse(&xml)?;
    let root = doc.root_element();
    if !dom::is(root, NS_SAMLP, "Response") {
        return Err(Refusal::Malformed(
            "the message is not a SAML Response".to_owned(),
        ));
    }
    let issuer_of = |node: Node<'_, '_>| {
        dom::children(node, NS_SAML, "Issuer")
            .next()
            .map(|i| dom::text_content(i).trim().to_owned())
    };
    let issuer = issuer_of(root).or_else(|| {
        dom::children(root, NS_SAML, "Assertion")
            .next()
            .and_then(issuer_of)
    });
    Ok(Peek {
        issuer,
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
    })
}

/// [`verify_response`] on the blocking thread pool (libxmlsec1 work is CPU-bound and serialized
/// behind [`super::xmlsec_lock`]).
pub async fn verify_response_async(
    saml_response_b64: String,
    expected: OwnedExpected,
    keys: SpKeys,
) -> Result<VerifiedAssertion, Refusal> {
    tokio::task::spawn_blocking(move || {
        verify_response(&saml_response_b64, &expected.as_expected(), &keys)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the SAML verification task failed");
        Refusal::Internal
    })?
}

/// Verifies a `SAMLResponse` (the base64 form field) against `expected` and returns the signed
/// assertion's content, or why it is refused. `keys` decrypts an `EncryptedAssertion`.
///
/// Blocking (xmlsec, behind a process-wide lock): from async code use
/// [`verify_response_async`].
pub fn verify_response(
    saml_response_b64: &str,
    expected: &Expected<'_>,
    keys: &SpKeys,
) -> Result<VerifiedAssertion, Refusal> {
    let certificates: Vec<CertificateDer> = super::metadata::certificates_der(expected.idp)
        .map_err(|e| Refusal::IdpMisconfigured(e.to_string()))?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let xml = decode(saml_response_b64)?;
    let doc = parse(&xml)?;
    let root = doc.root_element();
    if !dom::is(root, NS_SAMLP, "Response") {
        return Err(Refusal::Malformed(
            "the message is not a SAML Response".to_owned(),
        ));
    }
    check_status(root)?;
    check_version(root)?;
    let response_id = required_attribute(root, "ID")?;
    dom::check_unique_ids(&doc)?;
    let (assertion, encrypted) = single_assertion(&doc)?;
    dom::check_signature_placement(&doc, &[root, assertion])?;
    let response_signature = dom::signature_of(root)?;
    if let Some(sig) = response_signature {
        dom::check_signature(sig, &response_id)?;
    }

    if !encrypted {
        let assertion_id = required_attribute(assertion, "ID")?;
        let sig = dom::signature_of(assertion)?.ok_or(Refusal::UnsignedAssertion)?;
        dom::check_signature(sig, &assertion_id)?;
        // One call verifies every signature of the document; with a signed Response, samael
        // returns the Response's digested bytes (which contain the assertion), else the
        // assertion's.
        let digested = xmlsec_verify(&xml, &certificates)?;
        let verified = parse(&digested)?;
        let verified_root = verified.root_element();
        if response_signature.is_some() {
            let response = verified_response(verified_root, &response_id)?;
            let (inner, inner_encrypted) = single_direct_assertion(response)?;
            if inner_encrypted || inner.attribute("ID") != Some(assertion_id.as_str()) {
                return Err(wrapping("the signed response holds another assertion"));
            }
            check_assertion(response, true, inner, expected)
        } else {
            let assertion = verified_assertion(verified_root, &assertion_id)?;
            check_assertion(root, false, assertion, expected)
        }
    } else {
        let digested_response = match response_signature {
            Some(_) => Some(xmlsec_verify(&xml, &certificates)?),
            None => None,
        };
        let verified_response_doc = match &digested_response {
            Some(d) => Some(parse(d)?),
            None => None,
        };
        let response = match &verified_response_doc {
            Some(d) => verified_response(d.root_element(), &response_id)?,
            None => root,
        };
        let (encrypted_assertion, still_encrypted) = single_direct_assertion(response)?;
        if !still_encrypted {
            return Err(wrapping("the signed response holds another assertion"));
        }
        let plaintext = decrypt::decrypt_assertion(
            encrypted_assertion,
            assertion,
            keys.key_pem.expose_secret(),
        )?;
        let decrypted = parse(&plaintext).map_err(|_| Refusal::DecryptionFailed)?;
        let assertion = decrypted_assertion(&decrypted)?;
        dom::check_unique_ids(&decrypted)?;
        dom::check_signature_placement(&decrypted, &[assertion])?;
        let assertion_id = required_attribute(assertion, "ID")?;
        let sig = dom::signature_of(assertion)?.ok_or(Refusal::UnsignedAssertion)?;
        dom::check_signature(sig, &assertion_id)?;
        let digested = xmlsec_verify(&plaintext, &certificates)?;
        let verified = parse(&digested)?;
        let assertion = verified_assertion(verified.root_element(), &assertion_id)?;
        check_assertion(response, response_signature.is_some(), assertion, expected)
    }
}

fn wrapping(what: &str) -> Refusal {
    Refusal::SignatureWrapping(what.to_owned())
}

/// Runs xmlsec (through samael) on `xml`: every `ds:Signature` must verify with one of the
/// certificates and use an allow-listed algorithm. Returns the bytes xmlsec digested for the
/// signed element (the Response's when both it and the assertion are signed).
fn xmlsec_verify(xml: &str, certificates: &[CertificateDer]) -> Result<String, Refusal> {
    let result = {
        let _xmlsec = super::xmlsec_lock();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Crypto::reduce_xml_to_signed_with_allowed_algorithms(
                xml,
                certificates,
                ReduceMode::PreDigest,
                Some(SAMAEL_ALLOWED),
            )
        }))
    };
    match result {
        Ok(Ok(digested)) => Ok(digested),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, source = ?std::error::Error::source(&e), "SAML signature verification failed");
            Err(Refusal::BadSignature)
        }
        Err(_) => {
            tracing::error!("samael panicked while verifying a SAML signature");
            Err(Refusal::Internal)
        }
    }
}

/// The verified Response: the digested document's root, with the ID the signature referenced.
fn verified_response<'a, 'i>(root: Node<'a, 'i>, id: &str) -> Result<Node<'a, 'i>, Refusal> {
    if dom::is(root, NS_SAMLP, "Response") && root.attribute("ID") == Some(id) {
        Ok(root)
    } else {
        Err(wrapping("the signed content is not the response"))
    }
}

/// The verified assertion: the digested document's root, with the ID the signature referenced.
fn verified_assertion<'a, 'i>(root: Node<'a, 'i>, id: &str) -> Result<Node<'a, 'i>, Refusal> {
    if dom::is(root, NS_SAML, "Assertion") && root.attribute("ID") == Some(id) {
        Ok(root)
    } else {
        Err(wrapping("the signed content is not the assertion"))
    }
}

/// The decrypted document's assertion: its root, or the only child of the namespace wrapper.
fn decrypted_assertion<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, Refusal> {
    let root = doc.root_element();
    let count = doc
        .descendants()
        .filter(|n| {
            n.is_element() && matches!(n.tag_name().name(), "Assertion" | "EncryptedAssertion")
        })
        .count();
    if count != 1 {
        return Err(wrapping("the encrypted assertion holds several assertions"));
    }
    if dom::is(root, NS_SAML, "Assertion") {
        return Ok(root);
    }
    let mut elements = root.children().filter(Node::is_element);
    match (root.tag_name().name(), elements.next(), elements.next()) {
        (decrypt::WRAPPER, Some(only), None) if dom::is(only, NS_SAML, "Assertion") => Ok(only),
        _ => Err(Refusal::Malformed(
            "the encrypted content is not an assertion".to_owned(),
        )),
    }
}

/// The only assertion of the document, plain or encrypted, which must be a direct child of the
/// Response. Counts every element named Assertion or EncryptedAssertion, in any namespace.
fn single_assertion<'a, 'i>(doc: &'a Document<'i>) -> Result<(Node<'a, 'i>, bool), Refusal> {
    let all: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.is_element() && matches!(n.tag_name().name(), "Assertion" | "EncryptedAssertion")
        })
        .collect();
    match all.as_slice() {
        [] => Err(Refusal::Malformed(
            "the response holds no assertion".to_owned(),
        )),
        [_] => single_direct_assertion(doc.root_element()),
        several => Err(Refusal::SignatureWrapping(format!(
            "the response holds {} assertions (exactly one is accepted)",
            several.len()
        ))),
    }
}

/// The one direct-child `Assertion` or `EncryptedAssertion` of a Response (and whether it is
/// encrypted).
fn single_direct_assertion<'a, 'i>(
    response: Node<'a, 'i>,
) -> Result<(Node<'a, 'i>, bool), Refusal> {
    let direct: Vec<_> = response
        .children()
        .filter(|n| dom::is(*n, NS_SAML, "Assertion") || dom::is(*n, NS_SAML, "EncryptedAssertion"))
        .collect();
    match direct.as_slice() {
        [one] => Ok((*one, one.tag_name().name() == "EncryptedAssertion")),
        [] => Err(wrapping(
            "the assertion is not a direct child of the response",
        )),
        _ => Err(wrapping("the response holds several assertions")),
    }
}

fn required_attribute(node: Node<'_, '_>, name: &str) -> Result<String, Refusal> {
    match node.attribute(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.to_owned()),
        _ => Err(Refusal::Malformed(format!(
            "the {} has no {name}",
            node.tag_name().name()
        ))),
    }
}

fn check_version(node: Node<'_, '_>) -> Result<(), Refusal> {
    match node.attribute("Version") {
        Some("2.0") => Ok(()),
        other => Err(Refusal::Malformed(format!(
            "the {} has version {:?}, not 2.0",
            node.tag_name().name(),
            other.map(truncate)
        ))),
    }
}

/// The top-level status must be Success. Checked before anything else: an IdP's error response
/// usually carries no assertion and no signature, and deserves its own message.
fn check_status(response: Node<'_, '_>) -> Result<(), Refusal> {
    let status = dom::child_at_most_one(response, NS_SAMLP, "Status")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| Refusal::Malformed("the response has no Status".to_owned()))?;
    let code = dom::child_at_most_one(status, NS_SAMLP, "StatusCode")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| Refusal::Malformed("the response has no StatusCode".to_owned()))?;
    let value = code.attribute("Value").unwrap_or_default();
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let short = |v: &str| v.rsplit(':').next().unwrap_or(v).to_owned();
    let mut status_text = short(value);
    if let Some(sub) = dom::children(code, NS_SAMLP, "StatusCode")
        .next()
        .and_then(|s| s.attribute("Value"))
    {
        status_text.push('/');
        status_text.push_str(&short(sub));
    }
    let message = dom::children(status, NS_SAMLP, "StatusMessage")
        .next()
        .map(|m| truncate(dom::text_content(m).trim()))
        .filter(|m| !m.is_empty());
    Err(Refusal::StatusNotSuccess {
        status: truncate(&status_text),
        message,
    })
}

/// An xs:dateTime (UTC expected; a time without zone is read as UTC).
fn parse_time(value: &str, what: &str) -> Result<DateTime<Utc>, Refusal> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc())
        .map_err(|_| {
            Refusal::Malformed(format!("{what} is not a valid time: {:?}", truncate(value)))
        })
}

fn time_attribute(node: Node<'_, '_>, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    node.attribute(name)
        .map(|v| parse_time(v, &format!("{}@{name}", node.tag_name().name())))
        .transpose()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The clock window of `expected`.
struct Clock {
    now: DateTime<Utc>,
    skew: chrono::Duration,
}

impl Clock {
    /// Refuses when `not_before` is still ahead.
    fn not_before(&self, not_before: Option<DateTime<Utc>>) -> Result<(), Refusal> {
        match not_before {
            Some(t) if self.now + self.skew < t => Err(Refusal::NotYetValid(rfc3339(t))),
            _ => Ok(()),
        }
    }

    /// Refuses when `not_on_or_after` has passed.
    fn not_on_or_after(&self, not_on_or_after: Option<DateTime<Utc>>) -> Result<(), Refusal> {
        match not_on_or_after {
            Some(t) if self.now - self.skew >= t => Err(Refusal::Expired(rfc3339(t))),
            _ => Ok(()),
        }
    }
}

/// The checks on the verified assertion (and the response around it, verified or not), and the
/// values read from it.
fn check_assertion(
    response: Node<'_, '_>,
    response_signed: bool,
    assertion: Node<'_, '_>,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, Refusal> {
    let clock = Clock {
        now: expected.now,
        skew: expected.skew.max(chrono::Duration::zero()),
    };
    check_version(assertion)?;
    let issuer = check_issuers(response, assertion, expected.idp.entity_id.as_str())?;
    check_destination(response, response_signed, expected)?;
    clock.not_before(time_attribute(response, "IssueInstant")?)?;
    clock.not_before(Some(
        time_attribute(assertion, "IssueInstant")?
            .ok_or_else(|| Refusal::Malformed("the assertion has no IssueInstant".to_owned()))?,
    ))?;
    let subject = check_subject(assertion, expected, &clock)?;
    let in_response_to = in_response_to(response, response_signed, &subject.confirmation)?;
    let conditions_not_on_or_after = check_conditions(assertion, expected, &clock)?;

    // AuthnStatement: session index and end.
    let authn = dom::children(assertion, NS_SAML, "AuthnStatement").next();
    let session_index = authn
        .and_then(|a| a.attribute("SessionIndex"))
        .map(str::to_owned);
    if let Some(authn) = authn {
        clock.not_on_or_after(time_attribute(authn, "SessionNotOnOrAfter")?)?;
    }

    let mut not_on_or_after = subject.confirmation.not_on_or_after;
    if let Some(c) = conditions_not_on_or_after {
        not_on_or_after = not_on_or_after.min(c);
    }

    Ok(VerifiedAssertion {
        assertion_id: required_attribute(assertion, "ID")?,
        response_id: required_attribute(response, "ID")?,
        issuer,
        in_response_to,
        not_on_or_after: not_on_or_after + clock.skew,
        name_id: subject.name_id,
        name_id_format: subject.name_id_format,
        session_index,
        attributes: attributes(assertion),
    })
}

/// The assertion's issuer, which must be the IdP (and so must the Response's, when it names
/// one).
fn check_issuers(
    response: Node<'_, '_>,
    assertion: Node<'_, '_>,
    idp: &str,
) -> Result<String, Refusal> {
    let issuer = dom::child_at_most_one(assertion, NS_SAML, "Issuer")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| Refusal::Malformed("the assertion has no Issuer".to_owned()))
        .and_then(|i| dom::simple_text(i).map_err(Refusal::Malformed))?;
    if issuer != idp {
        return Err(Refusal::WrongIssuer {
            found: truncate(&issuer),
        });
    }
    if let Some(response_issuer) =
        dom::child_at_most_one(response, NS_SAML, "Issuer").map_err(Refusal::Malformed)?
    {
        let response_issuer = dom::simple_text(response_issuer).map_err(Refusal::Malformed)?;
        if response_issuer != idp {
            return Err(Refusal::WrongIssuer {
                found: truncate(&response_issuer),
            });
        }
    }
    Ok(issuer)
}

/// The Response's Destination, when present, must be our ACS (a signed Response must carry it).
fn check_destination(
    response: Node<'_, '_>,
    response_signed: bool,
    expected: &Expected<'_>,
) -> Result<(), Refusal> {
    match response.attribute("Destination") {
        Some(d) if d == expected.acs_url => Ok(()),
        Some(d) => Err(Refusal::WrongDestination { found: truncate(d) }),
        None if response_signed => Err(Refusal::WrongDestination {
            found: String::new(),
        }),
        None => Ok(()),
    }
}

/// Who the assertion is about, and its valid bearer confirmation.
struct Subject {
    name_id: String,
    name_id_format: Option<String>,
    confirmation: Confirmation,
}

/// Subject: a plain, non-empty NameID and a valid bearer confirmation for our ACS.
fn check_subject(
    assertion: Node<'_, '_>,
    expected: &Expected<'_>,
    clock: &Clock,
) -> Result<Subject, Refusal> {
    let subject = dom::child_at_most_one(assertion, NS_SAML, "Subject")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| Refusal::Malformed("the assertion has no Subject".to_owned()))?;
    if dom::children(subject, NS_SAML, "EncryptedID")
        .next()
        .is_some()
    {
        return Err(Refusal::Malformed(
            "an encrypted NameID (EncryptedID) is not supported: configure the IdP to send a plain NameID (the whole assertion may be encrypted)".to_owned(),
        ));
    }
    let name_id_node = dom::child_at_most_one(subject, NS_SAML, "NameID")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| Refusal::Malformed("the assertion's Subject has no NameID".to_owned()))?;
    let name_id = dom::simple_text(name_id_node).map_err(Refusal::Malformed)?;
    if name_id.is_empty() {
        return Err(Refusal::Malformed("the NameID is empty".to_owned()));
    }
    let name_id_format = name_id_node.attribute("Format").map(str::to_owned);
    let confirmation = bearer_confirmation(subject, expected, clock)?;
    Ok(Subject {
        name_id,
        name_id_format,
        confirmation,
    })
}

/// InResponseTo: the signed confirmation's, which must agree with the Response's. The
/// Response's alone counts only when the Response is signed: anyone can add it to an
/// unsigned Response and pass an unsolicited assertion off as the answer to their request.
fn in_response_to(
    response: Node<'_, '_>,
    response_signed: bool,
    confirmation: &Confirmation,
) -> Result<Option<String>, Refusal> {
    let response_in_response_to = response.attribute("InResponseTo").map(str::to_owned);
    match (&confirmation.in_response_to, &response_in_response_to) {
        (Some(a), Some(r)) if a != r => Err(Refusal::InResponseToMismatch),
        (Some(a), _) => Ok(Some(a.clone())),
        (None, r) if response_signed => Ok(r.clone()),
        (None, _) => Ok(None),
    }
}

/// Conditions: time window and audience (required, ours). Answers their NotOnOrAfter.
fn check_conditions(
    assertion: Node<'_, '_>,
    expected: &Expected<'_>,
    clock: &Clock,
) -> Result<Option<DateTime<Utc>>, Refusal> {
    let conditions = dom::child_at_most_one(assertion, NS_SAML, "Conditions")
        .map_err(Refusal::Malformed)?
        .ok_or(Refusal::MissingAudience)?;
    clock.not_before(time_attribute(conditions, "NotBefore")?)?;
    let conditions_not_on_or_after = time_attribute(conditions, "NotOnOrAfter")?;
    clock.not_on_or_after(conditions_not_on_or_after)?;
    let restrictions: Vec<_> = dom::children(conditions, NS_SAML, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return Err(Refusal::MissingAudience);
    }
    for restriction in restrictions {
        let audiences = dom::children(restriction, NS_SAML, "Audience")
            .map(|a| dom::simple_text(a).map_err(Refusal::Malformed))
            .collect::<Result<Vec<_>, _>>()?;
        // Each AudienceRestriction must name us (SAML core §2.5.1.4).
        if !audiences.iter().any(|a| a == expected.sp_entity_id) {
            return Err(Refusal::WrongAudience {
                found: truncate(&audiences.join(", ")),
            });
        }
    }
    Ok(conditions_not_on_or_after)
}

/// What a valid bearer confirmation tells.
struct Confirmation {
    not_on_or_after: DateTime<Utc>,
    in_response_to: Option<String>,
}

/// The first bearer `SubjectConfirmation` whose data is valid for us (Recipient = ACS URL,
/// `NotOnOrAfter` present and ahead, `NotBefore` passed); else the first reason none is.
fn bearer_confirmation(
    subject: Node<'_, '_>,
    expected: &Expected<'_>,
    clock: &Clock,
) -> Result<Confirmation, Refusal> {
    let mut first_error = None;
    for confirmation in dom::children(subject, NS_SAML, "SubjectConfirmation")
        .filter(|c| c.attribute("Method") == Some(BEARER))
    {
        let check = || -> Result<Confirmation, Refusal> {
            let data = dom::child_at_most_one(confirmation, NS_SAML, "SubjectConfirmationData")
                .map_err(Refusal::Malformed)?
                .ok_or(Refusal::NoBearerConfirmation)?;
            let recipient = data.attribute("Recipient").unwrap_or_default();
            if recipient != expected.acs_url {
                return Err(Refusal::WrongRecipient {
                    found: truncate(recipient),
                });
            }
            clock.not_before(time_attribute(data, "NotBefore")?)?;
            let not_on_or_after = time_attribute(data, "NotOnOrAfter")?.ok_or_else(|| {
                Refusal::Malformed("the SubjectConfirmationData has no NotOnOrAfter".to_owned())
            })?;
            clock.not_on_or_after(Some(not_on_or_after))?;
            Ok(Confirmation {
                not_on_or_after,
                in_response_to: data.attribute("InResponseTo").map(str::to_owned),
            })
        };
        match check() {
            Ok(c) => return Ok(c),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(Refusal::NoBearerConfirmation))
}

/// Attribute values (whole text, trimmed; `xsi:nil` ones skipped), keyed by `Name` and by
/// `FriendlyName`.
fn attributes(assertion: Node<'_, '_>) -> BTreeMap<String, Vec<String>> {
    const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for attribute in dom::children(assertion, NS_SAML, "AttributeStatement")
        .flat_map(|s| dom::children(s, NS_SAML, "Attribute"))
    {
        let values: Vec<String> = dom::children(attribute, NS_SAML, "AttributeValue")
            .filter(|v| !matches!(v.attribute((NS_XSI, "nil")), Some("true" | "1")))
            .map(|v| dom::text_content(v).trim().to_owned())
            .collect();
        let name = attribute
            .attribute("Name")
            .map(str::trim)
            .unwrap_or_default();
        let friendly = attribute
            .attribute("FriendlyName")
            .map(str::trim)
            .unwrap_or_default();
        let mut keys = Vec::with_capacity(2);
        if !name.is_empty() {
            keys.push(name);
        }
        if !friendly.is_empty() && friendly != name {
            keys.push(friendly);
        }
        for key in keys {
            out.entry(key.to_owned())
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    out
}
