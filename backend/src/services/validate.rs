//! Input checks shared by services; each error names its field.

use crate::actor::Role;
use crate::{Error, Result};

/// Names of things an organisation makes: agents, providers, groups, API keys, sign-in providers.
pub const NAME_MAX: usize = 100;
/// Names of people and organisations.
pub const PERSON_NAME_MAX: usize = 120;
/// Conversation titles and model ids.
pub const TITLE_MAX: usize = 200;
/// Email addresses (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 320;
/// Free text that must hold something: at least one character that is not white space (the
/// chat message, a model id in the OpenAI format). Unanchored, as JSON Schema reads patterns.
pub const NOT_BLANK_PATTERN: &str = r"\S";
/// Passwords at sign-up (`auth::password::validate` refuses shorter and longer ones).
pub const PASSWORD_MAX: usize = 1024;
/// Free-text descriptions and feedback comments.
pub const COMMENT_MAX: usize = 2000;
/// Agent system prompts.
pub const SYSTEM_PROMPT_MAX: usize = 100_000;
/// A chat message's text.
pub const MESSAGE_MAX: usize = 200_000;
/// Sampling temperature of an agent.
pub const TEMPERATURE: (f64, f64) = (0.0, 2.0);
/// Nucleus sampling of an agent.
pub const TOP_P: (f64, f64) = (0.0, 1.0);
/// An agent's answer length in tokens.
pub const MAX_TOKENS: (i64, i64) = (1, 1_000_000);
/// A provider's request timeout in seconds.
pub const TIMEOUT_SECS: (i64, i64) = (1, 3600);
/// An avatar URL.
pub const URL_MAX: usize = 2048;
/// An avatar URL: empty (clears it), or http(s) with no white space or control character
/// (`auth::sessions`).
pub const EMPTY_OR_HTTP_URL_PATTERN: &str = r"^(https?://[^\s\x00-\x1f\x7f-\x9f]+)?$";
/// What [`email`] accepts, as sent: one `@`, a local part, a domain with a dot inside it, no
/// white space or control character.
pub const EMAIL_PATTERN: &str = r"^[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@.\x00-\x1f\x7f-\x9f][^\s@\x00-\x1f\x7f-\x9f]*\.[^\s@\x00-\x1f\x7f-\x9f]*[^\s@.\x00-\x1f\x7f-\x9f]$";
/// An organisation's `allowed_domains` entry: a domain slug (`orgs`).
pub const DOMAIN_SLUG_PATTERN: &str = r"^[A-Za-z0-9._-]+$";
/// The longest `allowed_domains` entry.
pub const DOMAIN_SLUG_MAX: usize = 100;
/// A knowledge base's or category's slug: what an `allowed_domains` entry accepts, starting
/// with a letter or digit (so never `.` or `..`); stored lower-case.
pub const SLUG_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]*$";
/// A knowledge base's chunk size, in characters.
pub const CHUNK_SIZE: (i64, i64) = (100, 8000);
/// A knowledge base's chunk overlap, in characters (and less than half the chunk size).
pub const CHUNK_OVERLAP: (i64, i64) = (0, 2000);
/// Categories one knowledge base may hold.
pub const CATEGORIES_MAX: u64 = 100;
/// Knowledge bases one agent may use.
pub const AGENT_KNOWLEDGE_BASES_MAX: usize = 20;
/// A category's position in its list.
pub const POSITION: (i64, i64) = (0, 1_000_000);
/// An email domain of the sign-in policy or a provider's trusted domains (`sso::policy`): a
/// domain name with at least one dot, an optional leading `@`.
pub const EMAIL_DOMAIN_PATTERN: &str = r"^@?([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}$";
/// The longest email domain entry (RFC 1035's 253, with the `@` if given).
pub const EMAIL_DOMAIN_MAX: usize = 253;
/// What [`name`] accepts, as a regular expression for the OpenAPI document (`server/src/limits.rs`):
/// no control character (Unicode `Cc`), and at least one character that is not white space. The
/// length is stated apart (`maxLength`). The property test below holds the two to each other.
pub const NAME_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// The built-in tools an agent may name (`tools`).
pub fn tool_names() -> Vec<&'static str> {
    crate::tools::catalogue().iter().map(|t| t.name).collect()
}

/// The roles an invitation or the signup settings may give (an owner is made by an owner, not
/// invited).
pub fn invitable_roles() -> Vec<&'static str> {
    vec![Role::Member.as_str(), Role::Admin.as_str()]
}

/// The interface languages a profile may choose.
pub fn locales() -> Vec<&'static str> {
    super::auth::LOCALES.to_vec()
}

/// A chat image as the document states it: a base64 data URL of one of the accepted types
/// (`chat::images`, which also bounds the decoded size and refuses an empty image).
/// Canonical base64 only (the decoder refuses stray bits in the last symbol), never empty.
pub const IMAGE_PATTERN: &str = r"^data:image/(png|jpeg|gif|webp);base64,(([A-Za-z0-9+/]{4})+([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?|[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)$";

/// Trims and lower-cases an email and checks its shape.
pub fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(Error::invalid("email", "email field is required."));
    }
    let valid = email.chars().count() <= EMAIL_MAX
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && email.matches('@').count() == 1
        });
    if !valid {
        return Err(Error::invalid(
            "email",
            "email is not a valid email address.",
        ));
    }
    Ok(email)
}

