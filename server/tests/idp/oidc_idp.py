#!/usr/bin/env python3
"""An OpenID Connect provider for Aerie's tests: PyPI `oidc-provider-mock` (Flask + Authlib)
served on 127.0.0.1, with a few additions for the tests.

    python server/tests/idp/oidc_idp.py --port 7000 [--require-pkce] [--require-nonce] \
        [--client-id aerie --client-secret s3cret --redirect-uri http://127.0.0.1:3000/auth/oidc/callback]

Prints `READY http://127.0.0.1:<port>` on stdout once it serves; the issuer is that URL (the
mock derives it from the Host header, so always talk to it as 127.0.0.1).

Endpoints (from the mock): /.well-known/openid-configuration, /jwks (one RSA key, RS256),
/oauth2/authorize (GET: the login form; POST: submit it), /oauth2/token, /userinfo,
/oauth2/clients (dynamic registration), PUT /users/<sub> (JSON claims for a subject),
/oauth2/end_session.

Additions:
  * The login form has fields sub (required), email, name, groups (comma-separated),
    email_verified (true/false) and a button "Authorize"; a POST may instead carry `claims`, a
    JSON object used verbatim as the user's claims. Either way the claims are stored for `sub`
    before the code is issued. (A POST with only `sub` keeps claims set earlier through
    PUT /users/<sub>, or defaults to {"email": sub}.)
  * PKCE (RFC 7636): if the authorization request had a code_challenge, the token request must
    carry the matching code_verifier; with --require-pkce a code_challenge with method S256 is
    mandatory on every authorization request.
  * --client-id/--client-secret/--redirect-uri register a confidential client up front: for that
    client_id the redirect_uri must match exactly and the secret must be right (sent with
    --client-auth-method, default client_secret_basic). Any other client_id is accepted with any
    secret and any redirect_uri (the mock's default) unless --require-registration.
  * ID tokens carry the JWKS key's kid in their header (the mock leaves it out; --no-kid keeps
    that).
  * No werkzeug debugger, no CDN stylesheet (the pages work offline).
  * POST /_test/id-token (JSON) changes the NEXT ID token the token endpoint returns, for attack
    tests: {"claims": {...merged, null deletes...}, "sign": "idp"|"other"|"none"|"hs256",
    "kid": "...", "hmac_key": "..."}. "other" signs with an RSA key that is not in the JWKS (same
    kid as the real key unless "kid" is given); "none" sends alg=none with no signature; "hs256"
    signs with HMAC-SHA256 keyed by "hmac_key" (default: the IdP public key PEM, the classic
    RS256/HS256 confusion). DELETE /_test/id-token clears it.

The process exits when stdin (if it is a pipe) reaches EOF or when its parent process dies.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import logging
import os
import signal
import sys
import threading

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import flask  # noqa: E402
import jinja2  # noqa: E402
import werkzeug.serving  # noqa: E402
from authlib.jose import RSAKey  # noqa: E402
from authlib.oauth2.rfc6749 import InvalidRequestError  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

import oidc_provider_mock  # noqa: E402
from lifeline import exit_with_parent  # noqa: E402
from oidc_provider_mock import _app as mock_app  # noqa: E402
from oidc_provider_mock._storage import Client, User  # noqa: E402

BASE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test OpenID provider</title></head>
<body><main class="container">{% block content %}{{ content }}{% endblock %}</main></body></html>
"""

AUTHORIZATION_FORM_HTML = """{% extends "_base.html" %}
{% block content %}
<h1>Authorize Client</h1>
<p>Client ID: <code>{{ client_id }}</code></p>
<form method="post" id="authorize">
  <p><label>sub <input type="text" name="sub" id="sub" placeholder="sub" required autofocus
     {% if sub_missing %}aria-invalid="true"{% endif %}></label></p>
  <p><label>email <input type="email" name="email" id="email"></label></p>
  <p><label>name <input type="text" name="name" id="name"></label></p>
  <p><label>groups (comma-separated) <input type="text" name="groups" id="groups"></label></p>
  <p><label>email_verified <select name="email_verified" id="email_verified">
     <option value="true" selected>true</option><option value="false">false</option></select></label></p>
  <p><button type="submit" name="action" value="authorize">Authorize</button></p>
</form>
<form method="post"><button type="submit" name="action" value="deny">Deny</button></form>
<p>You will be redirected to {{ redirect_uri }}</p>
{% endblock %}
"""

