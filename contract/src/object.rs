//! Nested objects that must be JSON objects. serde reads a struct from a JSON array too (its
//! fields in order), so `"embedding": [null, null]` would pass for an object the document
//! declares; fields of a struct type use these instead (the top-level body is checked by the
//! server's JSON extractor, `server/src/extract.rs`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// A struct that must arrive as a JSON object.
pub fn required<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
    T::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)
}

/// An optional struct: `null` is `None`, anything else must be a JSON object.
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)? {
        Some(map) => T::deserialize(serde_json::Value::Object(map))
            .map(Some)
            .map_err(D::Error::custom),
        None => Ok(None),
    }
}
