//! Crafting IdP responses for tests: key pairs (openssl), Response/Assertion XML with signature
//! templates, signing with the `xmlsec1` command (Debian package `xmlsec1`) and XML Encryption
//! with it too. Never used by product code: compiled only for tests and the `test-support`
//! feature, through which server integration tests reach it as `aerie_backend::testing::saml`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;

use super::dom::escape;
use super::{BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, IdpConfig, SpKeys};

const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// A private key (PEM) and its self-signed certificate.
#[derive(Clone)]
pub struct Keypair {
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keypair").finish_non_exhaustive()
    }
}

impl Keypair {
    /// An RSA key of `bits` with a self-signed certificate (CN `cn`, SHA-256, 1 year).
    pub fn rsa(cn: &str, bits: u32) -> anyhow::Result<Keypair> {
        let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(bits)?)?;
        Self::self_signed(cn, key)
    }

    /// A P-256 EC key with a self-signed certificate.
    pub fn ec_p256(cn: &str) -> anyhow::Result<Keypair> {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)?;
        let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group)?)?;
        Self::self_signed(cn, key)
    }

    /// Our SP key pair, as a [`Keypair`] (to encrypt to it).
    pub fn from_sp_keys(keys: &SpKeys) -> Keypair {
        Keypair {
            key_pem: keys.key_pem.expose_secret().to_owned(),
            cert_pem: keys.cert_pem(),
            cert_der: keys.cert_der.clone(),
        }
    }

    fn self_signed(
        cn: &str,
        key: openssl::pkey::PKey<openssl::pkey::Private>,
    ) -> anyhow::Result<Keypair> {
        use openssl::asn1::Asn1Time;
        use openssl::hash::MessageDigest;
        use openssl::x509::{X509Builder, X509NameBuilder};
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("CN", cn)?;
        let name = name.build();
        let mut builder = X509Builder::new()?;
        builder.set_version(2)?;
        let serial = openssl::bn::BigNum::from_u32(rand::random::<u32>() >> 1)?;
        builder.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        builder.set_not_after(Asn1Time::days_from_now(365)?.as_ref())?;
        builder.sign(&key, MessageDigest::sha256())?;
        let cert = builder.build();
        Ok(Keypair {
            key_pem: String::from_utf8(key.private_key_to_pem_pkcs8()?)?,
            cert_pem: String::from_utf8(cert.to_pem()?)?,
            cert_der: cert.to_der()?,
        })
    }

    /// The certificate, base64 DER.
    pub fn cert_b64(&self) -> String {
        STANDARD.encode(&self.cert_der)
    }

    /// An [`IdpConfig`] trusting this key (HTTP-Redirect binding).
    pub fn idp_config(&self, entity_id: &str, sso_url: &str) -> IdpConfig {
        IdpConfig {
            entity_id: entity_id.to_owned(),
            sso_url: sso_url.to_owned(),
            sso_binding: BINDING_HTTP_REDIRECT.to_owned(),
            certificates_der_b64: vec![self.cert_b64()],
        }
    }
}

/// Signature algorithms the crafted signatures can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigAlg {
    /// rsa-sha256 with a sha256 digest.
    RsaSha256,
    /// rsa-sha512 with a sha512 digest.
    RsaSha512,
    /// rsa-sha1 with a sha1 digest (must be refused).
    RsaSha1,
    /// rsa-sha256 signature over a sha1 digest (must be refused).
    RsaSha256DigestSha1,
    /// ecdsa-sha256 with a sha256 digest (needs an EC key).
    EcdsaSha256,
}

impl SigAlg {
    fn uris(self) -> (&'static str, &'static str) {
        const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
        const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
        match self {
            SigAlg::RsaSha256 => ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", SHA256),
            SigAlg::RsaSha512 => (
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
                "http://www.w3.org/2001/04/xmlenc#sha512",
            ),
            SigAlg::RsaSha1 => ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", SHA1),
            SigAlg::RsaSha256DigestSha1 => {
                ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", SHA1)
            }
            SigAlg::EcdsaSha256 => (
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
                SHA256,
            ),
        }
    }
}

