//! Single sign-on browser flows (seed 004 "OAuth & SSO"): `/auth/{provider}/login` and
//! `/callback` for google, microsoft, github, nextcloud and generic OIDC (and the SAML start),
//! `/auth/login-pickup`, `/auth/sso/discover`, and with the `saml` feature the SP metadata and
//! assertion consumer. Browser flows answer redirects: failures go back to the login page with
//! the reason in `sso_error`.

use aerie_backend::actor::Actor;
use aerie_backend::services::sso::{self, flow, link, oauth};
use aerie_backend::{AppContext, Error};
use aerie_contract::ErrorBody;
use aerie_contract::SsoKind;
use aerie_contract::ids::SsoProviderId;
use aerie_contract::sso::{LoginOptions, PendingLink};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::extract::{AppPath, AppQuery};

fn binding_cookie(headers: &HeaderMap) -> Option<String> {
    crate::middleware::credentials::cookie(headers, flow::BINDING_COOKIE).map(str::to_owned)
}

fn set_binding(ctx: &AppContext, value: Option<&str>) -> Option<HeaderValue> {
    let secure = if ctx.config().public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = match value {
        Some(v) => format!(
            "{}={v}; Path=/auth; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            flow::BINDING_COOKIE,
            flow::FLOW_TTL_MINUTES * 60
        ),
        None => format!(
            "{}=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
            flow::BINDING_COOKIE
        ),
    };
    HeaderValue::from_str(&cookie).ok()
}

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Back to the login page with the reason (logged and audited by the service already).
fn to_login(error: &Error) -> Response {
    error.log();
    let body = error.body();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sso_error", &body.detail)
        .finish();
    see_other(&format!("/login?{query}"), None)
}

/// The kind a path names; one that is not a kind is a path that does not exist.
fn known_kind(kind: &str) -> Result<SsoKind, Error> {
    kind.parse().map_err(|_| Error::NotFound)
}

/// Start signing in with an identity provider: `provider` (its id, from the login page), or the
/// organisation's provider of this kind found by `org` slug or `email` domain.
#[utoipa::path(get, path = "/auth/{provider}/login", tag = "sso",
    params(
        ("provider" = String, Path, description = "google, microsoft, github, nextcloud, oidc or saml"),
        ("provider" = Option<SsoProviderId>, Query, description = "The provider id (from the login page)"),
        ("org" = Option<String>, Query, description = "Organisation slug"),
        ("email" = Option<String>, Query, description = "Route by this email's domain; also a login hint"),
        ("return_to" = Option<String>, Query, description = "Same-site path to return to after signing in"),
    ),
    responses(
        (status = 303, description = "To the identity provider; sets the short-lived `aerie_sso` binding cookie"),
        (status = 404, description = "No such provider configured", body = ErrorBody),
        (status = 429, description = "Too many sign-ins started from this address; see `Retry-After`", body = ErrorBody),
    ))]
pub async fn sso_login(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppPath(kind): AppPath<String>,
    AppQuery(input): AppQuery<flow::LoginStart>,
) -> Response {
    let result = async { flow::start(&ctx, &actor, known_kind(&kind)?, input).await }.await;
    match result {
        Ok(flow::Redirect {
            html: Some(html),
            binding,
            ..
        }) => {
            let mut response = axum::response::Html(html).into_response();
            if let Some(cookie) = set_binding(&ctx, binding.as_deref()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(redirect) => see_other(
            &redirect.location,
            set_binding(&ctx, redirect.binding.as_deref()),
        ),
        // Over the limit: the contract body with `Retry-After`, not a page to loop through.
        Err(e @ Error::RateLimited { .. }) => e.into_response(),
        Err(e) => to_login(&e),
    }
}

/// The OAuth redirect URI: checks `state` against this browser's sign-in, exchanges the code
/// (PKCE), verifies the ID token, then sends the browser to `/auth/login-pickup`.
#[utoipa::path(get, path = "/auth/{provider}/callback", tag = "sso",
    params(
        ("provider" = String, Path, description = "google, microsoft, github, nextcloud or oidc"),
        ("code" = Option<String>, Query, description = "Authorization code"),
        ("state" = Option<String>, Query, description = "The state sent with the authorization request"),
        ("error" = Option<String>, Query, description = "The provider's error, if it refused"),
    ),
    responses((status = 303, description = "To `/auth/login-pickup`, or back to `/login?sso_error=…`")))]
pub async fn sso_callback(
    State(ctx): State<AppContext>,
    actor: Actor,
    headers: HeaderMap,
    AppPath(kind): AppPath<String>,
    AppQuery(callback): AppQuery<oauth::Callback>,
) -> Response {
    let binding = binding_cookie(&headers);
    let result = async {
        let kind = known_kind(&kind)?;
        oauth::finish_oauth(&ctx, &actor, kind, callback, binding.as_deref()).await
    }
    .await;
    match result {
        Ok(redirect) => see_other(&redirect.location, None),
        Err(e) => to_login(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct Pickup {
    /// Required: a request without one is malformed (400), not a failed sign-in.
    code: String,
}

/// Finishes a single sign-on in the browser that started it: a new session (fresh id), then
/// back to the page the user came from (same-site paths only).
#[utoipa::path(get, path = "/auth/login-pickup", tag = "sso",
    params(("code" = String, Query, description = "The one-time pick-up code")),
    responses(
        (status = 303, description = "Signed in; to the return path. Or back to `/login?sso_error=…`"),
        (status = 400, description = "No pick-up code", body = ErrorBody),
    ))]
pub async fn login_pickup(
    State(ctx): State<AppContext>,
    actor: Actor,
    session: Session,
    headers: HeaderMap,
    AppQuery(query): AppQuery<Pickup>,
) -> Response {
    let binding = binding_cookie(&headers);
    match flow::pickup(&ctx, &actor, &session, &query.code, binding.as_deref()).await {
        Ok(return_to) => see_other(&return_to, set_binding(&ctx, None)),
        Err(e) => to_login(&e),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The code of the link page (`/link-account?code=`).
    code: Option<String>,
}

/// A sign-in that stopped because linking the identity to an existing account needs the
/// person's proof: which provider and email are waiting (see docs/SSO.md).
#[utoipa::path(get, path = "/auth/sso/link", tag = "sso", params(LinkQuery),
    responses(
        (status = 200, body = PendingLink),
        (status = 404, description = "Unknown, used or expired code", body = ErrorBody),
    ))]
