//! The instance's licence (docs/LICENSING.md): Community without one; a licence is a JWT signed
//! by the licensor with Ed25519 and verified with the public key of `AERIE_LICENSE_PUBLIC_KEY`
//! (the algorithm pinned, never taken from the token; `exp`, `aud`, `iss` and `sub` required).
//! The applied licence is stored in `instance_settings` and verified again whenever it is read,
//! so an instance sharing the database follows an apply or removal within [`TTL`], and an
//! expired licence falls back to Community on its own.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::audit::{self, Event};
use super::operator::Operator;
use crate::actor::Actor;
use crate::store;
use crate::{AppContext, Error, Result};
use aerie_contract::ErrorCode;
use aerie_contract::license::{LicenseLimits, LicenseState, LicenseStatus};
use aerie_contract::{LicenseFeature, LicenseTier};

/// How long the applied licence is cached.
const TTL: Duration = Duration::from_secs(10);
/// The `instance_settings` row of the licence.
const SETTING: &str = "license";
/// The longest licence key accepted.
const MAX_LEN: usize = 16 * 1024;

/// The verifying key and the cached licence.
#[derive(Default)]
pub struct Licensing {
    key: OnceLock<std::result::Result<DecodingKey, String>>,
    cache: Mutex<Option<(Arc<Applied>, Instant)>>,
}

/// A licence's claims beyond the registered ones.
#[derive(Clone, Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
    tier: LicenseTier,
    /// Features beyond the tier's; unknown names are ignored (a newer licensor may name
    /// features this build does not have).
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    limits: LicenseLimits,
}

/// What is stored, read back: nothing, a licence that verifies, or one that no longer does.
#[derive(Debug, Default)]
enum Applied {
    #[default]
    None,
    Valid(Claims),
    Invalid(String),
}

/// The tier, features and limits in force.
#[derive(Clone, Debug)]
pub struct InForce {
    pub tier: LicenseTier,
    pub features: Vec<LicenseFeature>,
    pub limits: LicenseLimits,
}

impl InForce {
    fn community() -> Self {
        Self {
            tier: LicenseTier::Community,
            features: Vec::new(),
            limits: LicenseLimits::default(),
        }
    }

    fn of(c: &Claims) -> Self {
        let mut features: Vec<LicenseFeature> = LicenseFeature::ALL
            .iter()
            .copied()
            .filter(|f| f.tier() <= c.tier)
            .collect();
        for name in &c.features {
            if let Ok(f) = name.parse::<LicenseFeature>()
                && !features.contains(&f)
            {
                features.push(f);
            }
        }
        Self {
            tier: c.tier,
            features,
            limits: c.limits.clone(),
        }
    }
}

fn decoding_key(ctx: &AppContext) -> std::result::Result<&DecodingKey, String> {
    ctx.licensing()
        .key
        .get_or_init(|| parse_key(&ctx.config().license_public_key))
        .as_ref()
        .map_err(Clone::clone)
}

/// The configured key: PEM text, or the path of a file holding it.
fn parse_key(setting: &str) -> std::result::Result<DecodingKey, String> {
    let setting = setting.trim();
    if setting.is_empty() {
        return Err("This instance has no licence key configured (AERIE_LICENSE_PUBLIC_KEY), so it cannot verify licences.".to_owned());
    }
    let pem = if setting.starts_with("-----BEGIN") {
        setting.to_owned()
    } else {
        std::fs::read_to_string(setting).map_err(|e| {
            tracing::error!(path = setting, error = %e, "reading the licence public key failed");
            "The configured licence key (AERIE_LICENSE_PUBLIC_KEY) could not be read.".to_owned()
        })?
    };
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
        tracing::error!(error = %e, "the licence public key is not an Ed25519 public key in PEM");
        "The configured licence key (AERIE_LICENSE_PUBLIC_KEY) is not an Ed25519 public key in PEM."
            .to_owned()
    })?;
    // jsonwebtoken takes an Ed25519 key as its 32 raw bytes.
    Ok(DecodingKey::from_ed_der(key.as_bytes()))
}