/// An empty `ds:Signature` template over `#id` (enveloped + exclusive c14n), for `xmlsec1 --sign`.
pub fn signature_template(id: &str, alg: SigAlg) -> String {
    let (method, digest) = alg.uris();
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##,
        id = escape(id)
    )
}

/// One `saml:Attribute`.
#[derive(Clone, Debug)]
pub struct Attr {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// The values.
    pub values: Vec<String>,
}

/// Everything a crafted Response says. [`ResponseSpec::new`] makes a valid one.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// The Response's ID.
    pub response_id: String,
    /// The Assertion's ID.
    pub assertion_id: String,
    /// The Response's Issuer (`None`: no Issuer element).
    pub response_issuer: Option<String>,
    /// The Assertion's Issuer.
    pub assertion_issuer: String,
    /// The Response's Destination.
    pub destination: Option<String>,
    /// InResponseTo, on the Response and the SubjectConfirmationData.
    pub in_response_to: Option<String>,
    /// The top-level StatusCode value.
    pub status: String,
    /// The NameID's content, inserted verbatim (escape it yourself; a test may put a comment).
    pub name_id_xml: String,
    /// The NameID's Format.
    pub name_id_format: Option<String>,
    /// Whether there is a Conditions element.
    pub conditions: bool,
    /// Audiences of one AudienceRestriction (empty: no AudienceRestriction).
    pub audiences: Vec<String>,
    /// IssueInstant of the Response and the Assertion.
    pub issue_instant: DateTime<Utc>,
    /// Conditions@NotBefore.
    pub not_before: Option<DateTime<Utc>>,
    /// Conditions@NotOnOrAfter.
    pub not_on_or_after: Option<DateTime<Utc>>,
    /// SubjectConfirmationData@NotOnOrAfter.
    pub confirmation_not_on_or_after: Option<DateTime<Utc>>,
    /// SubjectConfirmationData@Recipient.
    pub recipient: Option<String>,
    /// AuthnStatement@SessionIndex.
    pub session_index: Option<String>,
    /// The attributes.
    pub attributes: Vec<Attr>,
    /// Sign the assertion with this algorithm.
    pub sign_assertion: Option<SigAlg>,
    /// Sign the Response with this algorithm (after the assertion).
    pub sign_response: Option<SigAlg>,
    /// Declare the SAML namespace on the Assertion itself (as most IdPs do) rather than only
    /// on the Response.
    pub assertion_declares_namespace: bool,
}

