//! Images sent with a chat message: base64 data URLs of common image types, bounded in number
//! and size, sent to vision models as OpenAI content parts.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Error, Result};

/// Images per message.
pub const MAX_IMAGES: usize = 8;
const MAX_BYTES: usize = 8 * 1024 * 1024;
const TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Checks every image; answers them unchanged.
pub fn validate(images: &[String]) -> Result<Vec<String>> {
    if images.len() > MAX_IMAGES {
        return Err(Error::invalid(
            "images",
            format!("At most {MAX_IMAGES} images per message."),
        ));
    }
    for (i, url) in images.iter().enumerate() {
        let bad = |why: &str| Error::invalid("images", format!("images[{i}] {why}"));
        let rest = url
            .strip_prefix("data:")
            .ok_or_else(|| bad("must be a data URL (data:image/png;base64,...)."))?;
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| bad("must be a data URL (data:image/png;base64,...)."))?;
        let mime = meta
            .strip_suffix(";base64")
            .ok_or_else(|| bad("must be base64-encoded (;base64,)."))?;
        if !TYPES.contains(&mime.to_ascii_lowercase().as_str()) {
            return Err(bad(&format!(
                "has type `{mime}`; accepted: {}.",
                TYPES.join(", ")
            )));
        }
        if data.len() / 4 * 3 > MAX_BYTES {
            return Err(bad(&format!(
                "is larger than {} MiB.",
                MAX_BYTES / 1024 / 1024
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| bad("is not valid base64."))?;
        if bytes.is_empty() {
            return Err(bad("is empty."));
        }
    }
    Ok(images.to_vec())
}

/// The user's message for the model: plain text, or text and image parts.
pub fn user_message(text: &str, images: &[String]) -> Value {
    if images.is_empty() {
        return json!({"role": "user", "content": text});
    }
    let mut parts = vec![json!({"type": "text", "text": text})];
    parts.extend(
        images
            .iter()
            .map(|url| json!({"type": "image_url", "image_url": {"url": url}})),
    );
    json!({"role": "user", "content": parts})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_images_and_names_the_problem_otherwise() {
        let png = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n")
        );
        assert!(validate(&[png]).is_ok());
        for (bad, why) in [
            ("http://example.com/a.png", "data URL"),
            ("data:text/plain;base64,aGk=", "type"),
            ("data:image/png;base64,@@@", "base64"),
            ("data:image/png,raw", "base64-encoded"),
        ] {
            let e = validate(&[bad.to_owned()]).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let huge = format!("data:image/png;base64,{}", "A".repeat(12 * 1024 * 1024));
        assert!(
            validate(&[huge])
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
    }

    proptest::proptest! {
        /// Image strings come from the client: none panics, a refusal names `images`.
        #[test]
        fn no_image_string_panics(
            raw in proptest::prelude::any::<String>(),
            data_url in "data:(image/png|IMAGE/webp|é|)(;base64)?,[A-Za-z0-9+/=é ]{0,12}",
        ) {
            for url in [raw, data_url] {
                if let Err(e) = validate(std::slice::from_ref(&url)) {
                    proptest::prop_assert_eq!(e.body().error.param, Some("images".to_owned()));
                }
            }
        }
    }
}
