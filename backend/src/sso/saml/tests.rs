//! Acceptance and attack tests of the SAML SP: real signatures and encryption made with the
//! `xmlsec1` command ([`super::craft`]), each refusal asserted by its [`Refusal::code`].

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, TimeZone, Utc};

use super::craft::{self, DataAlg, KeyAlg, Keypair, ResponseSpec, SigAlg};
use super::*;

const IDP: &str = "https://idp.example.com/metadata";
const SSO: &str = "https://idp.example.com/sso";
const SP: &str = "https://aerie.example.com/saml/metadata";
const ACS: &str = "https://aerie.example.com/saml/acs";

struct Keys {
    idp: Keypair,
    idp_ec: Keypair,
    attacker: Keypair,
    sp: SpKeys,
    other_sp: Keypair,
}

/// Key pairs are made once per test binary (RSA generation is the slow part).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        idp: Keypair::rsa("idp.example.com", 2048).unwrap(),
        idp_ec: Keypair::ec_p256("idp-ec.example.com").unwrap(),
        attacker: Keypair::rsa("idp.example.com", 2048).unwrap(),
        sp: SpKeys::generate("aerie.example.com").unwrap(),
        other_sp: Keypair::rsa("someone-else", 2048).unwrap(),
    })
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 15, 12, 0, 0).unwrap()
}

fn spec() -> ResponseSpec {
    ResponseSpec::new(IDP, SP, ACS, now())
}

fn idp_config() -> IdpConfig {
    keys().idp.idp_config(IDP, SSO)
}

fn verify_with(
    xml: &str,
    idp: &IdpConfig,
    at: DateTime<Utc>,
) -> Result<VerifiedAssertion, Refusal> {
    let expected = Expected {
        sp_entity_id: SP,
        acs_url: ACS,
        idp,
        now: at,
        skew: Duration::seconds(60),
    };
    verify_response(&craft::b64(xml), &expected, &keys().sp)
}

fn verify_xml(xml: &str) -> Result<VerifiedAssertion, Refusal> {
    verify_with(xml, &idp_config(), now())
}

fn verify_spec(spec: &ResponseSpec) -> Result<VerifiedAssertion, Refusal> {
    verify_xml(&spec.signed(&keys().idp).unwrap())
}

#[track_caller]
fn assert_refused(result: Result<VerifiedAssertion, Refusal>, code: &str) {
    match result {
        Ok(v) => panic!("accepted, expected {code}: {v:?}"),
        Err(e) => assert_eq!(e.code(), code, "refused for another reason: {e}"),
    }
}

fn sp_recipient() -> Keypair {
    Keypair::from_sp_keys(&keys().sp)
}

