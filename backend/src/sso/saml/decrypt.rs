//! XML Encryption of `saml:EncryptedAssertion`, done with openssl (samael's own decryption knows
//! only AES-128, accepts RSA PKCS#1 v1.5 and returns a parsed assertion instead of the XML whose
//! signature must still be checked).
//!
//! Key transport: RSA-OAEP (`xmlenc#rsa-oaep-mgf1p`, `xmlenc11#rsa-oaep` with its digest, MGF and
//! OAEPparams). RSA PKCS#1 v1.5 is refused (Bleichenbacher). Content: AES-128/192/256 in GCM or
//! CBC. Every failure past the algorithm check gives the same refusal, so a padding or parsing
//! difference cannot serve as an oracle.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use roxmltree::Node;

use super::Refusal;
use super::dom::{self, NS_DS, NS_SAML, NS_XENC, NS_XENC11};

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";

/// The content encryption algorithms accepted.
#[derive(Clone, Copy)]
enum Content {
    Cbc(Cipher),
    Gcm(Cipher),
}

fn content_algorithm(uri: &str) -> Result<Content, Refusal> {
    Ok(match uri {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc(Cipher::aes_128_cbc()),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Content::Cbc(Cipher::aes_192_cbc()),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc(Cipher::aes_256_cbc()),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm(Cipher::aes_128_gcm()),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => Content::Gcm(Cipher::aes_192_gcm()),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm(Cipher::aes_256_gcm()),
        other => {
            return Err(Refusal::WeakAlgorithm(format!(
                "content encryption {other}"
            )));
        }
    })
}

fn digest_algorithm(uri: Option<&str>) -> Result<&'static MdRef, Refusal> {
    Ok(match uri {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => Md::sha1(),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => Md::sha256(),
        Some("http://www.w3.org/2001/04/xmldsig-more#sha384") => Md::sha384(),
        Some("http://www.w3.org/2001/04/xmlenc#sha512") => Md::sha512(),
        Some(other) => return Err(Refusal::WeakAlgorithm(format!("OAEP digest {other}"))),
    })
}

fn mgf_algorithm(uri: Option<&str>) -> Result<&'static MdRef, Refusal> {
    Ok(match uri {
        None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1") => Md::sha1(),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha224") => Md::sha224(),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha256") => Md::sha256(),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha384") => Md::sha384(),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha512") => Md::sha512(),
        Some(other) => return Err(Refusal::WeakAlgorithm(format!("OAEP MGF {other}"))),
    })
}

/// The base64 text of `CipherData/CipherValue` under `node`.
fn cipher_value(node: Node<'_, '_>) -> Result<Vec<u8>, Refusal> {
    let value = dom::children(node, NS_XENC, "CipherData")
        .next()
        .and_then(|cd| dom::children(cd, NS_XENC, "CipherValue").next())
        .ok_or_else(|| {
            Refusal::Malformed("the encrypted assertion has no CipherValue".to_owned())
        })?;
    let text: String = dom::text_content(value)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(text).map_err(|_| {
        Refusal::Malformed("the encrypted assertion's CipherValue is not base64".to_owned())
    })
}

/// The `EncryptedKey` elements that may carry the content key: inside `EncryptedData/KeyInfo`,
/// else siblings of `EncryptedData` in the `EncryptedAssertion`.
fn encrypted_keys<'a, 'i>(
    encrypted_assertion: Node<'a, 'i>,
    data: Node<'a, 'i>,
) -> Vec<Node<'a, 'i>> {
    let inside: Vec<_> = dom::children(data, NS_DS, "KeyInfo")
        .flat_map(|ki| dom::children(ki, NS_XENC, "EncryptedKey"))
        .collect();
    if !inside.is_empty() {
        return inside;
    }
    dom::children(encrypted_assertion, NS_XENC, "EncryptedKey").collect()
}

