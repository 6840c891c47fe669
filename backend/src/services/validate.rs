//! Input checks shared by services; each error names its field.

use crate::{Error, Result};

/// Trims and lower-cases an email and checks its shape.
pub fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(Error::invalid("email", "email field is required."));
    }
    let valid = email.len() <= 320
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

/// A required, trimmed, bounded name.
pub fn name(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, format!("{field} field is required.")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} printable characters."),
        ));
    }
    Ok(value.to_owned())
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
    }
}