# ----------------------------------------------------------------------------------------------
# PKCE: the mock registers no code-challenge extension and its AuthorizationCode keeps no
# challenge, so remember challenges by code here and hook Authlib's CodeChallenge in.

CHALLENGES: dict[str, tuple[str, str | None]] = {}
REQUIRE_PKCE = False


class Pkce(CodeChallenge):
    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if REQUIRE_PKCE:
            if not data.get("code_challenge"):
                raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)")
            if data.get("code_challenge_method") != "S256":
                raise InvalidRequestError("'code_challenge_method' must be S256")
        return super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return CHALLENGES.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code):
        return CHALLENGES.get(authorization_code.code, (None, None))[1]


class PkceAuthorizationCodeGrant(mock_app.AuthorizationCodeGrant):
    def __init__(self, request, server):
        super().__init__(request, server)
        Pkce(required=True)(self)

    def save_authorization_code(self, code, request):
        super().save_authorization_code(code, request)
        data = request.payload.data
        if data.get("code_challenge"):
            CHALLENGES[code] = (data["code_challenge"], data.get("code_challenge_method"))

    def delete_authorization_code(self, authorization_code):
        super().delete_authorization_code(authorization_code)
        CHALLENGES.pop(authorization_code.code, None)


mock_app.AuthorizationCodeGrant = PkceAuthorizationCodeGrant

# ----------------------------------------------------------------------------------------------
# ID token overrides for attack tests.

OTHER_KEY = RSAKey.generate_key(2048, is_private=True)
NO_KID = False
PENDING: dict | None = None
PENDING_LOCK = threading.Lock()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rewrite_id_token(token: str, spec: dict, idp_key: RSAKey) -> str:
    header_b64, payload_b64, _sig = token.split(".")
    header = json.loads(unb64u(header_b64))
    payload = json.loads(unb64u(payload_b64))
    for k, v in (spec.get("claims") or {}).items():
        if v is None:
            payload.pop(k, None)
        else:
            payload[k] = v
    sign = spec.get("sign", "idp")
    kid = spec["kid"] if "kid" in spec else (header.get("kid") or (None if NO_KID else idp_key.thumbprint()))
    header = {"typ": "JWT"}
    if kid:
        header["kid"] = kid
    if sign in ("idp", "other"):
        header["alg"] = "RS256"
    elif sign == "none":
        header["alg"] = "none"
    elif sign == "hs256":
        header["alg"] = "HS256"
    else:
        raise ValueError(f"unknown sign mode {sign!r}")
    header.update(spec.get("header") or {})
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(payload).encode())}".encode()
    if sign in ("idp", "other"):
        key = (idp_key if sign == "idp" else OTHER_KEY).get_private_key()
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif sign == "none":
        sig = b""
    else:
        secret = spec.get("hmac_key")
        if secret is None:
            secret = idp_key.get_public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64u(sig)}"


# ----------------------------------------------------------------------------------------------