/// A required, trimmed, bounded name: at most `max` characters as sent, none of them a control
/// character, not only white space ([`NAME_PATTERN`]).
pub fn name(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, format!("{field} field is required.")));
    }
    if raw.chars().count() > max || raw.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} printable characters."),
        ));
    }
    Ok(value.to_owned())
}

/// Optional free text of at most `max` characters as sent; answered unchanged (callers trim
/// what they keep trimmed).
pub fn text<'a>(field: &'static str, raw: &'a str, max: usize) -> Result<&'a str> {
    if raw.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} characters."),
        ));
    }
    Ok(raw)
}

/// A slug as sent ([`SLUG_PATTERN`], at most [`DOMAIN_SLUG_MAX`] characters), lower-cased.
pub fn slug(field: &'static str, raw: &str) -> Result<String> {
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok || raw.len() > DOMAIN_SLUG_MAX {
        return Err(Error::invalid(
            field,
            format!(
                "{field} may hold only letters, digits, `-`, `_` and `.`, must start with a letter or a digit, and be at most {DOMAIN_SLUG_MAX} characters."
            ),
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

/// A URL-safe slug from a name (`Acme Research` → `acme-research`).
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(48)
        .collect::<String>();
    if slug.is_empty() {
        "org".to_owned()
    } else {
        slug
    }
}

/// [`slugify`], with `fallback` for a name without a letter or digit.
pub fn slugify_or(name: &str, fallback: &str) -> String {
    if name.chars().any(|c| c.is_ascii_alphanumeric()) {
        slugify(name)
    } else {
        fallback.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@@b.co",
        ] {
            let field = email(bad).unwrap_err().body().error.param;
            assert_eq!(field.as_deref(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Acme Research, Inc."), "acme-research-inc");
        assert_eq!(slugify("!!!"), "org");
        assert_eq!(slugify_or("!!!", "kb"), "kb");
        assert_eq!(slugify_or("HR Policies", "kb"), "hr-policies");
        assert_eq!(slug("slug", "EU-AI.act_2").unwrap(), "eu-ai.act_2");
        for bad in ["", ".", "..", "-a", "a b", "a/b", "é", "~x"] {
            assert!(slug("slug", bad).is_err(), "{bad:?}");
        }
    }

    /// Strings matching `pattern` (whole-string: proptest's generator takes no anchors).
    fn generated(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
        let whole = pattern.trim_start_matches('^').trim_end_matches('$');
        proptest::string::string_regex(whole).expect("a pattern proptest can generate from")
    }

    proptest::proptest! {
        /// Emails, names and slugs come from clients: none panics; failures name their field.
        #[test]
        fn no_input_panics(raw in proptest::prelude::any::<String>()) {
            if let Err(e) = email(&raw) {
                proptest::prop_assert_eq!(e.body().error.param, Some("email".to_owned()));
            }
            if let Ok(name) = name("name", &raw, 5) {
                proptest::prop_assert!(name.chars().count() <= 5);
            }
            let slug = slugify(&raw);
            proptest::prop_assert!(!slug.is_empty() && slug.chars().count() <= 48);
        }

        /// Whatever the document's email pattern allows, `email` accepts.
        #[test]
        fn documented_emails_are_accepted(raw in generated(EMAIL_PATTERN)) {
            if raw.chars().count() <= EMAIL_MAX {
                proptest::prop_assert!(email(&raw).is_ok(), "{:?}", raw);
            }
        }

        /// Whatever the document's image pattern allows, the chat accepts.
        #[test]
        fn documented_images_are_accepted(raw in generated(IMAGE_PATTERN)) {
            proptest::prop_assert!(
                crate::services::chat::images::validate(std::slice::from_ref(&raw)).is_ok(),
                "{:?}", raw
            );
        }

        /// The document's pattern and length for names accept exactly what `name` accepts,
        /// so a client that follows the document is never refused (and the reverse).
        #[test]
        fn name_pattern_is_the_validator(
            raw in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[ \\t\\n\\x00-\\x1f\\x7f-\\x9f\\u{a0}\\u{2028}\\u{3000}a-c]{0,12}",
            ],
        ) {
            let pattern = regex::Regex::new(NAME_PATTERN).map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            let documented = pattern.is_match(&raw) && raw.chars().count() <= 10;
            proptest::prop_assert_eq!(name("name", &raw, 10).is_ok(), documented, "{:?}", raw);
        }

        /// The document's slug pattern and length accept exactly what `slug` accepts, and a
        /// made-up slug always passes it.
        #[test]
        fn slug_pattern_is_the_validator(
            raw in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[a-zA-Z0-9._~ /-]{0,110}",
            ],
        ) {
            let pattern = regex::Regex::new(SLUG_PATTERN).map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            let documented = pattern.is_match(&raw) && raw.chars().count() <= DOMAIN_SLUG_MAX;
            proptest::prop_assert_eq!(slug("slug", &raw).is_ok(), documented, "{:?}", raw);
            proptest::prop_assert!(slug("slug", &slugify_or(&raw, "kb")).is_ok());
        }
    }
}
