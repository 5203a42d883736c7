"""Single sign-on settings: configured only with a provider, a redirect and a cookie secret;
roles from the provider's groups, then the e-mail domain, then the studio's default or refusal."""

import sys

import pytest

from core.auth.access import check_exposure
from core.auth.sso import (
    check_sso_library,
    provider_label,
    sso_configured,
    sso_identity,
    sso_providers,
    sso_role,
)

MAPPING = {
    "groups": {"ml-admins": "admin", "ml-reviewers": "reviewer"},
    "domains": {"Example.com": "data scientist"},
    "unmapped": "refuse",
}


def test_configured_needs_a_provider_redirect_and_cookie_secret(studio_home) -> None:
    studio_home.mkdir(parents=True)
    secrets = studio_home / "secrets.toml"
    assert not sso_configured(studio_home)
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert not sso_configured(studio_home)
    secrets.write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "s"\n'
        'client_id = "c"\nclient_secret = "x"\n'
        'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n'
    )
    assert sso_configured(studio_home)


def test_roles_come_from_groups_then_domain_then_the_default() -> None:
    assert sso_role({"groups": ["staff", "ml-reviewers"], "email": "a@example.com"}, MAPPING) == (
        "reviewer"
    )
    assert sso_role({"email": "b@EXAMPLE.com"}, MAPPING) == "data scientist"
    assert sso_role({"email": "c@elsewhere.org"}, MAPPING) is None
    assert sso_role({"email": "c@elsewhere.org"}, {"unmapped": "viewer"}) == "viewer"
    assert sso_role({"email": "c@elsewhere.org"}, {}) == "viewer"


def test_an_unmapped_user_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="Ask an admin to map"):
        sso_identity({"email": "c@elsewhere.org"}, MAPPING)
    found = sso_identity({"email": "a@example.com", "groups": ["ml-admins"]}, MAPPING)
    assert (found.name, found.role, found.source) == ("a@example.com", "admin", "sso")


PROVIDER = (
    'client_id = "c"\nclient_secret = "x"\n'
    'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n'
)
SHARED = '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "s"\n'


def test_providers_are_the_default_one_and_each_complete_named_section(studio_home) -> None:
    studio_home.mkdir(parents=True)
    secrets = studio_home / "secrets.toml"
    secrets.write_text(SHARED + "[auth.okta]\n" + PROVIDER + '[auth.half]\nclient_id = "c"\n')
    assert sso_providers(studio_home) == ["okta"]
    assert [provider_label(name) for name in ("okta", "default")] == ["Okta", "single sign-on"]
    secrets.write_text(SHARED + PROVIDER)
    assert sso_providers(studio_home) == ["default"]
    secrets.write_text(SHARED.replace('cookie_secret = "s"\n', "") + PROVIDER)
    assert sso_providers(studio_home) == []


def test_the_ui_may_listen_beyond_this_machine_once_single_sign_on_is_complete(
    studio_home,
) -> None:
    studio_home.mkdir(parents=True)
    secrets = studio_home / "secrets.toml"
    secrets.write_text(SHARED + "[auth.okta]\n" + PROVIDER.replace('client_secret = "x"\n', ""))
    with pytest.raises(ValueError, match="no single sign-on"):
        check_exposure(studio_home, "0.0.0.0", sso=sso_configured(studio_home))
    secrets.write_text(SHARED + "[auth.okta]\n" + PROVIDER)
    check_exposure(studio_home, "0.0.0.0", sso=sso_configured(studio_home))


def test_single_sign_on_needs_authlib_and_says_how_to_get_it(monkeypatch) -> None:
    check_sso_library()  # a declared dependency: installed with the studio
    monkeypatch.setitem(sys.modules, "authlib", None)  # as if it were not installed
    with pytest.raises(ValueError, match="pip install 'Authlib>=1.3.2'"):
        check_sso_library()
