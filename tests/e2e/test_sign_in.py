"""Signing in a real Chromium: a team studio asks for it, the session survives a reload and a
page switch, signing out ends it, and an expired session's link asks to sign in again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.auth import Identity, acting_as
from core.auth.accounts import WRONG_SIGN_IN, add_user
from core.auth.sessions import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "correct horse battery"
SIGN_IN = "Sign in to MLOps Studio"


def test_sign_in_reload_sign_out_and_expiry(studio, studio_page) -> None:
    add_user(studio.home, "ada", role="admin", password=PASSWORD)
    with acting_as(Identity("ada", "admin", "session")):
        add_user(studio.home, "<img src=x onerror=alert(2)>", role="reviewer", password=PASSWORD)
    ui, main = studio_page, studio_page.main
    ui.first_visit(SIGN_IN)

    with ui.step("wrong-password"):
        ui.type_into("User name", "ada")
        main.get_by_label("Password", exact=True).fill("not the password")
        main.get_by_role("button", name="Sign in", exact=True).click()
        expect(main.get_by_text(WRONG_SIGN_IN)).to_be_visible()

    with ui.step("sign-in"):
        main.get_by_label("User name", exact=True).fill("<img src=x onerror=alert(2)>")
        main.get_by_label("Password", exact=True).fill(PASSWORD)
        main.get_by_role("button", name="Sign in", exact=True).click()
        ui._rendered("Explore", 0.0)
        sidebar = ui.page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Signed in as")).to_contain_text("<img src=x onerror=alert(2)>")
        assert "session=" in ui.page.url

    with ui.step("reload-and-switch"):
        ui.page.reload()
        ui._rendered("Explore", 0.0)
        ui.open("Audit")  # a reviewer reads the audit trail
        expect(main.get_by_text("events, newest first")).to_be_visible()
        ui.page.reload()
        ui._rendered("Audit", 0.0)

    with ui.step("sign-out"):
        ui.page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        ui._rendered(SIGN_IN, 0.0)
        assert "session=" not in ui.page.url

    with ui.step("expired"):
        stale = sign_in(studio.home, "ada", PASSWORD, hours=-1)
        ui.page.goto(f"{studio.url}/?session={stale}")
        ui._rendered(SIGN_IN, 0.0)
        expect(main.get_by_text("Your session has ended")).to_be_visible()
    assert ui.injected() == [] and ui.dialogs == [] and ui.outside_requests == []
