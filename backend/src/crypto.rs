//! Random tokens and keyed hashes for API keys and refresh tokens. Only hashes are stored;
//! comparisons are constant-time.

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` random characters from [A-Za-z0-9] (about 5.95 bits each).
pub fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// HMAC-SHA256 of `value` keyed with the instance's pepper, as URL-safe base64.
pub fn keyed_hash(pepper: &SecretString, value: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(pepper.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Constant-time equality of two hashes.
pub fn hashes_match(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// An API key split into its public prefix and the whole secret.
pub struct ApiKeyParts {
    /// `aerie_<12 chars>`: stored in clear, used for lookup and shown in lists.
    pub prefix: String,
    /// `aerie_<12 chars>_<32 chars>`: shown once, stored only as a keyed hash.
    pub key: SecretString,
}

pub const API_KEY_PREFIX: &str = "aerie_";

/// A fresh API key.
pub fn new_api_key() -> ApiKeyParts {
    let prefix = format!("{API_KEY_PREFIX}{}", random_token(12));
    let key = format!("{prefix}_{}", random_token(32));
    ApiKeyParts {
        prefix,
        key: SecretString::from(key),
    }
}

/// The public prefix of a presented key, if it has our shape.
pub fn api_key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (lookup, secret) = rest.split_once('_')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(lookup, 12) && ok(secret, 32)).then(|| &key[..API_KEY_PREFIX.len() + 12])
}

/// Encrypts a secret for storage (provider API keys): XChaCha20-Poly1305 under a key derived
/// from the instance's encryption key, a random nonce per value; `v1:<base64(nonce|ciphertext)>`.
pub fn seal(instance_key: &SecretString, label: &str, plaintext: &str) -> anyhow::Result<String> {
    use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
    let cipher =
        chacha20poly1305::XChaCha20Poly1305::new_from_slice(&derive_key(instance_key, label))
            .map_err(|_| anyhow::anyhow!("bad key length"))?;
    let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, plaintext.as_bytes())
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!(
        "v1:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    ))
}

/// Decrypts what [`seal`] produced with the same key and label.
pub fn open(
    instance_key: &SecretString,
    label: &str,
    sealed: &str,
) -> anyhow::Result<SecretString> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    let raw = sealed
        .strip_prefix("v1:")
        .ok_or_else(|| anyhow::anyhow!("unknown sealed-secret format"))?;
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(raw)?;
    if raw.len() < 24 {
        anyhow::bail!("sealed secret too short");
    }
    let (nonce, ciphertext) = raw.split_at(24);
    let cipher =
        chacha20poly1305::XChaCha20Poly1305::new_from_slice(&derive_key(instance_key, label))
            .map_err(|_| anyhow::anyhow!("bad key length"))?;
    let plain = cipher
        .decrypt(
            &chacha20poly1305::XNonce::from(<[u8; 24]>::try_from(nonce)?),
            ciphertext,
        )
        .map_err(|_| anyhow::anyhow!("sealed secret does not decrypt with this instance's key"))?;
    Ok(SecretString::from(String::from_utf8(plain)?))
}

fn derive_key(instance_key: &SecretString, label: &str) -> [u8; 32] {
    let mut mac = match Hmac::<Sha256>::new_from_slice(instance_key.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(b"aerie-seal:");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_parsable_prefix_and_hash_deterministically() {
        let parts = new_api_key();
        let key = parts.key.expose_secret();
        assert_eq!(api_key_prefix(key), Some(parts.prefix.as_str()));
        assert_eq!(key.len(), 6 + 12 + 1 + 32);
        let pepper = SecretString::from("pepper".to_owned());
        let other = SecretString::from("other".to_owned());
        assert!(hashes_match(
            &keyed_hash(&pepper, key),
            &keyed_hash(&pepper, key)
        ));
        assert!(!hashes_match(
            &keyed_hash(&pepper, key),
            &keyed_hash(&other, key)
        ));
        assert!(!hashes_match("", ""));
        for bad in [
            "",
            "aerie_",
            "aerie_short_x",
            "sk-123",
            &key[..key.len() - 1],
        ] {
            assert_eq!(api_key_prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn sealed_secrets_round_trip_and_need_the_key() {
        let key = SecretString::from("instance-key".to_owned());
        let sealed = seal(&key, "provider", "sk-live-123").unwrap();
        assert!(!sealed.contains("sk-live"));
        assert_ne!(sealed, seal(&key, "provider", "sk-live-123").unwrap());
        assert_eq!(
            open(&key, "provider", &sealed).unwrap().expose_secret(),
            "sk-live-123"
        );
        assert!(open(&SecretString::from("other".to_owned()), "provider", &sealed).is_err());
        assert!(open(&key, "other-label", &sealed).is_err());
    }

    proptest::proptest! {
        /// Presented keys come from request headers: no string panics, and a prefix found is
        /// the key's own beginning.
        #[test]
        fn no_presented_key_panics(
            raw in proptest::prelude::any::<String>(),
            near in "aerie_[A-Za-z0-9é]{10,13}_[A-Za-z0-9é]{30,33}",
        ) {
            for key in [raw, near] {
                if let Some(prefix) = api_key_prefix(&key) {
                    proptest::prop_assert!(key.starts_with(prefix));
                }
            }
        }
    }
}
