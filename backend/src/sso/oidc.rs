//! OpenID Connect and plain OAuth 2 (GitHub, Nextcloud) as a client: discovery, the
//! authorization request (code + PKCE S256 + state + nonce, built by the `oauth2` crate), the
//! code exchange over our guarded HTTP client, ID-token verification against the provider's JWKS
//! (key rotation: an unknown `kid` refetches the set), and the profile endpoints of the OAuth-only
//! providers. No database here: the service layer keeps the flow records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::net_guard::{Allow, GuardError, GuardedClient};

/// Largest response read from an identity provider.
const MAX_BODY: usize = 512 * 1024;
/// A JWKS is refetched at most this often when a token names an unknown key.
const JWKS_REFRESH: Duration = Duration::from_secs(30);
/// A JWKS is trusted this long before it is fetched again anyway.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// Why a login through a provider failed. `reason` is a stable snake_case code for the audit
/// log; the message says what happened.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The provider's answer or the browser's request was refused (an attack, or a
    /// misconfiguration the user cannot fix).
    #[error("{message}")]
    Refused {
        reason: &'static str,
        message: String,
    },
    /// The provider could not be reached or answered something unusable.
    #[error("{0}")]
    Upstream(String),
    /// The configuration is wrong (said how to fix it).
    #[error("{0}")]
    Config(String),
}

impl SsoError {
    pub fn refused(reason: &'static str, message: impl Into<String>) -> Self {
        SsoError::Refused {
            reason,
            message: message.into(),
        }
    }

    /// The audit reason.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoError::Refused { reason, .. } => reason,
            SsoError::Upstream(_) => "provider_unreachable",
            SsoError::Config(_) => "misconfigured",
        }
    }
}

/// How a provider proves who signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// An ID token (Google, Microsoft, any OIDC issuer).
    Oidc,
    /// GitHub: the user and their verified primary email from its REST API.
    GitHub,
    /// Nextcloud: the user from its OCS API.
    Nextcloud,
}

/// Where a provider's endpoints are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub authorization_url: String,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
    /// GitHub's API base (`https://api.github.com`) or Nextcloud's base URL.
    pub api_base: Option<String>,
}

/// The fields of a discovery document we use.
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
}

/// The guarded HTTP client every request to an identity provider goes through (discovery, JWKS,
/// token, userinfo, GitHub's and Nextcloud's APIs, SAML metadata): each URL is checked before it
/// is requested, IP literals and names alike, and so is every redirect (see
/// `backend/src/net_guard.rs`). `allow` is what it may reach beyond public addresses.
pub fn http_client(allow: impl Into<Allow>) -> Result<GuardedClient, SsoError> {
    GuardedClient::new(allow, Duration::from_secs(10), true)
        .map_err(|e| SsoError::Config(format!("cannot build an HTTP client: {e}")))
}

/// A refused URL: the stored configuration points where the server must not go.
fn refused_url(url: &str, e: &GuardError) -> SsoError {
    SsoError::Config(format!("{url}: {e}"))
}

fn describe(e: &reqwest::Error) -> String {
    crate::net_guard::refusal_message(e).unwrap_or_else(|| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "could not connect".to_owned()
        } else {
            e.to_string()
        }
    })
}

/// GETs `url` through the guard (size-capped), with an optional bearer token; the body of a
/// successful answer.
async fn get(
    http: &GuardedClient,
    url: &str,
    accept: &str,
    bearer: Option<&str>,
) -> Result<Vec<u8>, SsoError> {
    let mut request = http
        .request(reqwest::Method::GET, url)
        .map_err(|e| refused_url(url, &e))?
        .header("accept", accept)
        .header("user-agent", "Aerie");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    // Nextcloud's OCS API wants this header.
    request = request.header("ocs-apirequest", "true");
    let response = request
        .send()
        .await
        .map_err(|e| SsoError::Upstream(format!("{url}: {}", describe(&e))))?;
    let status = response.status();
    let bytes = read_capped(response).await?;
    if !status.is_success() {
        return Err(SsoError::Upstream(format!("{url} answered HTTP {status}")));
    }
    Ok(bytes)
}

