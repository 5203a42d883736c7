"""Sign-in, sign-out, the Team and Audit pages in AppTest: the single-user default opens with no
sign-in; a team studio asks for it, keeps the session in the URL across a reload, refuses a
stale or foreign session, and signs out."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.navigation import studio_page_names
from app.people import audit_view, signin, team
from core.auth import Identity, acting_as
from core.auth.accounts import WRONG_SIGN_IN, add_user
from core.auth.sessions import sign_in
from core.store import audit, connect
from tests.pages.apptest import ENTRYPOINT, ROOT

PASSWORD = "correct horse battery"


def _app() -> AppTest:
    return AppTest.from_file(ENTRYPOINT, default_timeout=60)


def _team(home: Path) -> None:
    add_user(home, "ada", role="admin", password=PASSWORD)
    with acting_as(Identity("ada", "admin", "session")):
        add_user(home, "<b>vic</b>", role="viewer", password=PASSWORD)


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key=signin.NAME).input(name)
    at.text_input(key=signin.PASSWORD).input(password)
    return at.button(key=signin.SUBMIT).click().run()


def test_the_single_user_default_opens_with_no_sign_in(studio_home: Path) -> None:
    at = _app()
    at.run()
    assert not at.exception
    assert [title.value for title in at.title] == ["Explore"]
    assert not any("Signed in" in caption.value for caption in at.sidebar.caption)


def test_first_run_creates_the_admin_and_signs_in(studio_home: Path) -> None:
    at = _app()
    at.run()
    at.switch_page("../pages/team.py").run()
    at.text_input(key=team.FIRST_NAME).input("ada")
    at.text_input(key=team.FIRST_PASSWORD).input(PASSWORD)
    at.text_input(key=team.FIRST_AGAIN).input(PASSWORD)
    at.button(key=team.FIRST_SUBMIT).click().run()
    assert not at.exception
    assert at.query_params.get(signin.SESSION_PARAM)
    assert "Signed in as **ada** · admin" in [caption.value for caption in at.sidebar.caption]


def test_a_team_signs_in_survives_a_reload_and_signs_out(studio_home: Path) -> None:
    _team(studio_home)
    at = _app()
    at.run()
    assert [title.value for title in at.title] == ["Sign in to MLOps Studio"]
    _sign_in(at, "ada", "wrong password")
    assert [error.value for error in at.error] == [WRONG_SIGN_IN]
    _sign_in(at, "nobody", PASSWORD)
    assert [error.value for error in at.error] == [WRONG_SIGN_IN]
    _sign_in(at, "<b>vic</b>", PASSWORD)
    assert not at.exception and [title.value for title in at.title] == ["Explore"]
    session_id = at.query_params[signin.SESSION_PARAM]
    captions = [caption.value for caption in at.sidebar.caption]
    assert any(r"\<b\>vic\</b\>" in caption for caption in captions)  # shown as text

    reloaded = _app()  # a reload: a new session with the URL's query string
    reloaded.query_params[signin.SESSION_PARAM] = session_id
    reloaded.run()
    assert [title.value for title in reloaded.title] == ["Explore"]
    reloaded.sidebar.button(key=signin.SIGN_OUT).click().run()
    assert [title.value for title in reloaded.title] == ["Sign in to MLOps Studio"]

    stale = _app()
    stale.query_params[signin.SESSION_PARAM] = session_id  # signed out: no longer valid
    stale.run()
    assert [title.value for title in stale.title] == ["Sign in to MLOps Studio"]
    assert [info.value for info in stale.info] == [signin.ENDED]


def test_a_session_from_another_studio_or_expired_is_refused(studio_home: Path) -> None:
    _team(studio_home)
    for session_id in ("from-another-studio", sign_in(studio_home, "ada", PASSWORD, hours=-1)):
        at = _app()
        at.query_params[signin.SESSION_PARAM] = session_id
        at.run()
        assert [title.value for title in at.title] == ["Sign in to MLOps Studio"]


def test_the_audit_page_filters_and_exports_safe_csv(studio_home: Path) -> None:
    _team(studio_home)
    with connect(studio_home) as db:
        audit.record(db, actor="=cmd|' /C calc'!A0", action="run.delete", entity_type="run",
                     entity_id=1)  # fmt: skip
    at = _app()
    at.query_params[signin.SESSION_PARAM] = sign_in(studio_home, "ada", PASSWORD)
    at.run()
    at.switch_page("../pages/audit.py").run()
    assert not at.exception and [title.value for title in at.title] == ["Audit"]
    at.selectbox(key=audit_view.ACTION).select("run.delete").run()
    shown = at.dataframe[0].value
    assert list(shown["Action"]) == ["run.delete"]
    at.button(key=audit_view.VERIFY).click().run()
    assert "The audit trail is intact" in at.success[0].value
    exported = pd.read_csv(io.BytesIO(_csv(shown)))
    assert exported["Who"][0].startswith("'=")


def _csv(frame: pd.DataFrame) -> bytes:
    from core.data.export import csv_bytes

    return csv_bytes(frame)


def test_the_audit_page_is_not_for_viewers(studio_home: Path) -> None:
    _team(studio_home)
    assert studio_page_names(audit=False) == ["team"]  # not even listed
    assert studio_page_names(audit=True) == ["team", "audit"]
    page = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=60)
    page.session_state[signin.IDENTITY] = Identity("<b>vic</b>", "viewer", "session")
    page.run()
    assert not page.exception and not page.dataframe
    assert "for the reviewer and admin roles" in page.info[0].value


def test_a_viewer_sees_a_write_action_greyed_out_with_the_role_it_needs(studio_home: Path) -> None:
    # core refuses it anyway (tests/core/auth/test_permissions.py); the page says so first
    from app import state

    _team(studio_home)
    at = _app()
    at.query_params[signin.SESSION_PARAM] = sign_in(studio_home, "<b>vic</b>", PASSWORD)
    at.run()
    samples = at.button(key=state.SAMPLES_BUTTON)
    assert samples.proto.disabled
    assert "Only the data scientist or admin role may import datasets" in samples.help
    assert "you are signed in as viewer" in samples.help
    with connect(studio_home) as db:
        assert not audit.events(db, action="job.submit")  # nothing was started
