//! Licences for tests: a licensor's Ed25519 key pair made for the tests (never a real one), and
//! licences signed with it or with a stranger's key.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The public half, as `AERIE_LICENSE_PUBLIC_KEY` holds it.
pub const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA9q86Y5TEyIWUWhid7QOZkadCwTqq7GJYtsz+f7AgecU=
-----END PUBLIC KEY-----
";

/// The licensor's private key (the tests' own), PKCS#8 DER in base64 (a PEM's body).
const LICENSOR: &str = "MC4CAQAwBQYDK2VwBCIEIDvxOjp/opjUnhaEdmaxzcJ1Dm4D+8iWBcZqKJWVOnFM";

/// Someone else's key: licences it signs must not verify.
pub const STRANGER: &str = "MC4CAQAwBQYDK2VwBCIEIH/s8gMEmYBCwShN1AgsXUP1mYvwRF2g0+Sny99i2OFZ";

/// The claims of a `tier` licence for Acme that expires `expires_in` seconds from now.
pub fn claims(tier: &str, expires_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "aerie-licensing",
        "aud": "aerie",
        "sub": "Acme Corp",
        "jti": "lic-0001",
        "iat": now,
        "exp": now + expires_in,
        "tier": tier,
    })
}

/// `claims` signed by the licensor.
pub fn sign(claims: &Value) -> String {
    sign_with(LICENSOR, claims)
}

/// `claims` signed with the Ed25519 private key `pkcs8` (base64 DER).
pub fn sign_with(pkcs8: &str, claims: &Value) -> String {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(pkcs8)
        .expect("base64");
    let key = EncodingKey::from_ed_der(&der);
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).expect("signed")
}