/// Unwraps the content key of one `EncryptedKey` with our RSA key.
fn unwrap_key(
    encrypted_key: Node<'_, '_>,
    private_key: &PKey<Private>,
) -> Result<Option<Vec<u8>>, Refusal> {
    let method = dom::children(encrypted_key, NS_XENC, "EncryptionMethod")
        .next()
        .ok_or_else(|| Refusal::Malformed("an EncryptedKey has no EncryptionMethod".to_owned()))?;
    let algorithm = method.attribute("Algorithm").unwrap_or_default();
    let digest_uri = dom::children(method, NS_DS, "DigestMethod")
        .next()
        .and_then(|d| d.attribute("Algorithm"));
    let (digest, mgf) = match algorithm {
        RSA_OAEP_MGF1P => (digest_algorithm(digest_uri)?, Md::sha1()),
        RSA_OAEP_11 => {
            let mgf_uri = dom::children(method, NS_XENC11, "MGF")
                .next()
                .and_then(|m| m.attribute("Algorithm"));
            (digest_algorithm(digest_uri)?, mgf_algorithm(mgf_uri)?)
        }
        other => return Err(Refusal::WeakAlgorithm(format!("key transport {other}"))),
    };
    let label = match dom::children(method, NS_XENC, "OAEPparams").next() {
        Some(params) => {
            let text: String = dom::text_content(params)
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            Some(
                STANDARD
                    .decode(text)
                    .map_err(|_| Refusal::DecryptionFailed)?,
            )
        }
        None => None,
    };
    let wrapped = cipher_value(encrypted_key)?;
    let unwrap = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(private_key)?;
        ctx.decrypt_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
        ctx.set_rsa_oaep_md(digest)?;
        ctx.set_rsa_mgf1_md(mgf)?;
        if let Some(label) = &label {
            ctx.set_rsa_oaep_label(label)?;
        }
        let mut out = Vec::new();
        ctx.decrypt_to_vec(&wrapped, &mut out)?;
        Ok(out)
    };
    // Another recipient's key (or garbage) fails OAEP: try the next EncryptedKey.
    Ok(unwrap().ok())
}

fn decrypt_content(content: Content, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    match content {
        Content::Cbc(cipher) => {
            let iv_len = cipher.iv_len()?;
            let block = cipher.block_size();
            if key.len() != cipher.key_len()
                || data.len() < iv_len + block
                || !(data.len() - iv_len).is_multiple_of(block)
            {
                return None;
            }
            let (iv, body) = data.split_at(iv_len);
            let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
            // XML Encryption padding: the last byte says how many bytes to drop (1..=block); the
            // other padding bytes are arbitrary, so PKCS#7 unpadding would refuse valid input.
            crypter.pad(false);
            let mut out = vec![0; body.len() + block];
            let mut n = crypter.update(body, &mut out).ok()?;
            n += crypter.finalize(&mut out[n..]).ok()?;
            out.truncate(n);
            let pad = usize::from(*out.last()?);
            if pad == 0 || pad > block || pad > out.len() {
                return None;
            }
            out.truncate(out.len() - pad);
            Some(out)
        }
        Content::Gcm(cipher) => {
            const TAG: usize = 16;
            let iv_len = cipher.iv_len()?;
            if key.len() != cipher.key_len() || data.len() < iv_len + TAG {
                return None;
            }
            let (iv, rest) = data.split_at(iv_len);
            let (body, tag) = rest.split_at(rest.len() - TAG);
            let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
            crypter.pad(false);
            let mut out = vec![0; body.len() + cipher.block_size()];
            let mut n = crypter.update(body, &mut out).ok()?;
            crypter.set_tag(tag).ok()?;
            n += crypter.finalize(&mut out[n..]).ok()?;
            out.truncate(n);
            Some(out)
        }
    }
}

