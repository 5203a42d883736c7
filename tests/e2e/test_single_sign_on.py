"""Single sign-on in a real Chromium through Streamlit's own OIDC sign-in (``st.login``) against
a local identity provider started by the test: the provider's groups give the role, signing out
ends it, and a user with no mapped role is refused or reads only, as the studio is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.sso import NO_ROLE
from tests.e2e.oidc_provider import Provider, running_provider, secrets_toml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIGN_IN = "Sign in to MLOps Studio"
REVIEWER = {
    "sub": "u-ana",
    "email": "ana@example.com",
    "name": "Ana Reviewer",
    "groups": ["staff", "ml-reviewers"],
}
OUTSIDER = {"sub": "u-oz", "email": "oz@elsewhere.org", "name": "Oz", "groups": ["contractors"]}
ROLES = """[studio_roles]
unmapped = "{unmapped}"
[studio_roles.groups]
"ml-reviewers" = "reviewer"
"""


@pytest.fixture
def identity_provider(tmp_path: Path) -> Iterator[Provider]:
    """The provider, and the studio home's secrets naming it; requested before ``studio`` so
    the secrets exist when the studio starts."""
    home = tmp_path / "studio"
    home.mkdir()
    with running_provider(dict(REVIEWER)) as provider:
        mapping = ROLES.format(unmapped="refuse")
        (home / "secrets.toml").write_text(secrets_toml(provider, name="mock", mapping=mapping))
        yield provider


def _set_unmapped(home: Path, unmapped: str) -> None:
    secrets = home / "secrets.toml"
    text = secrets.read_text()
    for choice in ("refuse", "viewer"):
        text = text.replace(f'unmapped = "{choice}"', f'unmapped = "{unmapped}"')
    secrets.write_text(text)


def test_sign_in_with_the_provider_maps_groups_to_roles(
    identity_provider, studio, studio_page
) -> None:
    ui, main = studio_page, studio_page.main
    sidebar = ui.page.get_by_test_id("stSidebar")
    ui.first_visit(SIGN_IN)
    expect(main.get_by_label("Password", exact=True)).to_have_count(0)  # no accounts: SSO only

    with ui.step("sign-in-as-reviewer"):
        main.get_by_role("button", name="Sign in with Mock").click()
        ui._rendered("Explore", 0.0)
        expect(sidebar.get_by_text("Signed in as")).to_contain_text("ana@example.com · reviewer")
        assert identity_provider.user["email"] == "ana@example.com"
        assert any(path.startswith("/token") for path in identity_provider.requests)

    with ui.step("reload-keeps-it"):
        ui.page.reload()
        ui._rendered("Explore", 0.0)
        ui.open("Audit")  # a reviewer may read the audit trail
        expect(
            main.get_by_role("button", name="Check the audit trail for tampering")
        ).to_be_visible()

    with ui.step("sign-out"):
        sidebar.get_by_role("button", name="Sign out").click()
        ui._rendered(SIGN_IN, 0.0)

    with ui.step("unmapped-is-refused"):
        identity_provider.user = dict(OUTSIDER)
        main.get_by_role("button", name="Sign in with Mock").click()
        expect(main.get_by_text(NO_ROLE.format(email="oz@elsewhere.org"))).to_be_visible()
        expect(ui.page.get_by_test_id("stSidebarNav")).to_have_count(0)

    with ui.step("unmapped-reads-only"):
        _set_unmapped(studio.home, "viewer")
        ui.page.reload()
        ui._rendered("Explore", 0.0)
        expect(sidebar.get_by_text("Signed in as")).to_contain_text("oz@elsewhere.org · viewer")
    assert ui.injected() == [] and ui.dialogs == [] and ui.outside_requests == []
