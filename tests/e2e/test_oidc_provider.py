"""The test identity provider speaks OpenID Connect as a real one does (no browser): discovery,
a code for the approved user, an RS256 id_token that verifies against its JWKS with the
request's nonce and the right issuer and audience, PKCE enforced, userinfo behind the token."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider

USER = {"sub": "u-1", "email": "ana@example.com", "name": "Ana", "groups": ["ml-reviewers"]}
REDIRECT = "http://127.0.0.1:1/oauth2callback"
VERIFIER = "a-code-verifier-that-is-long-enough-for-pkce-0123456789"
NO_PROXY = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                          {"redirect_request": lambda *args: None})(),
)  # fmt: skip


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    try:
        with NO_PROXY.open(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, dict(error.headers), json.loads(body) if body[:1] == b"{" else {}


def _token(url: str, form: dict[str, str]) -> tuple[int, dict]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"Authorization": f"Basic {basic}"}
    )
    try:
        with NO_PROXY.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _code(authorize: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
    query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
             "state": "st4te", "nonce": "n0nce", "scope": "openid email profile",
             "code_challenge": challenge.decode(), "code_challenge_method": "S256"}  # fmt: skip
    status, headers, _ = _get(f"{authorize}?{urlencode(query)}")
    assert status == 302
    back = urlsplit(headers["Location"])
    params = {key: values[0] for key, values in parse_qs(back.query).items()}
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT and params["state"] == "st4te"
    return params["code"]


def test_the_id_token_verifies_with_nonce_issuer_and_audience() -> None:
    with running_provider(USER) as provider:
        _, _, meta = _get(provider.metadata_url)
        assert (
            meta["issuer"] == provider.issuer and "S256" in meta["code_challenge_methods_supported"]
        )
        code = _code(meta["authorization_endpoint"])
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        status, tokens = _token(meta["token_endpoint"], form | {"code_verifier": VERIFIER})
        assert status == 200
        _, _, jwks = _get(meta["jwks_uri"])
        token = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
        claims = token.claims
        assert (claims["iss"], claims["aud"], claims["nonce"]) == (
            provider.issuer,
            CLIENT_ID,
            "n0nce",
        )
        assert claims["exp"] > claims["iat"] and claims["groups"] == ["ml-reviewers"]
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert _get(meta["userinfo_endpoint"], bearer)[2]["email"] == "ana@example.com"
        assert _get(meta["userinfo_endpoint"])[0] == 401
        # a code is good once
        assert _token(meta["token_endpoint"], form | {"code_verifier": VERIFIER})[0] == 400


@pytest.mark.parametrize("verifier", ["", "not-the-verifier"])
def test_a_code_without_its_pkce_verifier_is_refused(verifier: str) -> None:
    with running_provider(USER) as provider:
        _, _, meta = _get(provider.metadata_url)
        form = {"grant_type": "authorization_code", "code": _code(meta["authorization_endpoint"]),
                "redirect_uri": REDIRECT, "code_verifier": verifier}  # fmt: skip
        assert _token(meta["token_endpoint"], form) == (400, {"error": "invalid_grant"})