/// Decrypts a `saml:EncryptedAssertion` and returns the plaintext assertion XML, parseable on
/// its own: when the IdP serialized the assertion relying on namespace prefixes declared on an
/// ancestor, the plaintext is wrapped in a neutral element that redeclares the namespaces in
/// scope at the `EncryptedAssertion` (exclusive canonicalization, used by every SAML IdP, does
/// not see that wrapper).
///
/// `namespace_context` is the `EncryptedAssertion` as received: its in-scope namespaces are the
/// IdP's (the verified, canonical copy of a signed Response only keeps the visibly used ones).
pub(super) fn decrypt_assertion(
    encrypted_assertion: Node<'_, '_>,
    namespace_context: Node<'_, '_>,
    private_key_pem: &str,
) -> Result<String, Refusal> {
    if !dom::is(encrypted_assertion, NS_SAML, "EncryptedAssertion") {
        return Err(Refusal::Malformed(
            "expected an EncryptedAssertion".to_owned(),
        ));
    }
    let data = dom::child_at_most_one(encrypted_assertion, NS_XENC, "EncryptedData")
        .map_err(Refusal::Malformed)?
        .ok_or_else(|| {
            Refusal::Malformed("the EncryptedAssertion has no EncryptedData".to_owned())
        })?;
    let content_uri = dom::children(data, NS_XENC, "EncryptionMethod")
        .next()
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| {
            Refusal::Malformed("the EncryptedData has no EncryptionMethod".to_owned())
        })?;
    let content = content_algorithm(content_uri)?;
    let ciphertext = cipher_value(data)?;
    let private_key = PKey::private_key_from_pem(private_key_pem.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "the SAML service provider key cannot be read");
        Refusal::Internal
    })?;
    if private_key.rsa().is_err() {
        tracing::error!("the SAML service provider key is not an RSA key");
        return Err(Refusal::Internal);
    }
    let keys = encrypted_keys(encrypted_assertion, data);
    if keys.is_empty() {
        return Err(Refusal::Malformed(
            "the encrypted assertion carries no EncryptedKey".to_owned(),
        ));
    }
    for encrypted_key in keys {
        let Some(key) = unwrap_key(encrypted_key, &private_key)? else {
            continue;
        };
        let plaintext =
            decrypt_content(content, &key, &ciphertext).ok_or(Refusal::DecryptionFailed)?;
        let plaintext = String::from_utf8(plaintext).map_err(|_| Refusal::DecryptionFailed)?;
        return standalone_document(&plaintext, namespace_context);
    }
    Err(Refusal::DecryptionFailed)
}

/// Name of the element wrapping a decrypted assertion that needs inherited namespaces.
pub(super) const WRAPPER: &str = "DecryptedAssertion";

fn standalone_document(plaintext: &str, context: Node<'_, '_>) -> Result<String, Refusal> {
    let plaintext = plaintext.trim_start_matches('\u{feff}').trim();
    if dom::parse(plaintext).is_ok() {
        return Ok(plaintext.to_owned());
    }
    if plaintext.starts_with("<?") || plaintext.contains("<!DOCTYPE") {
        return Err(Refusal::DecryptionFailed);
    }
    // Redeclare exactly the namespaces in scope at the EncryptedAssertion (the default one
    // included), so the assertion sees the context it was signed in.
    let mut wrapped = format!("<{WRAPPER}");
    for ns in context.namespaces() {
        match ns.name() {
            Some("xml") => {}
            Some(prefix) => {
                wrapped.push_str(&format!(" xmlns:{prefix}=\"{}\"", dom::escape(ns.uri())));
            }
            None => wrapped.push_str(&format!(" xmlns=\"{}\"", dom::escape(ns.uri()))),
        }
    }
    wrapped.push('>');
    wrapped.push_str(plaintext);
    wrapped.push_str(&format!("</{WRAPPER}>"));
    match dom::parse(&wrapped) {
        Ok(_) => Ok(wrapped),
        Err(_) => Err(Refusal::DecryptionFailed),
    }
}
