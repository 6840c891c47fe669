//! Real identity providers on loopback for the single sign-on tests, each a child process of the
//! test that dies with it (`kill_on_drop`; the scripts also exit when their stdin pipe closes or
//! their parent dies):
//!
//! - [`OidcIdp`]: an OpenID Connect provider, `server/tests/idp/oidc_idp.py` (PyPI
//!   `oidc-provider-mock`, Flask + Authlib): discovery, JWKS (one RSA key, RS256), authorization
//!   code with PKCE S256 and nonce, claims chosen at the login form.
//! - [`SamlIdp`]: a SAML 2.0 IdP, `server/tests/idp/saml_idp.py` (pysaml2 + xmlsec1): metadata,
//!   HTTP-Redirect SSO with a login form, signed (optionally encrypted) Responses posted to the ACS,
//!   IdP-initiated Responses.
//!
//! Both run on the virtualenv `scripts/test` prepares (`$AERIE_TEST_PYTHON`, else
//! `~/.cache/aerie/venv/bin/python`), listen on 127.0.0.1 on a port they pick, and print
//! `READY <base URL>` once they serve. See `server/tests/idp/README.md`.

#![allow(dead_code, reason = "a toolkit: each SSO test uses part of it")]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How long a provider may take to print `READY` (Python start-up, key generation).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python that runs the providers: `$AERIE_TEST_PYTHON`, else the test virtualenv.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("AERIE_TEST_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    std::path::Path::new(&home).join(".cache/aerie/venv/bin/python")
}

fn script(name: &str) -> String {
    format!("{}/tests/idp/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A client for talking to the providers: no redirects followed, no proxy.
fn idp_client() -> reqwest::Client {
    aerie_backend::ensure_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// `application/x-www-form-urlencoded` for `pairs` (the test crate's reqwest has no `form`
/// feature): use as the body of a POST with that content type, e.g. to the ACS.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("url");
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    url.query().unwrap_or_default().to_owned()
}

/// The first value of query parameter `name` in `url` (e.g. `code`, `state` of a callback).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

type Logs = Arc<Mutex<String>>;

fn push_line(logs: &Logs, line: &str) {
    let mut logs = logs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    logs.push_str(line);
    logs.push('\n');
}

fn read_logs(logs: &Logs) -> String {
    logs.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Copies a child's output into `logs`, line by line, until it closes.
fn drain<R: AsyncRead + Unpin + Send + 'static>(reader: R, logs: Logs) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            push_line(&logs, &line);
        }
    });
}

/// Spawns `python <script> <args>` and waits for its `READY <base>` line: the child (stdin kept
/// open as a lifeline), its base URL and its collected stdout/stderr.
async fn spawn_ready(name: &str, args: &[String]) -> (Child, String, Logs) {
    let python = python();
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or `source scripts/lib.sh && python_packages`) to create the test Python environment",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(script(name))
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {} {name}: {e}", python.display()));
    let logs: Logs = Arc::default();
    drain(child.stderr.take().expect("stderr"), logs.clone());
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        while let Ok(Some(line)) = stdout.next_line().await {
            if let Some(base) = line.strip_prefix("READY ") {
                return Some(base.trim().to_owned());
            }
            push_line(&logs, &line);
        }
        None
    })
    .await;
    let base = match ready {
        Ok(Some(base)) => base,
        Ok(None) => {
            let status = child.wait().await;
            // Let the stderr drain catch up before reporting.
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "{name} exited before it was ready ({status:?}):\n{}",
                read_logs(&logs)
            );
        }
        Err(_) => panic!(
            "{name} did not print READY within {READY_TIMEOUT:?}:\n{}",
            read_logs(&logs)
        ),
    };
    let rest = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            push_line(&rest, &line);
        }
    });
    (child, base, logs)
}

async fn text_of(res: reqwest::Response, what: &str, logs: &Logs) -> String {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "{what}: {status}\n{text}\n--- provider log\n{}",
        read_logs(logs)
    );
    text
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect

/// Options of [`OidcIdp::start_with`].
#[derive(Clone, Debug, Default)]
pub struct OidcIdpOptions {
    /// Refuse authorization requests without an S256 `code_challenge`. (Without it, a challenge
    /// that was sent still makes the matching `code_verifier` mandatory at the token endpoint.)
    pub require_pkce: bool,
    /// Refuse authorization requests without `nonce`.
    pub require_nonce: bool,
    /// A confidential client registered up front `(client_id, secret, redirect_uris)`: for that
    /// id the secret (HTTP Basic) and the exact redirect_uri are checked. Other ids are accepted
    /// with any secret and redirect_uri.
    pub client: Option<(String, String, Vec<String>)>,
    /// `client_secret_basic` (default), `client_secret_post` or `none`, for `client`.
    pub client_auth_method: Option<String>,
    /// Leave `kid` out of ID token headers (the mock's own behaviour).
    pub no_kid: bool,
    /// ID/access token lifetime in seconds (default 3600).
    pub token_max_age: Option<u64>,
}