impl ResponseSpec {
    /// A valid response from `idp_entity_id` to the SP at `acs_url`, issued at `now` (valid
    /// five minutes), assertion signed with RSA-SHA256, Response unsigned.
    pub fn new(idp_entity_id: &str, sp_entity_id: &str, acs_url: &str, now: DateTime<Utc>) -> Self {
        let id = || format!("_{}", uuid::Uuid::new_v4().simple());
        ResponseSpec {
            response_id: id(),
            assertion_id: id(),
            response_issuer: Some(idp_entity_id.to_owned()),
            assertion_issuer: idp_entity_id.to_owned(),
            destination: Some(acs_url.to_owned()),
            in_response_to: Some("_request1".to_owned()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".to_owned(),
            name_id_xml: "alice@example.com".to_owned(),
            name_id_format: Some(
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".to_owned(),
            ),
            conditions: true,
            audiences: vec![sp_entity_id.to_owned()],
            issue_instant: now,
            not_before: Some(now - Duration::seconds(30)),
            not_on_or_after: Some(now + Duration::minutes(5)),
            confirmation_not_on_or_after: Some(now + Duration::minutes(5)),
            recipient: Some(acs_url.to_owned()),
            session_index: Some("_session1".to_owned()),
            attributes: vec![
                Attr {
                    name: "urn:oid:0.9.2342.19200300.100.1.3".to_owned(),
                    friendly_name: Some("mail".to_owned()),
                    values: vec!["alice@example.com".to_owned()],
                },
                Attr {
                    name: "groups".to_owned(),
                    friendly_name: None,
                    values: vec!["admins".to_owned(), "staff".to_owned()],
                },
            ],
            sign_assertion: Some(SigAlg::RsaSha256),
            sign_response: None,
            assertion_declares_namespace: true,
        }
    }

    /// The Assertion element, with a signature template when [`ResponseSpec::sign_assertion`].
    pub fn assertion_xml(&self) -> String {
        let t = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let opt = |name: &str, v: Option<String>| {
            v.map(|v| format!(" {name}=\"{}\"", escape(&v)))
                .unwrap_or_default()
        };
        let ns = if self.assertion_declares_namespace {
            format!(" xmlns:saml=\"{NS_SAML}\"")
        } else {
            String::new()
        };
        let signature = self
            .sign_assertion
            .map(|alg| signature_template(&self.assertion_id, alg))
            .unwrap_or_default();
        let conditions = if self.conditions {
            let audience = if self.audiences.is_empty() {
                String::new()
            } else {
                let list: String = self
                    .audiences
                    .iter()
                    .map(|a| format!("<saml:Audience>{}</saml:Audience>", escape(a)))
                    .collect();
                format!("<saml:AudienceRestriction>{list}</saml:AudienceRestriction>")
            };
            format!(
                "<saml:Conditions{}{}>{audience}</saml:Conditions>",
                opt("NotBefore", self.not_before.map(t)),
                opt("NotOnOrAfter", self.not_on_or_after.map(t))
            )
        } else {
            String::new()
        };
        let attributes = if self.attributes.is_empty() {
            String::new()
        } else {
            let list: String = self
                .attributes
                .iter()
                .map(|a| {
                    let values: String = a
                        .values
                        .iter()
                        .map(|v| {
                            format!(
                                "<saml:AttributeValue xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"xs:string\">{}</saml:AttributeValue>",
                                escape(v)
                            )
                        })
                        .collect();
                    format!(
                        "<saml:Attribute Name=\"{}\"{} NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\">{values}</saml:Attribute>",
                        escape(&a.name),
                        opt("FriendlyName", a.friendly_name.clone())
                    )
                })
                .collect();
            format!("<saml:AttributeStatement>{list}</saml:AttributeStatement>")
        };
        format!(
            concat!(
                "<saml:Assertion{ns} ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{issued}\">",
                "<saml:Issuer>{issuer}</saml:Issuer>{signature}",
                "<saml:Subject><saml:NameID{format}>{name_id}</saml:NameID>",
                "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">",
                "<saml:SubjectConfirmationData{scd_noa}{recipient}{irt}/></saml:SubjectConfirmation>",
                "</saml:Subject>{conditions}",
                "<saml:AuthnStatement AuthnInstant=\"{issued}\"{session}><saml:AuthnContext>",
                "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>",
                "</saml:AuthnContext></saml:AuthnStatement>{attributes}</saml:Assertion>"
            ),
            ns = ns,
            id = escape(&self.assertion_id),
            issued = t(self.issue_instant),
            issuer = escape(&self.assertion_issuer),
            signature = signature,
            format = opt("Format", self.name_id_format.clone()),
            name_id = self.name_id_xml,
            scd_noa = opt("NotOnOrAfter", self.confirmation_not_on_or_after.map(t)),
            recipient = opt("Recipient", self.recipient.clone()),
            irt = opt("InResponseTo", self.in_response_to.clone()),
            conditions = conditions,
            session = opt("SessionIndex", self.session_index.clone()),
            attributes = attributes,
        )
    }

    /// The Response around `assertion` (the XML of an Assertion or EncryptedAssertion), with a
    /// signature template when [`ResponseSpec::sign_response`].
    pub fn response_xml_around(&self, assertion: &str) -> String {
        let t = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let opt = |name: &str, v: Option<String>| {
            v.map(|v| format!(" {name}=\"{}\"", escape(&v)))
                .unwrap_or_default()
        };
        let issuer = self
            .response_issuer
            .as_ref()
            .map(|i| format!("<saml:Issuer>{}</saml:Issuer>", escape(i)))
            .unwrap_or_default();
        let signature = self
            .sign_response
            .map(|alg| signature_template(&self.response_id, alg))
            .unwrap_or_default();
        format!(
            "<samlp:Response xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\"{}{}>{issuer}{signature}<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>{assertion}</samlp:Response>",
            escape(&self.response_id),
            t(self.issue_instant),
            opt("Destination", self.destination.clone()),
            opt("InResponseTo", self.in_response_to.clone()),
            escape(&self.status),
        )
    }

    /// The unsigned Response (templates in place).
    pub fn template(&self) -> String {
        self.response_xml_around(&self.assertion_xml())
    }

    /// The Response, signed as the spec says with `signer`.
    pub fn signed(&self, signer: &Keypair) -> anyhow::Result<String> {
        let mut xml = self.template();
        if self.sign_assertion.is_some() {
            xml = sign(&xml, signer, &self.assertion_id)?;
        }
        if self.sign_response.is_some() {
            xml = sign(&xml, signer, &self.response_id)?;
        }
        Ok(xml)
    }
}

/// The Response with its assertion signed (if the spec says so), then encrypted for
/// `recipient`, then the Response signed (if the spec says so).
pub fn signed_encrypted(
    spec: &ResponseSpec,
    signer: &Keypair,
    recipient: &Keypair,
    data: DataAlg,
    key: KeyAlg,
) -> anyhow::Result<String> {
    let mut xml = spec.template();
    if spec.sign_assertion.is_some() {
        xml = sign(&xml, signer, &spec.assertion_id)?;
    }
    xml = encrypt_assertion(&xml, recipient, data, key)?;
    if spec.sign_response.is_some() {
        xml = sign(&xml, signer, &spec.response_id)?;
    }
    Ok(xml)
}

/// Runs `xmlsec1` in `dir` with `args`; returns stdout or the error.
fn xmlsec1(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("xmlsec1")
        .current_dir(dir)
        .args(args)
        .output()
        .context("cannot run xmlsec1 (install the Debian package xmlsec1)")?;
    anyhow::ensure!(
        output.status.success(),
        "xmlsec1 {} failed: {}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Drops the XML declaration `xmlsec1` writes.
fn without_declaration(xml: &str) -> String {
    let xml = xml.trim_start();
    match (xml.starts_with("<?xml"), xml.find("?>")) {
        (true, Some(end)) => xml[end + 2..].trim_start().to_owned(),
        _ => xml.to_owned(),
    }
}

/// Signs the `ds:Signature` template found first under the element with ID `id` (a Response or
/// an Assertion) with `xmlsec1 --sign`.
pub fn sign(xml: &str, signer: &Keypair, id: &str) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("key.pem"), &signer.key_pem)?;
    std::fs::write(dir.path().join("cert.pem"), &signer.cert_pem)?;
    std::fs::write(dir.path().join("in.xml"), xml)?;
    xmlsec1(
        dir.path(),
        &[
            "--sign",
            "--privkey-pem",
            "key.pem,cert.pem",
            "--id-attr:ID",
            &format!("{NS_SAML}:Assertion"),
            "--id-attr:ID",
            &format!("{NS_SAMLP}:Response"),
            "--node-id",
            id,
            "--output",
            "out.xml",
            "in.xml",
        ],
    )?;
    Ok(without_declaration(&std::fs::read_to_string(
        dir.path().join("out.xml"),
    )?))
}

/// Content encryption algorithms for [`encrypt_assertion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataAlg {
    /// xmlenc#aes128-cbc.
    Aes128Cbc,
    /// xmlenc#aes256-cbc.
    Aes256Cbc,
    /// xmlenc11#aes128-gcm.
    Aes128Gcm,
    /// xmlenc11#aes256-gcm.
    Aes256Gcm,
}