/// Verifies `token` as a licence of this instance. With `check_expiry` false, an expired
/// licence still verifies (to show what expired).
fn verify(
    ctx: &AppContext,
    token: &str,
    check_expiry: bool,
) -> std::result::Result<Claims, String> {
    let config = ctx.config();
    verify_with(
        decoding_key(ctx)?,
        &config.license_audience,
        &config.license_issuer,
        token,
        check_expiry,
    )
}

/// [`verify`] with the key, audience and issuer (empty: any) given.
fn verify_with(
    key: &DecodingKey,
    audience: &str,
    issuer: &str,
    token: &str,
    check_expiry: bool,
) -> std::result::Result<Claims, String> {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[audience]);
    if !issuer.is_empty() {
        v.set_issuer(&[issuer]);
    }
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    v.validate_nbf = true;
    v.validate_exp = check_expiry;
    v.leeway = 0;
    match jsonwebtoken::decode::<Claims>(token, key, &v) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => {
                "The licence's signature does not verify with this instance's licence key: it was not issued for this instance, or it was altered.".to_owned()
            }
            ErrorKind::ExpiredSignature => "The licence has expired.".to_owned(),
            ErrorKind::ImmatureSignature => "The licence is not valid yet (nbf).".to_owned(),
            ErrorKind::InvalidAudience => format!(
                "The licence is for another audience: this instance accepts aud \"{audience}\"."
            ),
            ErrorKind::InvalidIssuer => format!(
                "The licence was issued by another issuer: this instance accepts iss \"{issuer}\"."
            ),
            ErrorKind::MissingRequiredClaim(c) => format!("The licence has no `{c}` claim."),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                "Licences must be signed with EdDSA (Ed25519).".to_owned()
            }
            ErrorKind::Json(e) => format!("The licence's claims are not valid: {e}."),
            _ => "This is not a licence key: expected a signed JWT (three base64url parts)."
                .to_owned(),
        }),
    }
}

/// The stored licence, verified (cached for [`TTL`]).
async fn applied(ctx: &AppContext) -> Result<Arc<Applied>> {
    if let Ok(cache) = ctx.licensing().cache.lock()
        && let Some((a, at)) = cache.as_ref()
        && at.elapsed() < TTL
    {
        return Ok(a.clone());
    }
    let a = Arc::new(
        match store::settings::get_global(ctx.db(), SETTING).await? {
            None => Applied::None,
            Some(row) => match verify(ctx, &row.value, false) {
                Ok(c) => Applied::Valid(c),
                Err(reason) => Applied::Invalid(reason),
            },
        },
    );
    remember(ctx, a.clone());
    Ok(a)
}

fn remember(ctx: &AppContext, a: Arc<Applied>) {
    if let Ok(mut cache) = ctx.licensing().cache.lock() {
        *cache = Some((a, Instant::now()));
    }
}

fn expired(c: &Claims, now: DateTime<Utc>) -> bool {
    c.exp <= now.timestamp()
}

/// The tier, features and limits in force now.
pub async fn in_force(ctx: &AppContext) -> Result<InForce> {
    Ok(match &*applied(ctx).await? {
        Applied::Valid(c) if !expired(c, Utc::now()) => InForce::of(c),
        _ => InForce::community(),
    })
}

/// The tier in force (`/api/health`); Community when the licence cannot be read.
pub async fn tier(ctx: &AppContext) -> LicenseTier {
    in_force(ctx)
        .await
        .map_or(LicenseTier::Community, |f| f.tier)
}

/// 402 naming the tier that unlocks `feature` when the instance's tier does not include it.
pub async fn require(ctx: &AppContext, feature: LicenseFeature) -> Result<()> {
    let f = in_force(ctx).await?;
    if f.features.contains(&feature) {
        return Ok(());
    }
    Err(Error::detailed(
        ErrorCode::LicenseRequired,
        format!(
            "{} needs the {} licence tier or above; this instance runs {}.",
            feature.describe(),
            feature.tier().title(),
            f.tier.title()
        ),
    ))
}

