//! Every date and time the dashboard shows goes through here: in UTC, absolute. Nothing depends
//! on the current time, so the server and the hydrating browser render the same text.

use chrono::{DateTime, Utc};

/// `2026-01-31 14:05 UTC`.
pub fn absolute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// [`absolute`], or `missing` (e.g. "never", "—") when there is no time.
pub fn absolute_or(t: Option<DateTime<Utc>>, missing: &str) -> String {
    t.map_or_else(|| missing.to_owned(), absolute)
}

/// The day only: `2026-01-31`.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_the_same_everywhere() {
        let t = DateTime::parse_from_rfc3339("2026-01-31T14:05:59+02:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(absolute(t), "2026-01-31 12:05 UTC");
        assert_eq!(date(t), "2026-01-31");
        assert_eq!(absolute_or(Some(t), "never"), "2026-01-31 12:05 UTC");
        assert_eq!(absolute_or(None, "—"), "—");
    }
}
