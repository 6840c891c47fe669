//! The audit trail's hash chain (docs/AUDIT.md): each event's `hash` is an HMAC-SHA-256, keyed
//! with a key derived from the instance's secret, over the previous event's hash and the event's
//! own fields in a canonical form. Someone who can edit the database but does not hold the
//! secret can neither change an event, nor remove one, nor recompute the hashes after it.
//! Each chain's head (its last place and hash, and the anchor retention left) carries a MAC
//! under the same key, so removing the newest events is noticed too.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::Sha256;
use uuid::Uuid;

/// The hash before a chain's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

static KEY: OnceLock<Vec<u8>> = OnceLock::new();

/// Derives the chain's key from the instance's encryption secret (once per process: the
/// process's first context sets it; every instance sharing a database shares its secrets).
pub fn init(secret: &SecretString) {
    KEY.get_or_init(|| mac_with(secret.expose_secret().as_bytes(), b"aerie audit chain v1"));
}

fn key() -> &'static [u8] {
    KEY.get().map_or(&[], Vec::as_slice)
}

fn mac_with(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `value` with every object's keys sorted, so that the same JSON always encodes the same way
/// (the build keeps objects in insertion order, and a database may reorder them).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(v) = map.get(k) {
                    out.insert(k.clone(), canonical(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The time as the chain hashes it (microseconds, UTC): what both databases store exactly.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An event's fields as the chain reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct Link<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub chain: Uuid,
    pub org_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub details: &'a Value,
    pub created_at: DateTime<Utc>,
}

/// The hash of `link` after `prev`.
pub fn hash(prev: &str, link: &Link<'_>) -> String {
    let fields = Value::Array(vec![
        Value::from(prev),
        Value::from(link.seq),
        Value::from(link.id.to_string()),
        Value::from(link.chain.to_string()),
        link.org_id.map(|u| u.to_string()).into(),
        link.actor_user_id.map(|u| u.to_string()).into(),
        link.actor_api_key_id.map(|u| u.to_string()).into(),
        Value::from(link.action),
        link.target_type.into(),
        link.target_id.into(),
        link.ip.into(),
        canonical(link.details),
        Value::from(timestamp(link.created_at)),
    ]);
    hex(&mac_with(key(), fields.to_string().as_bytes()))
}

/// The MAC of a chain's head.
pub fn head_mac(chain: Uuid, seq: i64, hash: &str, base_seq: i64, base_hash: &str) -> String {
    let data = format!("head\n{chain}\n{seq}\n{hash}\n{base_seq}\n{base_hash}");
    hex(&mac_with(key(), data.as_bytes()))
}

/// Constant-time comparison of two hex digests.
pub fn same(a: &str, b: &str) -> bool {
    crate::crypto::hashes_match(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn link(details: &Value) -> Link<'_> {
        Link {
            seq: 1,
            id: Uuid::nil(),
            chain: Uuid::nil(),
            org_id: None,
            actor_user_id: None,
            actor_api_key_id: None,
            action: "user.login",
            target_type: Some("user"),
            target_id: Some("x"),
            ip: None,
            details,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn key_order_does_not_change_the_hash_and_any_field_does() {
        init(&SecretString::from("test secret".to_owned()));
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": [3, {"q": 1, "p": 2}]}}"#)
                .expect("json");
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": [3, {"p": 2, "q": 1}], "y": 2}, "b": 1}"#)
                .expect("json");
        assert_eq!(hash(GENESIS, &link(&a)), hash(GENESIS, &link(&b)));
        let c = json!({"a": 1});
        let base = hash(GENESIS, &link(&c));
        assert_ne!(base, hash("1", &link(&c)), "the previous hash counts");
        let mut other = link(&c);
        other.action = "user.logout";
        assert_ne!(base, hash(GENESIS, &other));
        let mut other = link(&c);
        other.seq = 2;
        assert_ne!(base, hash(GENESIS, &other));
        assert_eq!(base.len(), 64);
    }

    proptest! {
        #[test]
        fn canonical_form_is_idempotent(keys in proptest::collection::vec("[a-z]{1,4}", 0..8)) {
            let mut map = Map::new();
            for (i, k) in keys.iter().enumerate() {
                map.insert(k.clone(), Value::from(i));
            }
            let v = Value::Object(map);
            let once = canonical(&v);
            prop_assert_eq!(canonical(&once).to_string(), once.to_string());
        }
    }
}