/// `(before, assertion, after)` of a Response holding one `<saml:Assertion>`.
fn split_assertion(xml: &str) -> (String, String, String) {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    (
        xml[..start].to_owned(),
        xml[start..end].to_owned(),
        xml[end..].to_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Accepted

#[test]
fn valid_signed_assertion_is_accepted_and_read() {
    let spec = spec();
    let v = verify_spec(&spec).unwrap();
    assert_eq!(v.assertion_id, spec.assertion_id);
    assert_eq!(v.response_id, spec.response_id);
    assert_eq!(v.issuer, IDP);
    assert_eq!(v.in_response_to.as_deref(), Some("_request1"));
    assert_eq!(v.name_id, "alice@example.com");
    assert_eq!(
        v.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(v.session_index.as_deref(), Some("_session1"));
    // The earliest NotOnOrAfter (both five minutes ahead) plus the skew.
    assert_eq!(
        v.not_on_or_after,
        now() + Duration::minutes(5) + Duration::seconds(60)
    );
    assert_eq!(v.attributes["mail"], vec!["alice@example.com"]);
    assert_eq!(
        v.attributes["urn:oid:0.9.2342.19200300.100.1.3"],
        vec!["alice@example.com"]
    );
    assert_eq!(v.attributes["groups"], vec!["admins", "staff"]);
    assert_eq!(v.attributes.len(), 3);
}

#[test]
fn signed_response_and_signed_assertion_are_accepted() {
    let mut spec = spec();
    spec.sign_response = Some(SigAlg::RsaSha256);
    let v = verify_spec(&spec).unwrap();
    assert_eq!(v.name_id, "alice@example.com");
    assert_eq!(v.response_id, spec.response_id);
}

#[test]
fn rsa_sha512_and_ecdsa_sha256_are_accepted() {
    let mut spec = spec();
    spec.sign_assertion = Some(SigAlg::RsaSha512);
    assert_eq!(verify_spec(&spec).unwrap().name_id, "alice@example.com");

    let mut spec = self::spec();
    spec.sign_assertion = Some(SigAlg::EcdsaSha256);
    let xml = spec.signed(&keys().idp_ec).unwrap();
    let idp = keys().idp_ec.idp_config(IDP, SSO);
    assert_eq!(
        verify_with(&xml, &idp, now()).unwrap().name_id,
        "alice@example.com"
    );
}

#[test]
fn any_certificate_of_a_rollover_verifies() {
    let mut idp = idp_config();
    idp.certificates_der_b64
        .insert(0, keys().attacker.cert_b64());
    let xml = spec().signed(&keys().idp).unwrap();
    assert!(verify_with(&xml, &idp, now()).is_ok());
}

#[test]
fn times_within_the_skew_are_accepted() {
    let mut spec = spec();
    // Expired 30 s ago and valid from 30 s ahead: within the 60 s skew.
    spec.confirmation_not_on_or_after = Some(now() - Duration::seconds(30));
    spec.not_before = Some(now() + Duration::seconds(30));
    let v = verify_spec(&spec).unwrap();
    assert_eq!(v.not_on_or_after, now() + Duration::seconds(30));
}

#[test]
fn idp_initiated_response_has_no_in_response_to() {
    let mut spec = spec();
    spec.in_response_to = None;
    assert_eq!(verify_spec(&spec).unwrap().in_response_to, None);
}

#[test]
fn in_response_to_of_an_unsigned_response_alone_is_not_trusted() {
    // An unsolicited assertion, passed off as the answer to the attacker's own request.
    let mut spec = spec();
    spec.in_response_to = None;
    let xml = spec.signed(&keys().idp).unwrap().replacen(
        "<samlp:Response ",
        "<samlp:Response InResponseTo=\"_attacker\" ",
        1,
    );
    assert!(xml.contains("_attacker"));
    assert_eq!(verify_xml(&xml).unwrap().in_response_to, None);
    // The same in a signed Response counts.
    spec.sign_response = Some(SigAlg::RsaSha256);
    let template = spec.template().replacen(
        "<samlp:Response ",
        "<samlp:Response InResponseTo=\"_req\" ",
        1,
    );
    let xml = craft::sign(&template, &keys().idp, &spec.assertion_id).unwrap();
    let xml = craft::sign(&xml, &keys().idp, &spec.response_id).unwrap();
    assert_eq!(
        verify_xml(&xml).unwrap().in_response_to.as_deref(),
        Some("_req")
    );
}

#[test]
fn encrypted_signed_assertion_is_accepted_cbc_and_gcm() {
    for data in [
        DataAlg::Aes128Cbc,
        DataAlg::Aes256Cbc,
        DataAlg::Aes128Gcm,
        DataAlg::Aes256Gcm,
    ] {
        let spec = spec();
        let xml = craft::signed_encrypted(
            &spec,
            &keys().idp,
            &sp_recipient(),
            data,
            KeyAlg::RsaOaepMgf1p,
        )
        .unwrap();
        assert!(
            xml.contains("EncryptedAssertion") && !xml.contains("alice@"),
            "{xml}"
        );
        let v = verify_xml(&xml).unwrap_or_else(|e| panic!("{data:?}: {e}"));
        assert_eq!(v.name_id, "alice@example.com");
        assert_eq!(v.assertion_id, spec.assertion_id);
        assert_eq!(v.attributes["groups"], vec!["admins", "staff"]);
    }
}

#[test]
fn encrypted_assertion_in_a_signed_response_is_accepted() {
    let mut spec = spec();
    spec.sign_response = Some(SigAlg::RsaSha256);
    let xml = craft::signed_encrypted(
        &spec,
        &keys().idp,
        &sp_recipient(),
        DataAlg::Aes256Gcm,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    assert_eq!(verify_xml(&xml).unwrap().name_id, "alice@example.com");
}

#[test]
fn encrypted_assertion_relying_on_inherited_namespaces_is_accepted() {
    let mut spec = spec();
    spec.assertion_declares_namespace = false;
    let xml = craft::signed_encrypted(
        &spec,
        &keys().idp,
        &sp_recipient(),
        DataAlg::Aes128Gcm,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    assert_eq!(verify_xml(&xml).unwrap().name_id, "alice@example.com");
}

#[test]
fn encrypted_assertion_in_a_signed_response_relying_on_inherited_namespaces_is_accepted() {
    // xsi is declared on the Response only: the canonical copy of the signed Response does not
    // keep it (nothing outside the ciphertext uses it), the received document does.
    let mut spec = spec();
    spec.assertion_declares_namespace = false;
    spec.sign_response = Some(SigAlg::RsaSha256);
    let xsi = " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
    let template = spec.template().replace(xsi, "").replacen(
        "<samlp:Response ",
        &format!("<samlp:Response{xsi} "),
        1,
    );
    assert_eq!(template.matches("xmlns:xsi").count(), 1);
    let mut xml = craft::sign(&template, &keys().idp, &spec.assertion_id).unwrap();
    xml = craft::encrypt_assertion(
        &xml,
        &sp_recipient(),
        DataAlg::Aes128Gcm,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    xml = craft::sign(&xml, &keys().idp, &spec.response_id).unwrap();
    assert_eq!(verify_xml(&xml).unwrap().name_id, "alice@example.com");
}

#[tokio::test]
async fn async_verification_runs_on_the_blocking_pool() {
    let xml = spec().signed(&keys().idp).unwrap();
    let expected = OwnedExpected {
        sp_entity_id: SP.to_owned(),
        acs_url: ACS.to_owned(),
        idp: idp_config(),
        now: now(),
        skew: Duration::seconds(60),
    };
    let v = verify_response_async(craft::b64(&xml), expected, keys().sp.clone())
        .await
        .unwrap();
    assert_eq!(v.name_id, "alice@example.com");
}

#[test]
fn concurrent_verifications_are_serialized_safely() {
    let responses: Vec<String> = (0..4)
        .map(|_| craft::b64(&spec().signed(&keys().idp).unwrap()))
        .collect();
    let idp = idp_config();
    std::thread::scope(|scope| {
        for response in &responses {
            let idp = &idp;
            scope.spawn(move || {
                for _ in 0..5 {
                    let expected = Expected {
                        sp_entity_id: SP,
                        acs_url: ACS,
                        idp,
                        now: now(),
                        skew: Duration::seconds(60),
                    };
                    verify_response(response, &expected, &keys().sp).unwrap();
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Signatures

#[test]
fn unsigned_response_is_refused() {
    let mut spec = spec();
    spec.sign_assertion = None;
    assert_refused(verify_spec(&spec), "unsigned_assertion");
}

#[test]
fn signed_response_with_unsigned_assertion_is_refused() {
    let mut spec = spec();
    spec.sign_assertion = None;
    spec.sign_response = Some(SigAlg::RsaSha256);
    assert_refused(verify_spec(&spec), "unsigned_assertion");
}

#[test]
fn encrypted_unsigned_assertion_is_refused() {
    let mut spec = spec();
    spec.sign_assertion = None;
    spec.sign_response = Some(SigAlg::RsaSha256);
    let xml = craft::signed_encrypted(
        &spec,
        &keys().idp,
        &sp_recipient(),
        DataAlg::Aes128Cbc,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    assert_refused(verify_xml(&xml), "unsigned_assertion");
}

#[test]
fn sha1_signatures_are_refused() {
    let mut spec = spec();
    spec.sign_assertion = Some(SigAlg::RsaSha1);
    assert_refused(verify_spec(&spec), "weak_algorithm");

    let mut spec = self::spec();
    spec.sign_assertion = Some(SigAlg::RsaSha256DigestSha1);
    assert_refused(verify_spec(&spec), "weak_algorithm");

    // A SHA-1 response signature around a good assertion signature: refused too.
    let mut spec = self::spec();
    spec.sign_response = Some(SigAlg::RsaSha1);
    assert_refused(verify_spec(&spec), "weak_algorithm");
}

#[test]
fn tampered_assertion_is_refused() {
    let xml = spec().signed(&keys().idp).unwrap();
    let tampered = xml.replace(
        ">alice@example.com</saml:NameID>",
        ">admin@example.com</saml:NameID>",
    );
    assert_ne!(xml, tampered);
    assert_refused(verify_xml(&tampered), "bad_signature");
}

#[test]
fn tampered_signed_response_is_refused() {
    let mut spec = spec();
    spec.sign_response = Some(SigAlg::RsaSha256);
    let xml = spec.signed(&keys().idp).unwrap();
    let tampered = xml.replacen(
        "InResponseTo=\"_request1\"",
        "InResponseTo=\"_request2\"",
        1,
    );
    assert_ne!(xml, tampered);
    assert_refused(verify_xml(&tampered), "bad_signature");
}

#[test]
fn assertion_signed_by_another_key_is_refused() {
    let xml = spec().signed(&keys().attacker).unwrap();
    assert_refused(verify_xml(&xml), "bad_signature");
}

#[test]
fn response_signed_by_another_key_is_refused_even_with_a_good_assertion() {
    let mut spec = spec();
    spec.sign_response = Some(SigAlg::RsaSha256);
    let mut xml = spec.template();
    xml = craft::sign(&xml, &keys().idp, &spec.assertion_id).unwrap();
    xml = craft::sign(&xml, &keys().attacker, &spec.response_id).unwrap();
    assert_refused(verify_xml(&xml), "bad_signature");
}

#[test]
fn idp_without_certificate_is_refused() {
    let mut idp = idp_config();
    idp.certificates_der_b64.clear();
    let xml = spec().signed(&keys().idp).unwrap();
    assert_refused(verify_with(&xml, &idp, now()), "idp_misconfigured");
}

// ---------------------------------------------------------------------------------------------
// Signature wrapping

#[test]
fn xsw_extra_unsigned_assertion_is_refused() {
    let signed = spec().signed(&keys().idp).unwrap();
    let (before, original, after) = split_assertion(&signed);
    let mut evil = spec();
    evil.sign_assertion = None;
    evil.name_id_xml = "admin@example.com".to_owned();
    let evil = evil.assertion_xml();
    // Before and after the signed one.
    assert_refused(
        verify_xml(&format!("{before}{evil}{original}{after}")),
        "signature_wrapping",
    );
    assert_refused(
        verify_xml(&format!("{before}{original}{evil}{after}")),
        "signature_wrapping",
    );
}

#[test]
fn xsw_signed_assertion_moved_aside_is_refused() {
    let spec = spec();
    let signed = spec.signed(&keys().idp).unwrap();
    let (before, original, after) = split_assertion(&signed);
    let mut evil = self::spec();
    evil.sign_assertion = None;
    evil.name_id_xml = "admin@example.com".to_owned();
    // The evil assertion where the signed one was, the signed one in Extensions.
    let moved = format!(
        "{before}<samlp:Extensions>{original}</samlp:Extensions>{}{after}",
        evil.assertion_xml()
    );
    assert_refused(verify_xml(&moved), "signature_wrapping");
    // The same with the evil assertion taking the signed one's ID (duplicate IDs).
    evil.assertion_id = spec.assertion_id.clone();
    let duplicate = format!(
        "{before}{}<samlp:Extensions>{original}</samlp:Extensions>{after}",
        evil.assertion_xml()
    );
    assert_refused(verify_xml(&duplicate), "signature_wrapping");
    // Or the signed one hidden inside the evil one's Advice.
    let evil_xml = evil.assertion_xml().replace(
        "<saml:AuthnStatement",
        &format!("<saml:Advice>{original}</saml:Advice><saml:AuthnStatement"),
    );
    assert_refused(
        verify_xml(&format!("{before}{evil_xml}{after}")),
        "signature_wrapping",
    );
}

#[test]
fn xsw_signature_copied_into_a_forged_assertion_is_refused() {
    let spec = spec();
    let signed = spec.signed(&keys().idp).unwrap();
    let (before, original, after) = split_assertion(&signed);
    // A forged assertion with its own ID carrying the genuine signature (which references the
    // genuine ID).
    let forged = original
        .replacen(
            &format!("ID=\"{}\"", spec.assertion_id),
            "ID=\"_forged\"",
            1,
        )
        .replace(
            ">alice@example.com</saml:NameID>",
            ">admin@example.com</saml:NameID>",
        );
    assert_refused(
        verify_xml(&format!("{before}{forged}{after}")),
        "signature_wrapping",
    );
}

#[test]
fn xsw_assertion_signature_over_the_response_is_refused() {
    // The assertion's signature references the Response (which contains the assertion): valid
    // for xmlsec, but it is not the assertion's own signature.
    let spec = spec();
    let template = spec.template().replace(
        &format!("URI=\"#{}\"", spec.assertion_id),
        &format!("URI=\"#{}\"", spec.response_id),
    );
    let xml = craft::sign(&template, &keys().idp, &spec.assertion_id).unwrap();
    assert_refused(verify_xml(&xml), "signature_wrapping");
}

#[test]
fn xsw_signed_response_wrapped_in_a_forged_one_is_refused() {
    let mut spec = spec();
    spec.sign_response = Some(SigAlg::RsaSha256);
    let signed = spec.signed(&keys().idp).unwrap();
    let mut evil = self::spec();
    evil.sign_assertion = None;
    evil.name_id_xml = "admin@example.com".to_owned();
    let (before, evil_assertion, after) = split_assertion(&evil.template());
    let wrapped =
        format!("{before}<samlp:Extensions>{signed}</samlp:Extensions>{evil_assertion}{after}");
    assert_refused(verify_xml(&wrapped), "signature_wrapping");
}

#[test]
fn comment_inside_name_id_does_not_truncate_it() {
    // The IdP signed admin@evil.com.example.com; the attacker slips a comment in, which
    // canonicalization ignores, so the signature still verifies.
    let mut spec = spec();
    spec.name_id_xml = "admin@evil.com.example.com".to_owned();
    let signed = spec.signed(&keys().idp).unwrap();
    let attacked = signed.replace(
        ">admin@evil.com.example.com</saml:NameID>",
        ">admin@evil.com<!---->.example.com</saml:NameID>",
    );
    assert_ne!(signed, attacked);
    let v = verify_xml(&attacked).unwrap();
    assert_ne!(v.name_id, "admin@evil.com");
    assert_eq!(v.name_id, "admin@evil.com.example.com");

    // Signed with the comment in place: same result.
    let mut spec = self::spec();
    spec.name_id_xml = "admin@evil.com<!---->.example.com".to_owned();
    assert_eq!(
        verify_spec(&spec).unwrap().name_id,
        "admin@evil.com.example.com"
    );
}

#[test]
fn doctype_is_refused() {
    let xml = spec().signed(&keys().idp).unwrap();
    let with_dtd = format!("<!DOCTYPE samlp:Response [<!ENTITY e \"x\">]>{xml}");
    assert_refused(verify_xml(&with_dtd), "malformed");
}

// ---------------------------------------------------------------------------------------------
// Encryption

#[test]
fn assertion_encrypted_for_another_key_is_refused() {
    let xml = craft::signed_encrypted(
        &spec(),
        &keys().idp,
        &keys().other_sp,
        DataAlg::Aes128Cbc,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    assert_refused(verify_xml(&xml), "decryption_failed");
}

#[test]
fn rsa_pkcs1_v15_key_transport_is_refused() {
    let xml = craft::signed_encrypted(
        &spec(),
        &keys().idp,
        &sp_recipient(),
        DataAlg::Aes128Cbc,
        KeyAlg::Rsa15,
    )
    .unwrap();
    assert_refused(verify_xml(&xml), "weak_algorithm");
}

#[test]
fn tampered_ciphertext_is_refused() {
    let xml = craft::signed_encrypted(
        &spec(),
        &keys().idp,
        &sp_recipient(),
        DataAlg::Aes256Gcm,
        KeyAlg::RsaOaepMgf1p,
    )
    .unwrap();
    // Flip a byte of the content's CipherValue (the last one in the document).
    let at = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len() + 40;
    let mut bytes = xml.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_refused(verify_xml(&tampered), "decryption_failed");
}

// ---------------------------------------------------------------------------------------------
// Audience, destination, recipient, issuer, times, status

#[test]
fn wrong_audience_is_refused() {
    let mut spec = spec();
    spec.audiences = vec!["https://other-sp.example.com".to_owned()];
    assert_refused(verify_spec(&spec), "wrong_audience");
}

#[test]
fn missing_audience_is_refused() {
    let mut spec = spec();
    spec.audiences.clear();
    assert_refused(verify_spec(&spec), "missing_audience");
    let mut spec = self::spec();
    spec.conditions = false;
    assert_refused(verify_spec(&spec), "missing_audience");
}

#[test]
fn expired_assertion_is_refused() {
    let mut spec = spec();
    spec.confirmation_not_on_or_after = Some(now() - Duration::minutes(2));
    assert_refused(verify_spec(&spec), "expired");

    let mut spec = self::spec();
    spec.not_on_or_after = Some(now() - Duration::minutes(2));
    assert_refused(verify_spec(&spec), "expired");

    // A valid response replayed ten minutes later.
    let xml = self::spec().signed(&keys().idp).unwrap();
    assert_refused(
        verify_with(&xml, &idp_config(), now() + Duration::minutes(10)),
        "expired",
    );
}

#[test]
fn not_yet_valid_assertion_is_refused() {
    let mut spec = spec();
    spec.not_before = Some(now() + Duration::minutes(5));
    assert_refused(verify_spec(&spec), "not_yet_valid");

    let mut spec = self::spec();
    spec.issue_instant = now() + Duration::minutes(5);
    spec.not_before = None;
    assert_refused(verify_spec(&spec), "not_yet_valid");
}

#[test]
fn missing_confirmation_expiry_is_refused() {
    let mut spec = spec();
    spec.confirmation_not_on_or_after = None;
    assert_refused(verify_spec(&spec), "malformed");
}

#[test]
fn wrong_destination_is_refused() {
    let mut spec = spec();
    spec.destination = Some("https://evil.example.com/acs".to_owned());
    assert_refused(verify_spec(&spec), "wrong_destination");
    // A signed Response must name its Destination.
    let mut spec = self::spec();
    spec.destination = None;
    spec.sign_response = Some(SigAlg::RsaSha256);
    assert_refused(verify_spec(&spec), "wrong_destination");
}

#[test]
fn wrong_recipient_is_refused() {
    let mut spec = spec();
    spec.recipient = Some("https://evil.example.com/acs".to_owned());
    assert_refused(verify_spec(&spec), "wrong_recipient");
    let mut spec = self::spec();
    spec.recipient = None;
    assert_refused(verify_spec(&spec), "wrong_recipient");
}

#[test]
fn wrong_issuer_is_refused() {
    let mut spec = spec();
    spec.assertion_issuer = "https://evil-idp.example.com".to_owned();
    assert_refused(verify_spec(&spec), "wrong_issuer");
    let mut spec = self::spec();
    spec.response_issuer = Some("https://evil-idp.example.com".to_owned());
    assert_refused(verify_spec(&spec), "wrong_issuer");
}

#[test]
fn error_status_is_reported() {
    let mut spec = spec();
    spec.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".to_owned();
    spec.sign_assertion = None;
    let (before, _, after) = split_assertion(&spec.template());
    let err = verify_xml(&format!("{before}{after}")).unwrap_err();
    assert_eq!(err.code(), "status_not_success");
    assert!(err.to_string().contains("Requester"), "{err}");
}

#[test]
fn differing_in_response_to_is_refused() {
    let xml = spec().signed(&keys().idp).unwrap();
    // The (unsigned) Response's InResponseTo differs from the signed confirmation's.
    let xml = xml.replacen("InResponseTo=\"_request1\"", "InResponseTo=\"_other\"", 1);
    assert_refused(verify_xml(&xml), "in_response_to_mismatch");
}

#[test]
fn garbage_is_malformed() {
    let expected = Expected {
        sp_entity_id: SP,
        acs_url: ACS,
        idp: &idp_config(),
        now: now(),
        skew: Duration::seconds(60),
    };
    for input in [
        "not base64!",
        &STANDARD.encode("<a/>"),
        &STANDARD.encode("<<<"),
    ] {
        assert_refused(verify_response(input, &expected, &keys().sp), "malformed");
    }
}

#[test]
fn peek_reads_issuer_and_in_response_to_unverified() {
    let xml = spec().signed(&keys().idp).unwrap();
    let peek = peek(&craft::b64(&xml)).unwrap();
    assert_eq!(peek.issuer.as_deref(), Some(IDP));
    assert_eq!(peek.in_response_to.as_deref(), Some("_request1"));
    let mut spec = spec();
    spec.response_issuer = None;
    let peek = super::peek(&craft::b64(&spec.template())).unwrap();
    assert_eq!(peek.issuer.as_deref(), Some(IDP));
    assert_eq!(super::peek("%%%").unwrap_err().code(), "malformed");
}

// ---------------------------------------------------------------------------------------------
// Keys, metadata, requests

#[test]
fn sp_keys_are_usable_and_not_printed() {
    let keys = &keys().sp;
    keys.check().unwrap();
    let cert = openssl::x509::X509::from_pem(keys.cert_pem().as_bytes()).unwrap();
    assert_eq!(cert.to_der().unwrap(), keys.cert_der);
    assert_eq!(cert.public_key().unwrap().bits(), SpKeys::RSA_BITS);
    let days = cert.not_before().diff(cert.not_after()).unwrap().days;
    assert!((3649..=3651).contains(&days), "{days}");
    let debug = format!("{keys:?}");
    assert!(
        !debug.contains("PRIVATE") && debug.contains("redacted"),
        "{debug}"
    );
}

#[test]
fn sp_metadata_describes_us() {
    let xml = sp_metadata_xml(SP, ACS, &keys().sp).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(dom::is(root, dom::NS_MD, "EntityDescriptor"));
    assert_eq!(root.attribute("entityID"), Some(SP));
    let sp = dom::children(root, dom::NS_MD, "SPSSODescriptor")
        .next()
        .unwrap();
    assert_eq!(sp.attribute("AuthnRequestsSigned"), Some("false"));
    assert_eq!(sp.attribute("WantAssertionsSigned"), Some("true"));
    let uses: Vec<_> = dom::children(sp, dom::NS_MD, "KeyDescriptor")
        .map(|k| {
            let cert = k
                .descendants()
                .find(|n| dom::is(*n, dom::NS_DS, "X509Certificate"))
                .map(dom::text_content)
                .unwrap();
            assert_eq!(STANDARD.decode(cert).unwrap(), keys().sp.cert_der);
            k.attribute("use").unwrap()
        })
        .collect();
    assert_eq!(uses, ["signing", "encryption"]);
    let formats: Vec<_> = dom::children(sp, dom::NS_MD, "NameIDFormat")
        .map(dom::text_content)
        .collect();
    assert_eq!(
        formats,
        [
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
        ]
    );
    let acs = dom::children(sp, dom::NS_MD, "AssertionConsumerService")
        .next()
        .unwrap();
    assert_eq!(acs.attribute("Binding"), Some(BINDING_HTTP_POST));
    assert_eq!(acs.attribute("Location"), Some(ACS));
    assert_eq!(acs.attribute("index"), Some("0"));
    assert!(sp_metadata_xml(SP, "javascript:alert(1)", &keys().sp).is_err());
}

#[test]
fn idp_metadata_is_read() {
    let xml = craft::idp_metadata_xml(IDP, SSO, Some(craft::REDIRECT), Some(&keys().idp));
    let idp = parse_idp_metadata(&xml).unwrap();
    assert_eq!(idp, idp_config());

    // Both bindings: HTTP-Redirect wins; POST only: POST.
    let both = xml.replace(
        "<md:SingleSignOnService",
        &format!("<md:SingleSignOnService Binding=\"{}\" Location=\"https://idp.example.com/post\"/><md:SingleSignOnService", craft::POST),
    );
    let idp = parse_idp_metadata(&both).unwrap();
    assert_eq!(
        (idp.sso_binding.as_str(), idp.sso_url.as_str()),
        (BINDING_HTTP_REDIRECT, SSO)
    );
    let post = craft::idp_metadata_xml(IDP, SSO, Some(craft::POST), Some(&keys().idp));
    assert_eq!(
        parse_idp_metadata(&post).unwrap().sso_binding,
        BINDING_HTTP_POST
    );

    // Inside an EntitiesDescriptor; a KeyDescriptor without `use` counts as signing.
    let wrapped = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</md:EntitiesDescriptor>",
        xml.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .replace(" use=\"signing\"", "")
    );
    assert_eq!(parse_idp_metadata(&wrapped).unwrap(), idp_config());
}

#[test]
fn bad_idp_metadata_is_refused_with_a_reason() {
    let check = |xml: String, pattern: fn(&ConfigError) -> bool| {
        let err = parse_idp_metadata(&xml).unwrap_err();
        assert!(pattern(&err), "unexpected {err:?}");
    };
    check(
        craft::idp_metadata_xml(IDP, SSO, Some(craft::REDIRECT), None),
        |e| matches!(e, ConfigError::NoSigningCertificate),
    );
    // An encryption-only certificate is no signing certificate.
    check(
        craft::idp_metadata_xml(IDP, SSO, Some(craft::REDIRECT), Some(&keys().idp))
            .replace("use=\"signing\"", "use=\"encryption\""),
        |e| matches!(e, ConfigError::NoSigningCertificate),
    );
    check(
        craft::idp_metadata_xml(IDP, SSO, None, Some(&keys().idp)),
        |e| matches!(e, ConfigError::NoSingleSignOnService),
    );
    check(
        craft::idp_metadata_xml(
            IDP,
            SSO,
            Some("urn:oasis:names:tc:SAML:2.0:bindings:SOAP"),
            Some(&keys().idp),
        ),
        |e| matches!(e, ConfigError::NoSingleSignOnService),
    );
    check(
        craft::idp_metadata_xml(
            IDP,
            "ftp://idp.example.com/sso",
            Some(craft::REDIRECT),
            Some(&keys().idp),
        ),
        |e| matches!(e, ConfigError::BadSsoUrl(_)),
    );
    check(
        craft::idp_metadata_xml(IDP, SSO, Some(craft::REDIRECT), Some(&keys().idp))
            .replace(&keys().idp.cert_b64()[..40], "AAAA"),
        |e| matches!(e, ConfigError::BadCertificate(_)),
    );
    check(
        craft::idp_metadata_xml("", SSO, Some(craft::REDIRECT), Some(&keys().idp)),
        |e| matches!(e, ConfigError::MissingEntityId),
    );
    check(sp_metadata_xml(SP, ACS, &keys().sp).unwrap(), |e| {
        matches!(e, ConfigError::NotIdpMetadata)
    });
    check("<not xml".to_owned(), |e| {
        matches!(e, ConfigError::Malformed(_))
    });
    let weak = Keypair::rsa("weak", 1024).unwrap();
    check(
        craft::idp_metadata_xml(IDP, SSO, Some(craft::REDIRECT), Some(&weak)),
        |e| matches!(e, ConfigError::WeakKey(_)),
    );
    // The messages say what to fix.
    let message = ConfigError::NoSigningCertificate.to_string();
    assert!(message.contains("paste the certificate"), "{message}");
}

#[test]
fn manual_idp_configuration_accepts_pem_or_base64() {
    let from_pem = IdpConfig::manual(IDP, SSO, &keys().idp.cert_pem).unwrap();
    assert_eq!(from_pem, idp_config());
    let from_b64 = IdpConfig::manual(IDP, SSO, &keys().idp.cert_b64()).unwrap();
    assert_eq!(from_b64, idp_config());
    assert!(matches!(
        IdpConfig::manual(IDP, SSO, "  "),
        Err(ConfigError::NoSigningCertificate)
    ));
    assert!(matches!(
        IdpConfig::manual(IDP, "not a url", &keys().idp.cert_pem),
        Err(ConfigError::BadSsoUrl(_))
    ));
}

#[test]
fn authn_request_for_the_redirect_binding() {
    let request = authn_request(&idp_config(), SP, ACS, "relay-123", now()).unwrap();
    assert!(
        request.id.starts_with('_') && request.id.len() == 33,
        "{}",
        request.id
    );
    assert!(request.post_form.is_none());
    let url = url::Url::parse(&request.redirect_url).unwrap();
    assert_eq!(url.as_str().split('?').next(), Some(SSO));
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["RelayState"], "relay-123");
    // Deflated (not zlib-wrapped: no 0x78 header) and base64'd.
    let deflated = STANDARD.decode(&query["SAMLRequest"]).unwrap();
    assert!(!deflated.is_empty() && deflated[0] != 0x78);
    let other = authn_request(&idp_config(), SP, ACS, "", now()).unwrap();
    assert_ne!(other.id, request.id);
    assert!(!other.redirect_url.contains("RelayState"));
    assert!(authn_request(&idp_config(), SP, ACS, &"x".repeat(81), now()).is_err());
}

#[test]
fn authn_request_for_the_post_binding() {
    let mut idp = idp_config();
    idp.sso_binding = BINDING_HTTP_POST.to_owned();
    let sp = "https://aerie.example.com/saml?org=a&b=<c>";
    let request = authn_request(&idp, sp, ACS, "relay", now()).unwrap();
    assert!(request.redirect_url.is_empty());
    let form = request.post_form.unwrap();
    assert_eq!(form.action, SSO);
    assert_eq!(form.relay_state, "relay");
    let xml = String::from_utf8(STANDARD.decode(&form.saml_request).unwrap()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(dom::is(root, dom::NS_SAMLP, "AuthnRequest"));
    assert_eq!(root.attribute("ID"), Some(request.id.as_str()));
    assert_eq!(root.attribute("Version"), Some("2.0"));
    assert_eq!(root.attribute("Destination"), Some(SSO));
    assert_eq!(root.attribute("AssertionConsumerServiceURL"), Some(ACS));
    assert_eq!(root.attribute("ProtocolBinding"), Some(BINDING_HTTP_POST));
    assert_eq!(
        root.attribute("IssueInstant"),
        Some("2030-01-15T12:00:00.000Z")
    );
    let issuer = dom::children(root, dom::NS_SAML, "Issuer").next().unwrap();
    assert_eq!(dom::text_content(issuer), sp);
}

#[test]
fn text_content_is_the_whole_text_around_comments_and_cdata() {
    let doc = roxmltree::Document::parse(
        "<a>admin@evil.com<!---->.example<![CDATA[.com]]><!-- x --></a>",
    )
    .unwrap();
    assert_eq!(
        dom::text_content(doc.root_element()),
        "admin@evil.com.example.com"
    );
    let doc = roxmltree::Document::parse("<a> x <b/></a>").unwrap();
    assert!(dom::simple_text(doc.root_element()).is_err());
}