/// 402 when the licence's limit of `what` is reached (checked before a new account or
/// organisation is made).
pub async fn room_for(ctx: &AppContext, what: Seat) -> Result<()> {
    let f = in_force(ctx).await?;
    let (limit, noun) = match what {
        Seat::User => (f.limits.users, "people"),
        Seat::Organization => (f.limits.organizations, "organisations"),
    };
    let Some(n) = limit else {
        return Ok(());
    };
    let count = match what {
        Seat::User => store::users::count_global(ctx.db()).await?,
        Seat::Organization => store::orgs::count_global(ctx.db()).await?,
    };
    if i64::try_from(count).unwrap_or(i64::MAX) >= n {
        return Err(Error::detailed(
            ErrorCode::LicenseRequired,
            format!(
                "The {} licence of this instance allows {n} {noun}, and all are taken; a licence for more unlocks it.",
                f.tier.title()
            ),
        ));
    }
    Ok(())
}

/// What a licence may cap.
#[derive(Clone, Copy, Debug)]
pub enum Seat {
    User,
    Organization,
}

/// `GET /api/license/status`: anyone signed in reads the tier, its features and limits; whom
/// the licence was issued to and its id are the operator's to see (a tenant of a hosted
/// instance learns nothing of its host's contract).
pub async fn status(ctx: &AppContext, actor: &Actor) -> Result<LicenseStatus> {
    actor.principal()?;
    let mut s = current(ctx).await?;
    if !super::operator::is_operator(ctx, actor).await? {
        s.licensee = None;
        s.license_id = None;
    }
    Ok(s)
}

/// Where the licence stands (the command line; [`status`] for callers over HTTP).
pub async fn current(ctx: &AppContext) -> Result<LicenseStatus> {
    let now = Utc::now();
    let a = applied(ctx).await?;
    let configured = decoding_key(ctx).is_ok();
    let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0);
    Ok(match &*a {
        Applied::None => community_status(LicenseState::None, None, configured),
        Applied::Invalid(reason) => {
            community_status(LicenseState::Expired, Some(reason.clone()), configured)
        }
        Applied::Valid(c) => {
            let lapsed = expired(c, now);
            let f = if lapsed {
                InForce::community()
            } else {
                InForce::of(c)
            };
            LicenseStatus {
                tier: f.tier,
                state: if lapsed {
                    LicenseState::Expired
                } else {
                    LicenseState::Active
                },
                features: f.features,
                limits: f.limits,
                licensee: Some(c.sub.clone()),
                license_id: c.jti.clone(),
                issued_at: c.iat.and_then(at),
                expires_at: at(c.exp),
                reason: lapsed.then(|| "The licence has expired.".to_owned()),
                verification_configured: configured,
            }
        }
    })
}

fn community_status(
    state: LicenseState,
    reason: Option<String>,
    configured: bool,
) -> LicenseStatus {
    let f = InForce::community();
    LicenseStatus {
        tier: f.tier,
        state,
        features: f.features,
        limits: f.limits,
        licensee: None,
        license_id: None,
        issued_at: None,
        expires_at: None,
        reason,
        verification_configured: configured,
    }
}

/// `POST /api/license/apply` (the operator): verifies the licence — a bad signature, an expired
/// licence or another audience is a 400 with the reason — then stores it.
pub async fn apply(ctx: &AppContext, op: &Operator, license_key: &str) -> Result<LicenseStatus> {
    let token = license_key.trim();
    if token.is_empty() || token.len() > MAX_LEN {
        return Err(Error::invalid(
            "license_key",
            "license_key must be a licence key: a signed JWT of at most 16 KiB.",
        ));
    }
    let claims =
        verify(ctx, token, true).map_err(|reason| Error::invalid("license_key", reason))?;
    store::settings::put_global(ctx.db(), SETTING, token, op.user(), Utc::now()).await?;
    remember(ctx, Arc::new(Applied::Valid(claims.clone())));
    audit::record(
        ctx.db(),
        None,
        op.actor(),
        Event::new("license.applied").details(serde_json::json!({
            "tier": claims.tier.as_str(),
            "licensee": claims.sub,
            "license_id": claims.jti,
            "expires_at": DateTime::<Utc>::from_timestamp(claims.exp, 0),
        })),
    )
    .await?;
    current(ctx).await
}

