//! JWT access tokens: HS256 with the instance's signing key; the algorithm is pinned (never taken
//! from the token), and `exp`, `nbf`, `iss`, `aud` and `sub` are required and checked.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "aerie";
pub const AUDIENCE: &str = "aerie-api";
/// Lifetime of an access token.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The organisation the token acts in.
    pub org: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub token_type: String,
}

/// Signs an access token for `user` in `org`, valid from `now` for [`ACCESS_TTL_SECS`].
pub fn issue(key: &SecretString, user: Uuid, org: Uuid, now: DateTime<Utc>) -> Option<String> {
    let claims = Claims {
        sub: user,
        org,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: now.timestamp() + ACCESS_TTL_SECS,
        jti: Uuid::new_v4(),
        token_type: "access".to_owned(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.expose_secret().as_bytes()),
    )
    .ok()
}

/// Verifies signature, algorithm, issuer, audience, expiry and not-before.
pub fn verify(key: &SecretString, token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.expose_secret().as_bytes()),
        &validation,
    )
    .ok()?;
    (data.claims.token_type == "access").then_some(data.claims)
}

/// True when the string looks like a JWT (three base64url parts, JSON header).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.matches('.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn key() -> SecretString {
        SecretString::from("k".repeat(64))
    }

    #[test]
    fn round_trip_and_rejections() {
        let (user, org) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        let token = issue(&key(), user, org, now).unwrap();
        assert!(looks_like_jwt(&token));
        let claims = verify(&key(), &token).unwrap();
        assert_eq!((claims.sub, claims.org), (user, org));

        // Wrong key.
        assert!(verify(&SecretString::from("x".repeat(64)), &token).is_none());
        // Expired long ago.
        let old = issue(&key(), user, org, now - chrono::Duration::hours(2)).unwrap();
        assert!(verify(&key(), &old).is_none());
        // Not valid yet.
        let future = issue(&key(), user, org, now + chrono::Duration::hours(2)).unwrap();
        assert!(verify(&key(), &future).is_none());
        // Tampered payload.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","org":"{}"}}"#,
            Uuid::new_v4(),
            org
        ));
        parts[1] = &forged;
        assert!(verify(&key(), &parts.join(".")).is_none());
    }

    #[test]
    fn alg_none_is_refused() {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"none","typ":"JWT"}"#);
        let now = Utc::now().timestamp();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","org":"{}","iss":"aerie","aud":"aerie-api","iat":{now},"nbf":{now},"exp":{},"jti":"{}","token_type":"access"}}"#,
            Uuid::new_v4(), Uuid::new_v4(), now + 600, Uuid::new_v4()
        ));
        assert!(verify(&key(), &format!("{header}.{payload}.")).is_none());
    }
}