pub async fn pending_link(
    State(ctx): State<AppContext>,
    actor: Actor,
    AppQuery(query): AppQuery<LinkQuery>,
) -> Result<Json<PendingLink>, Error> {
    let code = query.code.unwrap_or_default();
    Ok(Json(link::pending(&ctx, &actor, &code).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkForm {
    code: Option<String>,
    /// The Aerie account's password (not needed when this browser is signed in to it).
    password: Option<String>,
}

impl std::fmt::Debug for LinkForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkForm").finish_non_exhaustive()
    }
}

/// The link page's form: proves the account (password, or this browser's session of it), links
/// the identity, signs in and goes on to the return path. A failure goes back to the link page
/// with the reason in `error`.
#[utoipa::path(post, path = "/auth/sso/link", tag = "sso",
    request_body(content = LinkForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Linked and signed in: to the return path. Or back to `/link-account?code=…&error=…`")))]
pub async fn confirm_link(
    State(ctx): State<AppContext>,
    actor: Actor,
    session: Session,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LinkForm>,
) -> Response {
    let binding = binding_cookie(&headers);
    let code = form.code.unwrap_or_default();
    match link::confirm(
        &ctx,
        &actor,
        &session,
        &code,
        form.password,
        binding.as_deref(),
    )
    .await
    {
        Ok(return_to) => see_other(&return_to, set_binding(&ctx, None)),
        Err(e) => {
            e.log();
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("error", &e.body().detail)
                .finish();
            see_other(&format!("/link-account?{query}"), None)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    /// Route by this email's domain.
    email: Option<String>,
    /// Or by organisation slug.
    org: Option<String>,
}

/// Where this person signs in: the organisation (by email domain or slug) and its providers.
#[utoipa::path(get, path = "/auth/sso/discover", tag = "sso", params(DiscoverQuery),
    responses((status = 200, body = LoginOptions)))]
pub async fn discover(
    State(ctx): State<AppContext>,
    AppQuery(query): AppQuery<DiscoverQuery>,
) -> Result<Json<LoginOptions>, Error> {
    Ok(Json(
        sso::discover(&ctx, query.email.as_deref(), query.org.as_deref()).await?,
    ))
}

#[cfg(feature = "saml")]
pub use saml_routes::*;

#[cfg(feature = "saml")]
mod saml_routes {
    use super::*;
    use axum::Form;

    /// Our SAML service provider's metadata (entity id, ACS URL, signing and encryption
    /// certificate) to give the identity provider.
    #[utoipa::path(get, path = "/auth/saml/metadata", tag = "sso",
        responses((status = 200, description = "SAML 2.0 SP metadata", content_type = "application/samlmetadata+xml")))]
    pub async fn saml_metadata(State(ctx): State<AppContext>) -> Result<Response, Error> {
        let xml = sso::saml::metadata(&ctx).await?;
        let mut response = xml.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        );
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline; filename=\"aerie-sp-metadata.xml\""),
        );
        Ok(response)
    }

    #[derive(Deserialize, utoipa::ToSchema)]
    pub struct AcsForm {
        #[serde(rename = "SAMLResponse")]
        saml_response: Option<String>,
        #[serde(rename = "RelayState")]
        relay_state: Option<String>,
    }

    impl std::fmt::Debug for AcsForm {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AcsForm").finish_non_exhaustive()
        }
    }

    /// The SAML assertion consumer: verifies the IdP's signed response (see docs/SECURITY.md),
    /// then sends the browser to `/auth/login-pickup`.
    #[utoipa::path(post, path = "/auth/saml/acs", tag = "sso",
        request_body(content = AcsForm, content_type = "application/x-www-form-urlencoded"),
        responses((status = 303, description = "To `/auth/login-pickup`, or back to `/login?sso_error=…`")))]
    pub async fn saml_acs(
        State(ctx): State<AppContext>,
        actor: Actor,
        Form(form): Form<AcsForm>,
    ) -> Response {
        let result = sso::saml::acs(
            &ctx,
            &actor,
            form.saml_response.unwrap_or_default(),
            form.relay_state,
        )
        .await;
        match result {
            // An IdP-initiated sign-in binds its pick-up to this browser here.
            Ok(redirect) => see_other(
                &redirect.location,
                redirect
                    .binding
                    .as_deref()
                    .and_then(|b| set_binding(&ctx, Some(b))),
            ),
            Err(e) => to_login(&e),
        }
    }
}