/// GETs JSON from `url` (guarded, size-capped), with an optional bearer token.
pub async fn get_json(
    http: &GuardedClient,
    url: &str,
    bearer: Option<&str>,
) -> Result<Value, SsoError> {
    let bytes = get(http, url, "application/json", bearer).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SsoError::Upstream(format!("{url} did not answer JSON: {e}")))
}

/// GETs an XML document from `url` (guarded, size-capped): a SAML IdP's metadata.
#[cfg(feature = "saml")]
pub async fn get_xml(http: &GuardedClient, url: &str) -> Result<String, SsoError> {
    let bytes = get(
        http,
        url,
        "application/samlmetadata+xml, application/xml, text/xml",
        None,
    )
    .await?;
    String::from_utf8(bytes)
        .map_err(|_| SsoError::Upstream(format!("{url} did not answer UTF-8 text")))
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, SsoError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SsoError::Upstream(describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(SsoError::Upstream(
                "the identity provider's answer is too large".to_owned(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Fetches `{issuer}/.well-known/openid-configuration` and checks it names the same issuer.
pub async fn discover(http: &GuardedClient, issuer: &str) -> Result<Discovery, SsoError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = get_json(http, &url, None).await.map_err(|e| {
        SsoError::Config(format!(
            "OpenID discovery failed ({e}); check the issuer URL, or enter the endpoints by hand"
        ))
    })?;
    let discovery: Discovery = serde_json::from_value(doc).map_err(|e| {
        SsoError::Config(format!(
            "{url} is not an OpenID discovery document ({e}); check the issuer URL"
        ))
    })?;
    // Microsoft's multi-tenant documents carry a `{tenantid}` template.
    let same = discovery.issuer.trim_end_matches('/') == issuer.trim_end_matches('/')
        || discovery.issuer.contains("{tenantid}");
    if !same {
        return Err(SsoError::Config(format!(
            "the discovery document names issuer {} instead of {issuer}; use that issuer URL",
            discovery.issuer
        )));
    }
    Ok(discovery)
}

/// The ID-token field of an OIDC token response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type OidcTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OidcClient = Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The client half of a provider's configuration.
#[derive(Clone)]
pub struct ClientConfig<'a> {
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub flavor: Flavor,
}

fn client(endpoints: &Endpoints, config: &ClientConfig<'_>) -> Result<OidcClient, SsoError> {
    let bad =
        |what: &str, e: url::ParseError| SsoError::Config(format!("{what} is not a URL: {e}"));
    let mut client = Client::new(ClientId::new(config.client_id.to_owned()))
        .set_auth_uri(
            AuthUrl::new(endpoints.authorization_url.clone())
                .map_err(|e| bad("the authorization URL", e))?,
        )
        .set_token_uri(
            TokenUrl::new(endpoints.token_url.clone()).map_err(|e| bad("the token URL", e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(config.redirect_uri.to_owned())
                .map_err(|e| bad("the redirect URI", e))?,
        );
    if let Some(secret) = config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
    }
    // GitHub and Nextcloud expect the client credentials in the form body.
    if config.flavor != Flavor::Oidc {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    Ok(client)
}

/// An authorization request to send the browser to, and the secrets to keep until the callback.
pub struct AuthRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Builds the authorization URL: code flow, PKCE S256, a fresh `state` and (OIDC) `nonce`.
pub fn authorization_request(
    endpoints: &Endpoints,
    config: &ClientConfig<'_>,
    scopes: &[String],
    extra: &[(&str, &str)],
) -> Result<AuthRequest, SsoError> {
    let client = client(endpoints, config)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if config.flavor == Flavor::Oidc {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    for (k, v) in extra {
        request = request.add_extra_param(*k, *v);
    }
    let (url, state) = request.url();
    Ok(AuthRequest {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce,
        pkce_verifier: verifier.secret().clone(),
    })
}

/// What the token endpoint answered.
pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
}

async fn send(http: GuardedClient, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    let mut builder = http
        .request(parts.method, &url)
        .map_err(|e| HttpError(refused_url(&url, &e).to_string()))?;
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(describe(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = read_capped(response)
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut out = axum::http::Response::builder().status(status);
    if let Some(h) = out.headers_mut() {
        *h = headers;
    }
    out.body(bytes).map_err(|e| HttpError(e.to_string()))
}

/// A transport failure of the token request.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// Exchanges the authorization code (with the PKCE verifier) for tokens.
pub async fn exchange_code(
    http: &GuardedClient,
    endpoints: &Endpoints,
    config: &ClientConfig<'_>,
    code: &str,
    pkce_verifier: &str,
) -> Result<Tokens, SsoError> {
    let client = client(endpoints, config)?;
    let transport = |request: HttpRequest| send(http.clone(), request);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&transport)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => SsoError::refused(
                "token_exchange_failed",
                format!(
                    "the identity provider refused the authorization code: {}{}",
                    r.error(),
                    r.error_description()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ),
            RequestTokenError::Request(e) => {
                SsoError::Upstream(format!("the token endpoint failed: {e}"))
            }
            RequestTokenError::Parse(e, _) => SsoError::Upstream(format!(
                "the token endpoint answered something unusable: {e}"
            )),
            RequestTokenError::Other(e) => SsoError::Upstream(e),
        })?;
    Ok(Tokens {
        access_token: response.access_token().secret().clone(),
        id_token: response.extra_fields().id_token.clone(),
    })
}

/// The signing algorithms accepted in ID tokens: asymmetric, SHA-256 or better.
const ALLOWED_ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Which issuer an ID token must name.
#[derive(Clone, Debug)]
pub enum IssuerRule {
    /// Exactly this issuer.
    Exact(String),
    /// Microsoft's multi-tenant template (`https://login.microsoftonline.com/{tenantid}/v2.0`):
    /// the token's `tid` filled in must give its `iss`; `tenant`, when a tenant id, must match.
    Microsoft {
        template: String,
        tenant: Option<String>,
    },
}

/// What an ID token must satisfy.
pub struct IdTokenExpect<'a> {
    pub issuer: &'a IssuerRule,
    pub audience: &'a str,
    pub nonce: &'a str,
}

/// JWKS documents by URL, refetched on an unknown `kid` (key rotation) at most every 30 s.
#[derive(Default)]
pub struct JwksCache {
    sets: Mutex<HashMap<String, (JwkSet, Instant)>>,
}

impl JwksCache {
    fn cached(&self, url: &str) -> Option<(JwkSet, Instant)> {
        self.sets
            .lock()
            .ok()
            .and_then(|sets| sets.get(url).cloned())
    }

    async fn fetch(&self, http: &GuardedClient, url: &str) -> Result<JwkSet, SsoError> {
        let doc = get_json(http, url, None).await?;
        let set: JwkSet = serde_json::from_value(doc)
            .map_err(|e| SsoError::Upstream(format!("{url} is not a JWK set: {e}")))?;
        if let Ok(mut sets) = self.sets.lock() {
            sets.insert(url.to_owned(), (set.clone(), Instant::now()));
        }
        Ok(set)
    }

    /// The key named `kid` (or the only signing key when the token names none).
    async fn key(
        &self,
        http: &GuardedClient,
        url: &str,
        kid: Option<&str>,
    ) -> Result<Jwk, SsoError> {
        let pick = |set: &JwkSet| -> Option<Jwk> {
            match kid {
                Some(kid) => set.find(kid).cloned(),
                None => {
                    let signing: Vec<&Jwk> = set
                        .keys
                        .iter()
                        .filter(|k| {
                            !matches!(
                                k.common.public_key_use,
                                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
                            )
                        })
                        .collect();
                    (signing.len() == 1).then(|| signing[0].clone())
                }
            }
        };
        let cached = self.cached(url);
        if let Some((set, at)) = &cached
            && at.elapsed() < JWKS_TTL
        {
            if let Some(key) = pick(set) {
                return Ok(key);
            }
            // An unknown key: the provider may have rotated, but refetch at most every 30 s.
            if at.elapsed() < JWKS_REFRESH {
                return Err(unknown_key(kid));
            }
        }
        let set = self.fetch(http, url).await?;
        pick(&set).ok_or_else(|| unknown_key(kid))
    }
}

fn unknown_key(kid: Option<&str>) -> SsoError {
    SsoError::refused(
        "bad_signature",
        format!(
            "the ID token is signed by a key the provider does not publish ({})",
            kid.map(|k| format!("kid {k}"))
                .unwrap_or_else(|| "no kid".to_owned())
        ),
    )
}

/// The algorithm a JWK is used with: its `alg`, or the one its key type implies.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return Algorithm::try_from(alg).ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// An octet key pair's `x` is an Ed25519 key's 32 bytes (jsonwebtoken slices the first 32 of
/// it while verifying, and would panic on fewer); other key types pass.
fn okp_is_ed25519_sized(jwk: &Jwk) -> bool {
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) => URL_SAFE_NO_PAD
            .decode(p.x.trim_end_matches('='))
            .is_ok_and(|x| x.len() == 32),
        _ => true,
    }
}

/// The `alg` and `kid` of a JWT's header, read without trusting it.
fn header_of(token: &str) -> Result<(String, Option<String>), SsoError> {
    let malformed = || SsoError::refused("malformed_token", "the ID token is not a JWT");
    let header = token.split('.').next().ok_or_else(malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let alg = value
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(malformed)?
        .to_owned();
    let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

/// Verifies an ID token: an allow-listed asymmetric algorithm that matches the provider's key
/// (never chosen by the token alone), the signature against the provider's JWKS, then issuer,
/// audience (and `azp` when several), `exp`/`nbf`/`iat`, and the nonce. Returns its claims.
pub async fn verify_id_token(
    http: &GuardedClient,
    jwks: &JwksCache,
    jwks_url: &str,
    token: &str,
    expect: &IdTokenExpect<'_>,
) -> Result<Map<String, Value>, SsoError> {
    let (alg_name, kid) = header_of(token)?;
    let alg = allowed_algorithm(&alg_name)?;
    let jwk = jwks.key(http, jwks_url, kid.as_deref()).await?;
    if algorithm_of(&jwk) != Some(alg) {
        return Err(SsoError::refused(
            "alg_not_allowed",
            format!("the ID token says {alg_name}, which does not match the provider's key"),
        ));
    }
    if !okp_is_ed25519_sized(&jwk) {
        return Err(SsoError::Upstream(
            "the provider published an Ed25519 key that is not 32 bytes".to_owned(),
        ));
    }
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| SsoError::Upstream(format!("the provider published an unusable key: {e}")))?;
    let validation = validation_for(alg, expect);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(token_refusal)?;
    let claims = data.claims;
    if let IssuerRule::Microsoft { template, tenant } = expect.issuer {
        check_microsoft_issuer(&claims, template, tenant.as_deref())?;
    }
    // With several audiences, the authorized party must be us.
    if let Some(Value::Array(auds)) = claims.get("aud")
        && auds.len() > 1
        && claims.get("azp").and_then(Value::as_str) != Some(expect.audience)
    {
        return Err(SsoError::refused(
            "wrong_audience",
            "the ID token was issued to another party (azp)",
        ));
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if nonce.is_empty() || !crate::crypto::hashes_match(nonce, expect.nonce) {
        return Err(SsoError::refused(
            "nonce_mismatch",
            "the ID token's nonce does not match this sign-in",
        ));
    }
    Ok(claims)
}

/// The algorithm a token's header names, when it is one of [`ALLOWED_ALGS`].
fn allowed_algorithm(alg_name: &str) -> Result<Algorithm, SsoError> {
    ALLOWED_ALGS
        .iter()
        .copied()
        .find(|a| format!("{a:?}") == alg_name)
        .ok_or_else(|| {
            SsoError::refused(
                "alg_not_allowed",
                format!(
                    "the ID token's algorithm {alg_name:?} is not accepted (RS256, PS256, ES256 or EdDSA expected)"
                ),
            )
        })
}

/// What `jsonwebtoken` checks: the algorithm, audience, required claims, `exp`/`nbf` with
/// leeway, and an exact issuer (Microsoft's is checked once `tid` is known).
fn validation_for(alg: Algorithm, expect: &IdTokenExpect<'_>) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_audience(&[expect.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    match expect.issuer {
        IssuerRule::Exact(iss) => validation.set_issuer(&[iss]),
        // Checked by `check_microsoft_issuer`, once `tid` is known.
        IssuerRule::Microsoft { .. } => validation.iss = None,
    }
    validation
}

/// A token `jsonwebtoken` refused, as the refusal to audit.
fn token_refusal(e: jsonwebtoken::errors::Error) -> SsoError {
    use jsonwebtoken::errors::ErrorKind as K;
    let (reason, message) = match e.kind() {
        K::InvalidSignature => (
            "bad_signature",
            "the ID token's signature does not verify".to_owned(),
        ),
        K::ExpiredSignature => ("expired", "the ID token has expired".to_owned()),
        K::ImmatureSignature => ("not_yet_valid", "the ID token is not valid yet".to_owned()),
        K::InvalidIssuer => (
            "wrong_issuer",
            "the ID token was issued by another issuer".to_owned(),
        ),
        K::InvalidAudience => (
            "wrong_audience",
            "the ID token is meant for another client".to_owned(),
        ),
        K::InvalidAlgorithm => (
            "alg_not_allowed",
            "the ID token's algorithm does not match the key".to_owned(),
        ),
        K::MissingRequiredClaim(c) => (
            "malformed_token",
            format!("the ID token lacks the {c} claim"),
        ),
        other => (
            "malformed_token",
            format!("the ID token is not valid: {other:?}"),
        ),
    };
    SsoError::refused(reason, message)
}

/// Microsoft's multi-tenant issuer: the template with the token's `tid` must be its `iss`, and
/// a configured tenant id (a UUID) must be that `tid`.
fn check_microsoft_issuer(
    claims: &Map<String, Value>,
    template: &str,
    tenant: Option<&str>,
) -> Result<(), SsoError> {
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if tid.is_empty() || template.replace("{tenantid}", tid) != iss {
        return Err(SsoError::refused(
            "wrong_issuer",
            "the ID token's issuer does not match its tenant",
        ));
    }
    if let Some(tenant) = tenant.filter(|t| uuid::Uuid::parse_str(t).is_ok())
        && !tenant.eq_ignore_ascii_case(tid)
    {
        return Err(SsoError::refused(
            "wrong_tenant",
            "the account belongs to another Microsoft tenant",
        ));
    }
    Ok(())
}

/// Who signed in, as the provider says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalProfile {
    /// The provider's stable id for the account (`sub`, GitHub's numeric id, Nextcloud's uid).
    pub subject: String,
    pub email: Option<String>,
    /// What the provider says of the email: `Some(true)` verified, `Some(false)` not verified,
    /// `None` it makes no statement (SAML attributes, Nextcloud's profile, an ID token without
    /// `email_verified`). Only `Some(true)`, or a provider an organisation marked authoritative
    /// for the domain, counts as proof of the address.
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// A profile from verified ID-token claims. `email_verified` is verified only when literally true
/// (some providers send the string "true"); absent, the provider made no statement.
pub fn profile_from_claims(
    claims: &Map<String, Value>,
    groups_claim: Option<&str>,
) -> Result<ExternalProfile, SsoError> {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SsoError::refused("malformed_token", "the ID token has no subject"))?
        .to_owned();
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let email_verified = match claims.get("email_verified") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true"),
        Some(_) => Some(false),
    };
    let name = claims
        .get("name")
        .or_else(|| claims.get("preferred_username"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(ExternalProfile {
        subject,
        email,
        email_verified,
        name,
        groups: groups_claim
            .map(|c| string_list(claims.get(c)))
            .unwrap_or_default(),
    })
}

/// GitHub: the account from `/user`, the email from `/user/emails` (primary and verified only).
pub async fn github_profile(
    http: &GuardedClient,
    api_base: &str,
    access_token: &str,
) -> Result<ExternalProfile, SsoError> {
    let base = api_base.trim_end_matches('/');
    let user = get_json(http, &format!("{base}/user"), Some(access_token)).await?;
    let subject = match user.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(SsoError::Upstream("GitHub's /user has no id".to_owned())),
    };
    let emails = get_json(http, &format!("{base}/user/emails"), Some(access_token)).await?;
    let primary = emails.as_array().and_then(|list| {
        list.iter()
            .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
    });
    let (email, email_verified) = match primary {
        Some(e) => (
            e.get("email")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_lowercase()),
            Some(e.get("verified").and_then(Value::as_bool) == Some(true)),
        ),
        None => (None, Some(false)),
    };
    Ok(ExternalProfile {
        subject,
        email,
        email_verified,
        name: user
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| user.get("login").and_then(Value::as_str))
            .map(str::to_owned),
        groups: Vec::new(),
    })
}

