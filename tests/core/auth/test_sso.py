"""Single sign-on settings: configured only with a provider, a redirect and a cookie secret;
roles from the provider's groups, then the e-mail domain, then the studio's default or refusal."""

import pytest

from core.auth.sso import sso_configured, sso_identity, sso_role

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