/// `DELETE /api/license` (the operator): back to Community.
pub async fn remove(ctx: &AppContext, op: &Operator) -> Result<LicenseStatus> {
    let removed = store::settings::delete_global(ctx.db(), SETTING).await?;
    remember(ctx, Arc::new(Applied::None));
    if removed {
        audit::record(ctx.db(), None, op.actor(), Event::new("license.removed")).await?;
    }
    current(ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_holds_the_features_of_the_tiers_below() {
        let claims = |tier, features: &[&str]| Claims {
            sub: "Acme".to_owned(),
            exp: 0,
            iat: None,
            jti: None,
            tier,
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            limits: LicenseLimits::default(),
        };
        assert!(
            InForce::of(&claims(LicenseTier::Pro, &[]))
                .features
                .contains(&LicenseFeature::UsageExport)
        );
        assert!(
            InForce::of(&claims(LicenseTier::Enterprise, &[]))
                .features
                .contains(&LicenseFeature::UsageExport)
        );
        assert!(
            InForce::of(&claims(LicenseTier::Community, &[]))
                .features
                .is_empty()
        );
        // A licence may add a feature above its tier; unknown names are ignored.
        let f = InForce::of(&claims(
            LicenseTier::Community,
            &["usage_export", "teleport"],
        ));
        assert_eq!(f.features, vec![LicenseFeature::UsageExport]);
    }

    /// The tests' licensor key pair (server/tests/api/support/license.rs holds the same).
    const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA9q86Y5TEyIWUWhid7QOZkadCwTqq7GJYtsz+f7AgecU=\n-----END PUBLIC KEY-----\n";
    const PRIVATE_PKCS8: &str = "MC4CAQAwBQYDK2VwBCIEIDvxOjp/opjUnhaEdmaxzcJ1Dm4D+8iWBcZqKJWVOnFM";

    fn signed(claims: &serde_json::Value) -> String {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(PRIVATE_PKCS8)
            .unwrap_or_default();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::EdDSA),
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&der),
        )
        .unwrap_or_default()
    }

    fn a_licence() -> String {
        signed(&serde_json::json!({
            "iss": "x", "aud": "aerie", "sub": "Acme", "exp": Utc::now().timestamp() + 3600,
            "tier": "pro",
        }))
    }

    #[test]
    fn a_signed_licence_verifies_and_an_altered_one_does_not() {
        let key = parse_key(PUBLIC_KEY).expect("the test key");
        let token = a_licence();
        let claims = verify_with(&key, "aerie", "", &token, true).expect("verifies");
        assert_eq!(
            (claims.tier, claims.sub.as_str()),
            (LicenseTier::Pro, "Acme")
        );
        assert!(
            verify_with(&key, "aerie", "someone", &token, true)
                .is_err_and(|e| e.contains("issuer"))
        );
        assert!(
            verify_with(&key, "other", "", &token, true).is_err_and(|e| e.contains("audience"))
        );
    }

    proptest::proptest! {
        /// Whatever is sent as a licence, verification answers a reason and never panics; a
        /// licence with any one character changed never verifies.
        #[test]
        fn any_input_is_refused_cleanly(input in ".{0,300}", at in 0usize..400, c in proptest::char::any()) {
            let key = parse_key(PUBLIC_KEY).expect("the test key");
            proptest::prop_assert!(verify_with(&key, "aerie", "", &input, true).is_err());
            let token = a_licence();
            let mut chars: Vec<char> = token.chars().collect();
            // Not the signature's last character: some of its bits are padding.
            let i = at % chars.len().saturating_sub(1).max(1);
            if chars.get(i).is_some_and(|old| *old != c) {
                chars[i] = c;
                let altered: String = chars.into_iter().collect();
                proptest::prop_assert!(verify_with(&key, "aerie", "", &altered, true).is_err());
            }
        }
    }

    #[test]
    fn an_unset_or_unreadable_key_is_explained() {
        assert!(parse_key("").is_err_and(|e| e.contains("AERIE_LICENSE_PUBLIC_KEY")));
        assert!(
            parse_key("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----").is_err()
        );
        assert!(parse_key("/nonexistent/licence.pem").is_err());
    }
}