/// The OpenID provider. `base` is its issuer (`http://127.0.0.1:<port>`, no trailing slash);
/// discovery is at `{base}/.well-known/openid-configuration`.
pub struct OidcIdp {
    pub base: String,
    client: reqwest::Client,
    logs: Logs,
    /// Held for `kill_on_drop` and as the stdin lifeline.
    _child: Child,
}

impl OidcIdp {
    pub async fn start() -> Self {
        Self::start_with(OidcIdpOptions::default()).await
    }

    pub async fn start_with(opts: OidcIdpOptions) -> Self {
        let mut args = vec!["--port".to_owned(), "0".to_owned()];
        if opts.require_pkce {
            args.push("--require-pkce".to_owned());
        }
        if opts.require_nonce {
            args.push("--require-nonce".to_owned());
        }
        if let Some((id, secret, redirect_uris)) = &opts.client {
            args.extend([
                "--client-id".to_owned(),
                id.clone(),
                "--client-secret".to_owned(),
                secret.clone(),
            ]);
            for uri in redirect_uris {
                args.extend(["--redirect-uri".to_owned(), uri.clone()]);
            }
        }
        if let Some(method) = &opts.client_auth_method {
            args.extend(["--client-auth-method".to_owned(), method.clone()]);
        }
        if opts.no_kid {
            args.push("--no-kid".to_owned());
        }
        if let Some(age) = opts.token_max_age {
            args.extend(["--token-max-age".to_owned(), age.to_string()]);
        }
        let (child, base, logs) = spawn_ready("oidc_idp.py", &args).await;
        Self {
            base,
            client: idp_client(),
            logs,
            _child: child,
        }
    }

