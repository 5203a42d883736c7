"""A local OpenID Connect identity provider for tests: discovery, an authorize endpoint that
approves one configured user at once, a token endpoint issuing RS256-signed id_tokens, JWKS and
userinfo, on a free loopback port. Nothing leaves the machine."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "mlops-studio"
CLIENT_SECRET = "test-client-secret"
KEY_ID = "test-key"
TOKEN_SECONDS = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(number: int) -> str:
    return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass
class Grant:
    """What /authorize remembered for one code: the request's redirect, nonce and PKCE."""

    redirect_uri: str
    nonce: str | None
    challenge: str | None


@dataclass
class Provider:
    """The provider's state: its signing key, the user it approves, the codes it issued."""

    user: dict[str, Any]
    issuer: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "name", "groups", "nonce"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID}
        return {"keys": [key | {"n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}]}

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + TOKEN_SECONDS}
        claims |= self.user | ({"nonce": nonce} if nonce else {})
        header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        self.server.provider.requests.append(self.path)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path, _, query = self.path.partition("?")
        params = {key: values[0] for key, values in parse_qs(query).items()}
        provider = self.server.provider
        if path == "/.well-known/openid-configuration":
            self._json(provider.metadata())
        elif path == "/jwks":
            self._json(provider.jwks())
        elif path == "/authorize":
            self._authorize(params)
        elif path == "/userinfo":
            self._userinfo()
        else:
            self._json({"error": "not_found"}, status=404)

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/token":
            self._json({"error": "not_found"}, status=404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {
            key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()
        }
        self._token(form)

    def _authorize(self, params: dict[str, str]) -> None:
        if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
            self._json({"error": "unauthorized_client"}, status=400)
            return
        code = secrets.token_urlsafe(24)
        self.server.provider.grants[code] = Grant(
            redirect_uri=params["redirect_uri"],
            nonce=params.get("nonce"),
            challenge=params.get("code_challenge"),
        )
        back = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        self.send_response(302)
        self.send_header("Location", f"{params['redirect_uri']}?{urlencode(back)}")
        self.end_headers()

    def _token(self, form: dict[str, str]) -> None:
        grant = self.server.provider.grants.pop(form.get("code", ""), None)
        if not self._client_ok(form) or grant is None:
            self._json({"error": "invalid_grant"}, status=400)
            return
        if grant.redirect_uri != form.get("redirect_uri") or not _pkce_ok(grant, form):
            self._json({"error": "invalid_grant"}, status=400)
            return
        access = secrets.token_urlsafe(24)
        self.server.provider.access_tokens.add(access)
        self._json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "id_token": self.server.provider.id_token(grant.nonce),
            }
        )

    def _client_ok(self, form: dict[str, str]) -> bool:
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        else:
            client, secret = form.get("client_id", ""), form.get("client_secret", "")
        return (client, secret) == (CLIENT_ID, CLIENT_SECRET)

    def _userinfo(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.server.provider.access_tokens:
            self._json({"error": "invalid_token"}, status=401)
            return
        self._json(self.server.provider.user)

    def _json(self, body: dict[str, Any], *, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _pkce_ok(grant: Grant, form: dict[str, str]) -> bool:
    if grant.challenge is None:
        return True
    verifier = form.get("code_verifier", "").encode()
    return _b64(hashlib.sha256(verifier).digest()) == grant.challenge


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: Provider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider


@contextmanager
def running_provider(user: dict[str, Any]) -> Iterator[Provider]:
    """The provider on a free loopback port, approving ``user`` (claims: sub, email, name,
    groups), stopped afterwards."""
    provider = Provider(user=user)
    server = _Server(provider)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def secrets_toml(provider: Provider, *, name: str, mapping: str) -> str:
    """A studio ``secrets.toml`` naming ``provider`` as ``[auth.NAME]``; ``{port}`` is filled in
    by Streamlit with the port it listens on."""
    return (
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f"[auth.{name}]\n"
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        f"{mapping}"
    )
