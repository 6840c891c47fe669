//! Whole numbers as JSON Schema counts them: `78` and `78.0` are both the integer 78 (JSON has
//! one number type; a client that computes a count in floating point sends `78.0`). serde alone
//! refuses a float for an integer field, so fields the document declares `integer` use these.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// `Option<u32>` that also takes a float with no fractional part; `null` is `None`.
pub fn option_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    deserializer.deserialize_option(OptionU32)
}

struct OptionU32;

impl<'de> Visitor<'de> for OptionU32 {
    type Value = Option<u32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number from 0 to 4294967295, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        u32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
            // Exact: a whole f64 in u32's range converts without loss.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(v as u32))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "super::option_u32")]
        n: Option<u32>,
    }

    fn n(json: &str) -> Result<Option<u32>, serde_json::Error> {
        serde_json::from_str::<T>(json).map(|t| t.n)
    }

    #[test]
    fn whole_floats_are_integers() {
        assert_eq!(n(r#"{"n": 78}"#).ok(), Some(Some(78)));
        assert_eq!(n(r#"{"n": 78.0}"#).ok(), Some(Some(78)));
        assert_eq!(n(r#"{"n": 7.8e1}"#).ok(), Some(Some(78)));
        assert_eq!(n(r#"{"n": null}"#).ok(), Some(None));
        assert_eq!(n(r#"{}"#).ok(), Some(None));
        for bad in [
            r#"{"n": 78.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": -1.0}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "78"}"#,
            r#"{"n": true}"#,
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any number: whole ones in range are taken exactly, others refused; none panics.
        #[test]
        fn any_number(v in proptest::num::f64::ANY) {
            let json = serde_json::json!({ "n": v }).to_string();
            match n(&json) {
                Ok(Some(got)) => proptest::prop_assert_eq!(f64::from(got), v),
                Ok(None) => proptest::prop_assert!(!v.is_finite()),
                Err(_) => proptest::prop_assert!(
                    v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v)
                ),
            }
        }
    }
}