    /// The issuer URL (same as `base`).
    pub fn issuer(&self) -> &str {
        &self.base
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base)
    }

    /// The provider's stdout/stderr so far (request log, warnings such as
    /// `token endpoint error invalid_grant`).
    pub fn logs(&self) -> String {
        read_logs(&self.logs)
    }

    /// Logs in at `authorize_url` (the provider's authorization URL Aerie redirected to, with its
    /// query) as the user described by `claims` — a JSON object such as
    /// `{"sub": "u1", "email": "a@x.test", "email_verified": true, "name": "A", "groups": ["g"]}`
    /// (`sub` defaults to `email`) — by POSTing the provider's login form, and returns the
    /// redirect `Location` back to the client (its callback with `code` and `state`, or `error`),
    /// without following it. The ID token and userinfo then carry exactly these claims (email /
    /// email_verified need scope `email`, name needs `profile`; other claims always pass).
    pub async fn authorize(&self, authorize_url: &str, claims: &Value) -> String {
        assert!(
            authorize_url.starts_with(&format!("{}/", self.base)),
            "{authorize_url} is not an URL of this provider ({})",
            self.base
        );
        let mut claims = claims.as_object().expect("claims is a JSON object").clone();
        let sub = match claims.remove("sub") {
            Some(Value::String(sub)) => sub,
            Some(other) => panic!("sub must be a string, got {other}"),
            None => claims
                .get("email")
                .and_then(Value::as_str)
                .expect("claims need a sub or an email")
                .to_owned(),
        };
        let claims = Value::Object(claims).to_string();
        let body = form_body(&[
            ("sub", sub.as_str()),
            ("claims", claims.as_str()),
            ("action", "authorize"),
        ]);
        let res = self
            .client
            .post(authorize_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("authorization request");
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let (true, Some(location)) = (status.is_redirection(), location) {
            return location;
        }
        let text = res.text().await.unwrap_or_default();
        panic!(
            "the provider did not redirect back ({status}):\n{text}\n--- provider log\n{}",
            self.logs()
        )
    }

    /// Makes the NEXT ID token the token endpoint returns an attack token: `spec` is
    /// `{"claims": {..merged into the payload; null removes..}, "sign": "idp"|"other"|"none"|"hs256",
    /// "kid": "..", "hmac_key": ".."}` — "other" signs with an RSA key not in the JWKS (same kid as
    /// the real key unless `kid` is given), "none" sends `alg: none` and no signature, "hs256"
    /// signs with HMAC-SHA256 keyed by `hmac_key` (default: the provider's public key PEM).
    pub async fn set_next_id_token(&self, spec: &Value) {
        let res = self
            .client
            .post(format!("{}/_test/id-token", self.base))
            .json(spec)
            .send()
            .await
            .expect("id-token override");
        assert_eq!(res.status().as_u16(), 204, "{}", self.logs());
    }

    /// Registers a client dynamically (`POST /oauth2/clients`, RFC 7591): its
    /// `(client_id, client_secret)`; the provider then checks both and the redirect_uri.
    pub async fn register_client(&self, redirect_uris: &[&str]) -> (String, String) {
        let res = self
            .client
            .post(format!("{}/oauth2/clients", self.base))
            .json(&serde_json::json!({ "redirect_uris": redirect_uris }))
            .send()
            .await
            .expect("client registration");
        let body: Value =
            serde_json::from_str(&text_of(res, "client registration", &self.logs).await)
                .expect("registration JSON");
        (
            body["client_id"].as_str().expect("client_id").to_owned(),
            body["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_owned(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// SAML 2.0

/// Options of [`SamlIdp::start`]. The assertion is always signed (RSA-SHA256, SHA-256 digest).
#[derive(Clone, Debug, Default)]
pub struct SamlIdpOptions {
    /// Sign the Response as well.
    pub sign_response: bool,
    /// Encrypt the assertion to the SP's encryption certificate (from its metadata). samael
    /// checks signatures before it decrypts, so pair this with `sign_response`.
    pub encrypt_assertion: bool,
    /// `aes128-gcm` (default), `aes128-cbc`, `aes256-cbc` or `tripledes-cbc`.
    pub encryption_alg: Option<String>,
    /// Refuse AuthnRequests without a valid signature (checked against the SP metadata).
    pub want_signed_requests: bool,
    /// PEM `(key, certificate)` files to sign with (default: a fresh self-signed pair).
    pub key_cert: Option<(PathBuf, PathBuf)>,
}

/// What the IdP answers with: where the browser would POST it and the form's fields.
#[derive(Clone, Debug)]
pub struct SamlPost {
    /// The form's action: the SP's ACS URL.
    pub acs: String,
    /// Base64 of the Response XML.
    pub saml_response: String,
    pub relay_state: Option<String>,
}

impl SamlPost {
    /// The Response XML (decoded from base64).
    pub fn xml(&self) -> String {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.saml_response)
            .expect("SAMLResponse is base64");
        String::from_utf8(bytes).expect("SAMLResponse is UTF-8")
    }

    /// The urlencoded body of the POST to the ACS.
    pub fn form_body(&self) -> String {
        let mut pairs = vec![("SAMLResponse", self.saml_response.as_str())];
        if let Some(relay) = &self.relay_state {
            pairs.push(("RelayState", relay.as_str()));
        }
        form_body(&pairs)
    }
}

/// The SAML IdP. Its entity ID is `metadata_url` (`{base}/metadata`).
pub struct SamlIdp {
    pub base: String,
    pub metadata_url: String,
    client: reqwest::Client,
    logs: Logs,
    /// Held for `kill_on_drop` and as the stdin lifeline.
    _child: Child,
}

impl SamlIdp {
    /// Starts the IdP for the SP whose metadata is at `sp_metadata_url` (Aerie's
    /// `/auth/saml/metadata`; fetched again at every login, so it need not be up yet).
    pub async fn start(sp_metadata_url: &str, opts: SamlIdpOptions) -> Self {
        let mut args = vec![
            "--port".to_owned(),
            "0".to_owned(),
            "--sp-metadata-url".to_owned(),
            sp_metadata_url.to_owned(),
        ];
        if opts.sign_response {
            args.push("--sign-response".to_owned());
        }
        if opts.encrypt_assertion {
            args.push("--encrypt-assertion".to_owned());
        }
        if let Some(alg) = &opts.encryption_alg {
            args.extend(["--encryption-alg".to_owned(), alg.clone()]);
        }
        if opts.want_signed_requests {
            args.push("--want-signed-requests".to_owned());
        }
        if let Some((key, cert)) = &opts.key_cert {
            args.extend([
                "--key".to_owned(),
                key.display().to_string(),
                "--cert".to_owned(),
                cert.display().to_string(),
            ]);
        }
        let (child, base, logs) = spawn_ready("saml_idp.py", &args).await;
        Self {
            metadata_url: format!("{base}/metadata"),
            base,
            client: idp_client(),
            logs,
            _child: child,
        }
    }

    /// The IdP's entity ID (the metadata URL).
    pub fn entity_id(&self) -> &str {
        &self.metadata_url
    }

    /// The IdP metadata XML.
    pub async fn metadata(&self) -> String {
        let res = self
            .client
            .get(&self.metadata_url)
            .send()
            .await
            .expect("IdP metadata");
        text_of(res, "IdP metadata", &self.logs).await
    }

    /// The IdP's stdout/stderr so far.
    pub fn logs(&self) -> String {
        read_logs(&self.logs)
    }

    /// SP-initiated login: opens `redirect_url` (the IdP's `/sso/redirect?SAMLRequest=..` Aerie
    /// redirected to), submits the login form as `email`/`name`/`groups`, and returns the ACS
    /// URL, the SAMLResponse and the RelayState the browser would POST.
    pub async fn login(
        &self,
        redirect_url: &str,
        email: &str,
        name: &str,
        groups: &[&str],
    ) -> (String, String, Option<String>) {
        let post = self
            .login_with(redirect_url, email, name, groups, &[])
            .await;
        (post.acs, post.saml_response, post.relay_state)
    }

    /// [`Self::login`] with extra form fields overriding the IdP's choices, for attack tests:
    /// `request_id` (InResponseTo), `acs` (Destination/Recipient), `sp` (Audience),
    /// `relay_state`, `sign_assertion`/`sign_response`/`encrypt` (`0`/`1`), `key=alt` (sign with a
    /// key that is not in the IdP metadata), `lifetime` (seconds; negative = already expired).
    pub async fn login_with(
        &self,
        redirect_url: &str,
        email: &str,
        name: &str,
        groups: &[&str],
        extra: &[(&str, &str)],
    ) -> SamlPost {
        assert!(
            redirect_url.starts_with(&format!("{}/", self.base)),
            "{redirect_url} is not an URL of this IdP ({})",
            self.base
        );
        let res = self
            .client
            .get(redirect_url)
            .send()
            .await
            .expect("SSO redirect");
        let page = text_of(res, "the IdP refused the AuthnRequest", &self.logs).await;
        let (action, hidden) = parse_form(&page);
        let action = action.expect("login form action");
        let groups = groups.join(",");
        let mut fields: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        fields.extend([
            ("email", email),
            ("name", name),
            ("groups", groups.as_str()),
        ]);
        fields.extend(extra.iter().copied());
        let res = self
            .client
            .post(&action)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&fields))
            .send()
            .await
            .expect("IdP login");
        let page = text_of(res, "IdP login", &self.logs).await;
        saml_post(&page)
    }

    /// IdP-initiated login: an unsolicited Response (no InResponseTo) for the SP, posted to its
    /// default ACS: `(acs, SAMLResponse, RelayState)`.
    pub async fn idp_initiated(
        &self,
        email: &str,
        name: &str,
        groups: &[&str],
        relay_state: Option<&str>,
    ) -> (String, String, Option<String>) {
        let mut extra = Vec::new();
        if let Some(relay) = relay_state {
            extra.push(("relay_state", relay));
        }
        let post = self.idp_initiated_with(email, name, groups, &extra).await;
        (post.acs, post.saml_response, post.relay_state)
    }

    /// [`Self::idp_initiated`] with extra query fields (same knobs as [`Self::login_with`]).
    pub async fn idp_initiated_with(
        &self,
        email: &str,
        name: &str,
        groups: &[&str],
        extra: &[(&str, &str)],
    ) -> SamlPost {
        let groups = groups.join(",");
        let mut fields = vec![
            ("email", email),
            ("name", name),
            ("groups", groups.as_str()),
        ];
        fields.extend(extra.iter().copied());
        let url = format!("{}/idp-initiated?{}", self.base, form_body(&fields));
        let res = self
            .client
            .get(url)
            .send()
            .await
            .expect("IdP-initiated login");
        let page = text_of(res, "IdP-initiated login", &self.logs).await;
        saml_post(&page)
    }
}

fn saml_post(page: &str) -> SamlPost {
    let (action, hidden) = parse_form(page);
    let field = |name: &str| {
        hidden
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    SamlPost {
        acs: action.unwrap_or_else(|| panic!("no form in the IdP answer:\n{page}")),
        saml_response: field("SAMLResponse")
            .unwrap_or_else(|| panic!("no SAMLResponse in the IdP answer:\n{page}")),
        relay_state: field("RelayState"),
    }
}

/// The first form's `action` and its hidden inputs `(name, value)` in the IdP's own pages
/// (attributes double-quoted, values HTML-escaped by Python's `html.escape`).
fn parse_form(page: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut action = None;
    let mut hidden = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with("form ") && action.is_none() {
            action = attr(tag, "action");
        } else if tag.starts_with("input ")
            && attr(tag, "type").as_deref() == Some("hidden")
            && let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value"))
        {
            hidden.push((name, value));
        }
    }
    (action, hidden)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
