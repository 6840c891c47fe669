#!/usr/bin/env python3
"""A small SAML 2.0 identity provider for Aerie's tests (pysaml2 + stdlib http.server).

    python server/tests/idp/saml_idp.py --port 7001 \
        --sp-metadata-url http://127.0.0.1:3000/auth/saml/metadata [--sign-response] [--encrypt-assertion]

Prints `READY <base>` on stdout once it serves. Endpoints:

  GET  /metadata              the IdP metadata (entityID = <base>/metadata, signing certificate,
                              SingleSignOnService HTTP-Redirect at <base>/sso/redirect)
  GET  /sso/redirect          SAMLRequest (+ RelayState, SigAlg, Signature) -> a login form
                              (fields email, name, groups; button "Sign in") posting to /sso/login
  POST /sso/login             email, name, groups (comma-separated) + the form's hidden fields
                              request_id, sp, acs, relay_state -> the auto-submitting POST form to
                              the ACS carrying SAMLResponse (+ RelayState)
  GET  /idp-initiated         sp=<SP entity id>&email=..&name=..&groups=..[&relay_state=..]
                              -> the same POST form with an unsolicited Response (no InResponseTo)

Knobs for attack tests, accepted by /sso/login (form) and /idp-initiated (query), overriding the
command line: sign_assertion=0|1, sign_response=0|1, encrypt=0|1, key=alt (sign with a second key
pair that is NOT in the IdP metadata), lifetime=<seconds> (assertion validity; negative = already
expired), and the hidden fields themselves (request_id -> InResponseTo, acs -> Destination and
Recipient, sp -> Audience).

The SP metadata (file or URL) is re-read on every login, so the IdP may start before the SP
serves it and follows SP certificate changes. The process exits when stdin (if it is a pipe)
reaches EOF or when its parent process dies.
"""

from __future__ import annotations

import argparse
import base64
import html
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lifeline import exit_with_parent
import saml2.entity
import saml2.sigver
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

XMLSEC = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
AUTHN_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

# Attribute names on the wire: Name="email", Name="name" (FriendlyName="displayName"),
# Name="groups" (one AttributeValue per group), all NameFormat basic.
ATTRIBUTE_MAP = '''
MAP = {
    "identifier": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
    "fro": {"email": "email", "name": "displayName", "groups": "groups"},
    "to": {"email": "email", "displayname": "name", "groups": "groups"},
}
'''


