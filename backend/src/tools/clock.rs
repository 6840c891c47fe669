//! The `current_time` tool: models do not know what time it is.
//!
//! Named time zones need a time zone database, which Aerie does not ship, so this tool accepts
//! UTC and fixed offsets only (`+02:00`, `-0530`, `UTC+2`) and says so when asked for another
//! zone, rather than guessing.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Deserialize;

/// The largest offset accepted, in hours (real zones range from UTC-12 to UTC+14).
const MAX_OFFSET_HOURS: u32 = 14;

const ACCEPTED: &str = "\"UTC\" (the default) or a fixed offset from UTC such as \"+02:00\", \"-05:30\" or \"UTC+1\"; named zones like \"Europe/Paris\" are not supported, so convert them to their current offset";

#[derive(Deserialize, Default)]
struct Args {
    #[serde(default)]
    timezone: Option<String>,
}

/// Runs the tool on its JSON arguments `{"timezone": "UTC"}` (the zone is optional).
pub(super) fn run(args: serde_json::Value, now: DateTime<Utc>) -> Result<String, String> {
    let args: Args = serde_json::from_value(args).map_err(|e| {
        format!("Invalid arguments for current_time ({e}); expected {{\"timezone\": \"UTC\"}}.")
    })?;
    let zone = args.timezone.as_deref().unwrap_or("UTC");
    let offset = parse_zone(zone).ok_or_else(|| {
        format!(
            "Unknown time zone \"{}\". Accepted: {ACCEPTED}.",
            zone.trim()
        )
    })?;
    Ok(format_time(now, offset))
}

/// `2026-11-25T15:04:05Z (Wednesday)`, or with the offset: `2026-11-25T17:04:05+02:00 (Wednesday)`.
pub fn format_time(now: DateTime<Utc>, offset: FixedOffset) -> String {
    let local = now.with_timezone(&offset);
    format!(
        "{} ({})",
        local.to_rfc3339_opts(SecondsFormat::Secs, true),
        local.format("%A")
    )
}

/// UTC (`UTC`, `GMT`, `Z`, `Etc/UTC`, empty) or a fixed offset (`+02:00`, `-0530`, `+2`,
/// `UTC+02:00`, `GMT-3`).
pub fn parse_zone(zone: &str) -> Option<FixedOffset> {
    let zone = zone.trim();
    let upper = zone.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "" | "UTC" | "GMT" | "Z" | "ZULU" | "ETC/UTC" | "ETC/GMT" | "UNIVERSAL"
    ) {
        return FixedOffset::east_opt(0);
    }
    let offset = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper)
        .trim_start();
    let mut chars = offset.chars();
    let sign = match chars.next()? {
        '+' => 1,
        '-' | '\u{2212}' => -1, // also the typographic minus sign
        _ => return None,
    };
    let digits = chars.as_str();
    // `get` rather than `split_at`: four bytes may hold a multi-byte character (`+aé1`).
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => (digits.get(..2)?, digits.get(2..)?),
        None => (digits, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    if hours > MAX_OFFSET_HOURS || minutes >= 60 || (hours == MAX_OFFSET_HOURS && minutes > 0) {
        return None;
    }
    let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
    FixedOffset::east_opt(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 15, 4, 5).unwrap()
    }

    fn at(zone: serde_json::Value) -> Result<String, String> {
        run(zone, now())
    }

    #[test]
    fn utc_by_default() {
        let expected = "2026-11-25T15:04:05Z (Wednesday)";
        assert_eq!(at(serde_json::json!({})).unwrap(), expected);
        assert_eq!(at(serde_json::json!({"timezone": null})).unwrap(), expected);
        assert_eq!(
            at(serde_json::json!({"timezone": "UTC"})).unwrap(),
            expected
        );
        assert_eq!(
            at(serde_json::json!({"timezone": "gmt"})).unwrap(),
            expected
        );
        assert_eq!(
            at(serde_json::json!({"timezone": "Etc/UTC"})).unwrap(),
            expected
        );
        assert_eq!(
            at(serde_json::json!({"timezone": "+00:00"})).unwrap(),
            expected
        );
    }

    #[test]
    fn fixed_offsets() {
        for (zone, expected) in [
            ("+02:00", "2026-11-25T17:04:05+02:00 (Wednesday)"),
            ("UTC+2", "2026-11-25T17:04:05+02:00 (Wednesday)"),
            ("-0530", "2026-11-25T09:34:05-05:30 (Wednesday)"),
            ("GMT-3", "2026-11-25T12:04:05-03:00 (Wednesday)"),
            ("\u{2212}05:00", "2026-11-25T10:04:05-05:00 (Wednesday)"),
            ("+09:00", "2026-11-26T00:04:05+09:00 (Thursday)"),
            ("+14:00", "2026-11-26T05:04:05+14:00 (Thursday)"),
        ] {
            assert_eq!(
                at(serde_json::json!({"timezone": zone})).unwrap(),
                expected,
                "{zone}"
            );
        }
    }

    #[test]
    fn unknown_zones_explain_what_is_accepted() {
        for zone in [
            "Europe/Paris",
            "+15:00",
            "+02:60",
            "2",
            "+",
            "+1:2:3",
            "UTC+abc",
            "+123",
        ] {
            let err = at(serde_json::json!({"timezone": zone})).unwrap_err();
            assert!(err.contains("Unknown time zone"), "{zone}: {err}");
            assert!(err.contains("\"+02:00\""), "{zone}: {err}");
        }
        assert!(
            at(serde_json::json!({"timezone": 3}))
                .unwrap_err()
                .contains("Invalid arguments")
        );
    }

    #[test]
    fn multi_byte_characters_where_digits_belong_are_refused() {
        for zone in ["+aé1", "-é12", "UTC+1é", "+１２:00", "+0é"] {
            assert_eq!(parse_zone(zone), None, "{zone}");
        }
    }

    proptest::proptest! {
        /// The tool's argument comes from the model (and so from whoever steers it): no time
        /// zone string panics, and an accepted one is a real offset.
        #[test]
        fn no_time_zone_panics(zone in proptest::prelude::any::<String>()) {
            if let Some(offset) = parse_zone(&zone) {
                proptest::prop_assert!(offset.local_minus_utc().abs() <= 14 * 3600);
            }
            let _ = at(serde_json::json!({"timezone": zone}));
        }

        /// Offsets with a multi-byte character among the digits, where byte positions and
        /// characters part ways.
        #[test]
        fn no_offset_like_zone_panics(
            prefix in "(UTC|GMT|utc)?[ ]?[+\u{2212}-]",
            head in "[0-9a]{0,2}",
            middle in "\\PC",
            tail in "[0-9a]{0,2}",
        ) {
            let _ = parse_zone(&format!("{prefix}{head}{middle}{tail}"));
        }
    }
}