/// Key transport algorithms for [`encrypt_assertion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlg {
    /// xmlenc#rsa-oaep-mgf1p (SHA-1 digest and MGF).
    RsaOaepMgf1p,
    /// xmlenc#rsa-1_5 (must be refused).
    Rsa15,
}

/// Encrypts the (first) `saml:Assertion` of a Response, which must sit in a
/// `saml:EncryptedAssertion`-to-be: replaces `<saml:Assertion …>…</saml:Assertion>` by
/// `<saml:EncryptedAssertion>` holding an `xenc:EncryptedData` made by `xmlsec1 --encrypt` for
/// `recipient`'s certificate. Sign the assertion before.
pub fn encrypt_assertion(
    response_xml: &str,
    recipient: &Keypair,
    data: DataAlg,
    key: KeyAlg,
) -> anyhow::Result<String> {
    let start = response_xml
        .find("<saml:Assertion")
        .context("no <saml:Assertion in the response")?;
    let end_tag = "</saml:Assertion>";
    let end = response_xml
        .rfind(end_tag)
        .context("no </saml:Assertion>")?
        + end_tag.len();
    let wrapped = format!(
        "{}<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>{}",
        &response_xml[..start],
        &response_xml[start..end],
        &response_xml[end..]
    );
    let (data_uri, session) = match data {
        DataAlg::Aes128Cbc => ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
        DataAlg::Aes256Cbc => ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
        DataAlg::Aes128Gcm => ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
        DataAlg::Aes256Gcm => ("http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"),
    };
    let key_method = match key {
        KeyAlg::RsaOaepMgf1p => {
            "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></xenc:EncryptionMethod>"
        }
        KeyAlg::Rsa15 => {
            "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-1_5\"/>"
        }
    };
    let template = format!(
        "<xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"{data_uri}\"/><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey>{key_method}<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"
    );
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("cert.pem"), &recipient.cert_pem)?;
    std::fs::write(dir.path().join("data.xml"), wrapped)?;
    std::fs::write(dir.path().join("template.xml"), template)?;
    xmlsec1(
        dir.path(),
        &[
            "--encrypt",
            "--pubkey-cert-pem",
            "cert.pem",
            "--session-key",
            session,
            "--xml-data",
            "data.xml",
            "--node-name",
            &format!("{NS_SAML}:Assertion"),
            "--output",
            "out.xml",
            "template.xml",
        ],
    )?;
    Ok(without_declaration(&std::fs::read_to_string(
        dir.path().join("out.xml"),
    )?))
}

/// The `SAMLResponse` form value of a Response.
pub fn b64(xml: &str) -> String {
    STANDARD.encode(xml)
}

/// IdP metadata for `signer` (no certificate when `None`), with an SSO endpoint of `binding`
/// (`None`: none at all).
pub fn idp_metadata_xml(
    entity_id: &str,
    sso_url: &str,
    binding: Option<&str>,
    signer: Option<&Keypair>,
) -> String {
    let key = signer
        .map(|k| {
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                k.cert_b64()
            )
        })
        .unwrap_or_default();
    let sso = binding
        .map(|b| {
            format!(
                "<md:SingleSignOnService Binding=\"{}\" Location=\"{}\"/>",
                escape(b),
                escape(sso_url)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{}\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{key}<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>{sso}</md:IDPSSODescriptor></md:EntityDescriptor>",
        escape(entity_id)
    )
}

/// The HTTP-POST binding URI, re-exported for metadata crafting.
pub const POST: &str = BINDING_HTTP_POST;
/// The HTTP-Redirect binding URI, re-exported for metadata crafting.
pub const REDIRECT: &str = BINDING_HTTP_REDIRECT;