def build_app(args: argparse.Namespace) -> flask.Flask:
    app = oidc_provider_mock.app(
        require_client_registration=args.require_registration,
        require_nonce=args.require_nonce,
        issue_refresh_token=not args.no_refresh_token,
        access_token_max_age=datetime.timedelta(seconds=args.token_max_age),
    )
    # No werkzeug debugger (the mock turns it on); keep errors as plain 500s.
    app.debug = False
    app.wsgi_app = app.wsgi_app.app if hasattr(app.wsgi_app, "app") else app.wsgi_app
    # Our templates first: no CDN stylesheet (tests run offline) and a form with claim fields.
    app.jinja_env.loader = jinja2.ChoiceLoader([
        jinja2.DictLoader({"_base.html": BASE_HTML, "authorization_form.html": AUTHORIZATION_FORM_HTML}),
        app.jinja_env.loader,
    ])

    seeded = {"done": False}

    def storage():
        return flask.g.oidc_provider_mock_storage

    @app.before_request
    def seed_and_claims():
        # Runs after the mock's own before_request (which puts the storage on flask.g).
        if not seeded["done"] and args.client_id:
            storage().store_client(
                Client(
                    id=args.client_id,
                    secret=args.client_secret or "",
                    redirect_uris=list(args.redirect_uri),
                    allowed_scopes=Client.SCOPES_SUPPORTED,
                    token_endpoint_auth_method=args.client_auth_method,
                )
            )
            seeded["done"] = True
        req = flask.request
        if req.method != "POST" or req.path != "/oauth2/authorize" or req.form.get("action") == "deny":
            return None
        sub = req.form.get("sub")
        if not sub:
            return None
        claims = None
        if req.form.get("claims"):
            claims = json.loads(req.form["claims"])
            if not isinstance(claims, dict):
                flask.abort(400, "claims must be a JSON object")
            claims.pop("sub", None)
        elif any(req.form.get(k) for k in ("email", "name", "groups")):
            claims = {}
            if req.form.get("email"):
                claims["email"] = req.form["email"]
                claims["email_verified"] = req.form.get("email_verified", "true").lower() == "true"
            if req.form.get("name"):
                claims["name"] = req.form["name"]
            groups = [g.strip() for g in req.form.get("groups", "").split(",") if g.strip()]
            if groups:
                claims["groups"] = groups
        if claims is not None:
            storage().store_user(User(sub=sub, claims=claims))
        return None

    @app.route("/_test/id-token", methods=["POST", "DELETE"])
    def test_id_token():
        global PENDING
        with PENDING_LOCK:
            PENDING = None if flask.request.method == "DELETE" else (flask.request.get_json(force=True) or {})
        return "", 204

    @app.after_request
    def apply_id_token_override(response: flask.Response):
        global PENDING
        if flask.request.path == "/.well-known/openid-configuration" and response.status_code == 200:
            # Advertise what the launcher adds (PKCE) and what the token endpoint accepts.
            body = response.get_json()
            body["code_challenge_methods_supported"] = ["S256"] if REQUIRE_PKCE else ["S256", "plain"]
            body["token_endpoint_auth_methods_supported"] = ["client_secret_basic", "client_secret_post", "none"]
            body["claims_supported"] = ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified",
                                        "name", "groups"]
            response.set_data(json.dumps(body))
            return response
        if flask.request.path != "/oauth2/token" or response.status_code != 200:
            return response
        with PENDING_LOCK:
            spec, PENDING = PENDING, None
        if spec is None:
            if NO_KID:
                return response
            spec = {}  # re-sign with the IdP key, adding its kid to the header
        body = response.get_json()
        if body and body.get("id_token"):
            body["id_token"] = rewrite_id_token(body["id_token"], spec, storage().jwk)
            response.set_data(json.dumps(body))
        return response

    return app


def main() -> None:
    global REQUIRE_PKCE, NO_KID
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--require-pkce", action="store_true", help="every authorization request needs S256 PKCE")
    p.add_argument("--require-nonce", action="store_true", help="every authorization request needs a nonce")
    p.add_argument("--require-registration", action="store_true",
                   help="refuse client_ids that are not registered (--client-id or POST /oauth2/clients)")
    p.add_argument("--client-id", help="register this confidential client up front")
    p.add_argument("--client-secret", help="its secret")
    p.add_argument("--redirect-uri", action="append", default=[], help="its redirect URI (repeatable)")
    p.add_argument("--client-auth-method", default="client_secret_basic",
                   choices=["client_secret_basic", "client_secret_post", "none"])
    p.add_argument("--token-max-age", type=int, default=3600, help="access/ID token lifetime in seconds")
    p.add_argument("--no-refresh-token", action="store_true")
    p.add_argument("--no-kid", action="store_true",
                   help="leave the kid out of ID token headers (the mock's own behaviour); by default "
                        "ID tokens carry the kid of the JWKS key, like real providers")
    args = p.parse_args()
    if args.client_id and not args.redirect_uri:
        p.error("--client-id needs at least one --redirect-uri")
    REQUIRE_PKCE = args.require_pkce
    NO_KID = args.no_kid

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    exit_with_parent()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="oidc-idp: %(levelname)s %(name)s %(message)s")
    app = build_app(args)
    server = werkzeug.serving.make_server(args.host, args.port, app, threaded=True)
    port = server.server_port
    print(f"READY http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