# XML Encryption of the assertion: pysaml2 defaults to 3DES; real IdPs use AES (samael 0.0.22
# decrypts aes128-cbc and aes128-gcm only). --encryption-alg picks one: (algorithm URI, xmlsec1
# session key).
ENCRYPTION_ALGS = {
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
    "aes128-cbc": ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
    "tripledes-cbc": ("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "des-192"),
}


def use_encryption_alg(name: str) -> None:
    uri, session_key = ENCRYPTION_ALGS[name]
    pre = saml2.sigver.pre_encryption_part
    saml2.entity.pre_encryption_part = lambda **kw: pre(**{**kw, "msg_enc": uri})
    encrypt = saml2.sigver.SecurityContext.encrypt_assertion

    def encrypt_assertion(self, statement, enc_key, template, key_type=None, node_xpath=None):
        return encrypt(self, statement, enc_key, template, session_key, node_xpath)

    saml2.sigver.SecurityContext.encrypt_assertion = encrypt_assertion


TMP_PREFIX = "aerie-saml-idp-"


def reap_stale_tmpdirs() -> None:
    """Removes the temp dirs of earlier runs that died without cleaning up (SIGKILL)."""
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        if not name.startswith(TMP_PREFIX):
            continue
        try:
            pid = int(name[len(TMP_PREFIX):].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except (ValueError, PermissionError):
            pass


CLEANUP: list[str] = []


def bye(code: int = 0) -> None:
    for d in CLEANUP:
        shutil.rmtree(d, ignore_errors=True)
    os._exit(code)


def make_keypair(directory: str, name: str) -> tuple[str, str]:
    """A self-signed RSA-2048 certificate (SHA-256) and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"aerie-test-idp-{name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_path = os.path.join(directory, f"{name}.key")
    cert_path = os.path.join(directory, f"{name}.crt")
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


class Idp:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.base = args.base.rstrip("/")
        self.entity_id = f"{self.base}/metadata"
        self.tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")
        CLEANUP.append(self.tmp)
        if args.key and args.cert:
            self.key, self.cert = args.key, args.cert
        else:
            self.key, self.cert = make_keypair(self.tmp, "signing")
        self.alt_key, self.alt_cert = make_keypair(self.tmp, "alt")
        self.attr_dir = os.path.join(self.tmp, "attributemaps")
        os.makedirs(self.attr_dir)
        with open(os.path.join(self.attr_dir, "aerie_test_idp_attributes.py"), "w") as f:
            f.write(ATTRIBUTE_MAP)
        self.sp_md_path = os.path.join(self.tmp, "sp-metadata.xml")
        self.lock = threading.Lock()
        self.sp_md_text: str | None = None
        self.servers: dict[str, Server] = {}
        self.metadata = create_metadata_string(None, config=self.config(None, self.key, self.cert), valid=None)
        if isinstance(self.metadata, bytes):
            self.metadata = self.metadata.decode()

    def config(self, sp_md: str | None, key: str, cert: str) -> IdPConfig:
        conf = {
            "entityid": self.entity_id,
            "name": "Aerie test IdP",
            "service": {
                "idp": {
                    "name": "Aerie test IdP",
                    "endpoints": {
                        "single_sign_on_service": [(f"{self.base}/sso/redirect", BINDING_HTTP_REDIRECT)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 15},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_BASIC,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": self.args.want_signed_requests,
                }
            },
            "key_file": key,
            "cert_file": cert,
            "xmlsec_binary": XMLSEC,
            "attribute_map_dir": self.attr_dir,
            "allow_unknown_attributes": True,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "accepted_time_diff": 60,
        }
        if sp_md is not None:
            conf["metadata"] = {"local": [sp_md]}
        c = IdPConfig()
        c.load(conf)
        return c

    def read_sp_metadata(self) -> str:
        if self.args.sp_metadata_url:
            req = urllib.request.Request(self.args.sp_metadata_url, headers={"Accept": "application/xml"})
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(req, timeout=10) as res:
                return res.read().decode()
        with open(self.args.sp_metadata) as f:
            return f.read()

    def server(self, alt_key: bool = False) -> Server:
        """The pysaml2 server over the current SP metadata (rebuilt when it changes)."""
        text = self.read_sp_metadata()
        with self.lock:
            if text != self.sp_md_text:
                with open(self.sp_md_path, "w") as f:
                    f.write(text)
                self.sp_md_text = text
                self.servers = {}
            which = "alt" if alt_key else "main"
            if which not in self.servers:
                key, cert = (self.alt_key, self.alt_cert) if alt_key else (self.key, self.cert)
                self.servers[which] = Server(config=self.config(self.sp_md_path, key, cert))
            return self.servers[which]

    def default_acs(self, server: Server, sp: str) -> str:
        for binding in (BINDING_HTTP_POST,):
            acs = server.metadata.assertion_consumer_service(sp, binding)
            for a in acs:
                if a.get("location"):
                    return a["location"]
        raise ValueError(f"no HTTP-POST AssertionConsumerService for {sp!r} in the SP metadata")

    def response(self, fields: dict[str, str], unsolicited: bool) -> tuple[str, str, str | None]:
        """Builds a Response: (acs, base64 SAMLResponse, RelayState or None)."""
        email = fields.get("email", "").strip()
        if not email:
            raise ValueError("email is required")
        name = fields.get("name", "").strip()
        groups = [g.strip() for g in fields.get("groups", "").split(",") if g.strip()]
        server = self.server(alt_key=fields.get("key") == "alt")
        sp = fields.get("sp") or ""
        if not sp:
            entities = [e for e in server.metadata.keys()]
            if len(entities) != 1:
                raise ValueError("sp is required")
            sp = entities[0]
        acs = fields.get("acs") or self.default_acs(server, sp)
        in_response_to = None if unsolicited else (fields.get("request_id") or None)
        identity: dict[str, list[str]] = {"email": [email]}
        if name:
            identity["displayName"] = [name]
        if groups:
            identity["groups"] = groups
        sign_assertion = flag(fields.get("sign_assertion"), True)
        sign_response = flag(fields.get("sign_response"), self.args.sign_response)
        encrypt = flag(fields.get("encrypt"), self.args.encrypt_assertion)
        policy = None
        if fields.get("lifetime"):
            from saml2.assertion import Policy

            policy = Policy(
                {"default": {"lifetime": {"seconds": int(fields["lifetime"])}, "attribute_restrictions": None,
                             "name_form": NAME_FORMAT_BASIC}},
                mds=server.metadata,
            )
        kwargs = {}
        if policy is not None:
            kwargs["release_policy"] = policy
        resp = server.create_authn_response(
            identity,
            in_response_to,
            acs,
            sp,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": AUTHN_CLASS, "authn_auth": self.entity_id},
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            encrypt_assertion=encrypt,
            encrypt_assertion_self_contained=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            **kwargs,
        )
        xml = str(resp)
        relay = fields.get("relay_state")
        return acs, base64.b64encode(xml.encode()).decode(), relay


def page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title></head>"
        f"<body>{body}</body></html>"
    ).encode()


def post_form(acs: str, saml_response: str, relay: str | None) -> bytes:
    relay_input = (
        f'<input type="hidden" name="RelayState" value="{html.escape(relay, quote=True)}">' if relay is not None else ""
    )
    return page(
        "Continue to the service",
        f'<form id="saml-post" method="post" action="{html.escape(acs, quote=True)}">'
        f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response, quote=True)}">'
        f"{relay_input}<noscript><button type=\"submit\">Continue</button></noscript></form>"
        '<script>document.getElementById("saml-post").submit();</script>',
    )


def login_form(idp: Idp, hidden: dict[str, str]) -> bytes:
    inputs = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v, quote=True)}">' for k, v in hidden.items()
    )
    return page(
        "Aerie test IdP: sign in",
        "<h1>Aerie test IdP</h1>"
        f'<form method="post" action="{html.escape(idp.base, quote=True)}/sso/login">'
        '<p><label>Email <input type="email" name="email" id="email" required autofocus></label></p>'
        '<p><label>Name <input type="text" name="name" id="name"></label></p>'
        '<p><label>Groups (comma-separated) <input type="text" name="groups" id="groups"></label></p>'
        f"{inputs}"
        '<p><button type="submit">Sign in</button></p></form>',
    )


def make_handler(idp: Idp):
    class Handler(BaseHTTPRequestHandler):
        server_version = "AerieTestSamlIdp/1"

        def log_message(self, fmt: str, *a) -> None:  # noqa: D401 - to stderr, compact
            sys.stderr.write("saml-idp: " + (fmt % a) + "\n")

        def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def fail(self, status: int, message: str) -> None:
            sys.stderr.write(f"saml-idp: error: {message}\n")
            self.send(status, page("Error", f"<h1>Error</h1><pre>{html.escape(message)}</pre>"))

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            try:
                if url.path == "/metadata":
                    self.send(200, idp.metadata.encode(), "application/samlmetadata+xml")
                elif url.path == "/healthz":
                    self.send(200, b"ok", "text/plain")
                elif url.path == "/sso/redirect":
                    self.sso_redirect(q)
                elif url.path == "/idp-initiated":
                    acs, resp, relay = idp.response(q, unsolicited=True)
                    self.send(200, post_form(acs, resp, relay))
                else:
                    self.fail(404, f"no such endpoint: {url.path}")
            except Exception as e:  # noqa: BLE001 - a test tool: report everything
                self.fail(400, f"{type(e).__name__}: {e}")

        def do_POST(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
            try:
                if url.path == "/sso/login":
                    acs, resp, relay = idp.response(form, unsolicited=False)
                    self.send(200, post_form(acs, resp, relay))
                else:
                    self.fail(404, f"no such endpoint: {url.path}")
            except Exception as e:  # noqa: BLE001
                self.fail(400, f"{type(e).__name__}: {e}")

        def sso_redirect(self, q: dict[str, str]) -> None:
            if "SAMLRequest" not in q:
                self.fail(400, "SAMLRequest is missing")
                return
            server = idp.server()
            req = server.parse_authn_request(
                q["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=q.get("RelayState"),
                sigalg=q.get("SigAlg"),
                signature=q.get("Signature"),
            )
            if req is None:
                self.fail(400, "the AuthnRequest did not verify")
                return
            msg = req.message
            info = server.response_args(msg, [BINDING_HTTP_POST])
            hidden = {
                "request_id": msg.id,
                "sp": info["sp_entity_id"],
                "acs": info["destination"],
            }
            if "RelayState" in q:
                hidden["relay_state"] = q["RelayState"]
            self.send(200, login_form(idp, hidden))

    return Handler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--base", help="the IdP's own base URL (default http://127.0.0.1:<port>)")
    md = p.add_mutually_exclusive_group(required=True)
    md.add_argument("--sp-metadata", help="a file with the SP metadata XML")
    md.add_argument("--sp-metadata-url", help="the URL of the SP metadata (fetched at each login)")
    p.add_argument("--key", help="PEM private key for signing (default: generated)")
    p.add_argument("--cert", help="PEM certificate matching --key (default: generated)")
    p.add_argument("--sign-response", action="store_true", help="sign the Response too (the assertion always is)")
    p.add_argument("--encrypt-assertion", action="store_true", help="encrypt the assertion to the SP's certificate")
    p.add_argument("--encryption-alg", choices=sorted(ENCRYPTION_ALGS), default="aes128-gcm",
                   help="data encryption algorithm for --encrypt-assertion (key transport: rsa-oaep-mgf1p)")
    p.add_argument("--want-signed-requests", action="store_true", help="refuse unsigned AuthnRequests")
    args = p.parse_args()
    if bool(args.key) != bool(args.cert):
        p.error("--key and --cert go together")

    signal.signal(signal.SIGTERM, lambda *_: bye())
    signal.signal(signal.SIGINT, lambda *_: bye())
    exit_with_parent(bye)
    reap_stale_tmpdirs()
    use_encryption_alg(args.encryption_alg)
    httpd = ThreadingHTTPServer((args.host, args.port), BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    if not args.base:
        args.base = f"http://127.0.0.1:{port}"
    idp = Idp(args)
    httpd.RequestHandlerClass = make_handler(idp)
    httpd.daemon_threads = True
    print(f"READY {idp.base}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        bye()


if __name__ == "__main__":
    main()