/// Nextcloud: the account from its OCS user endpoint. Nextcloud users may set their own email,
/// and Nextcloud does not say whether anyone verified it: the email is unattested (it counts
/// only where the organisation marked this provider authoritative for the domain).
pub async fn nextcloud_profile(
    http: &GuardedClient,
    base: &str,
    access_token: &str,
) -> Result<ExternalProfile, SsoError> {
    let url = format!(
        "{}/ocs/v2.php/cloud/user?format=json",
        base.trim_end_matches('/')
    );
    let doc = get_json(http, &url, Some(access_token)).await?;
    let data = doc
        .pointer("/ocs/data")
        .ok_or_else(|| SsoError::Upstream("Nextcloud's user endpoint has no data".to_owned()))?;
    let subject = data
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SsoError::Upstream("Nextcloud's user has no id".to_owned()))?
        .to_owned();
    let email = data
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    Ok(ExternalProfile {
        subject,
        email_verified: None,
        email,
        name: data
            .get("display-name")
            .or_else(|| data.get("displayname"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        groups: string_list(data.get("groups")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_ed25519_key_is_refused_before_it_reaches_jsonwebtoken() {
        let okp = |x: &str| -> Jwk {
            serde_json::from_value(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}))
                .expect("a JWK")
        };
        assert!(!okp_is_ed25519_sized(&okp("AAAA")));
        assert!(!okp_is_ed25519_sized(&okp("not base64 !")));
        assert!(okp_is_ed25519_sized(&okp(
            &URL_SAFE_NO_PAD.encode([7u8; 32])
        )));
    }

    #[test]
    fn header_alg_none_is_read_and_refused_by_the_allow_list() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let (alg, kid) = header_of(&format!("{header}.e30.")).unwrap_or_default();
        assert_eq!(alg, "none");
        assert_eq!(kid, None);
        assert!(!ALLOWED_ALGS.iter().any(|a| format!("{a:?}") == alg));
        assert!(ALLOWED_ALGS.iter().any(|a| format!("{a:?}") == "RS256"));
    }

    #[test]
    fn email_verified_must_be_true() {
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        claims.insert("email".into(), "A@Example.com".into());
        claims.insert("email_verified".into(), Value::Bool(false));
        let p = profile_from_claims(&claims, None).unwrap_or_default();
        assert_eq!(p.email.as_deref(), Some("a@example.com"));
        assert_eq!(p.email_verified, Some(false));
        claims.remove("email_verified");
        let p = profile_from_claims(&claims, None).unwrap_or_default();
        assert_eq!(p.email_verified, None, "no claim: no statement");
        claims.insert("email_verified".into(), Value::Bool(true));
        claims.insert("groups".into(), serde_json::json!(["eng", "ops"]));
        let p = profile_from_claims(&claims, Some("groups")).unwrap_or_default();
        assert_eq!(p.email_verified, Some(true));
        assert_eq!(p.groups, vec!["eng", "ops"]);
    }
}
