"""The Explore page in AppTest: empty state, upload, every section, roles, bad files, the report."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from app import state
from app.components import FOLLOW_SECONDS
from core.data.datasets import import_dataset, list_datasets
from core.jobs import wait_for_job
from core.jobs.runner import list_recent_jobs
from tests.pages.apptest import ENTRYPOINT, no_errors

HOSTILE = "<script>alert(1)</script>"


def app() -> AppTest:
    at = AppTest.from_file(ENTRYPOINT, default_timeout=60)
    return at.run()


def finish_jobs(home: Path) -> None:
    for job in list_recent_jobs(home):
        wait_for_job(home, job.id, timeout=120)


@pytest.fixture
def credit_home(studio_home: Path, small_frame: pd.DataFrame, import_frame) -> Path:
    import_frame(studio_home, small_frame, name="small")
    return studio_home


def test_empty_studio_says_what_to_do(studio_home: Path) -> None:
    at = app()
    no_errors(at)
    assert any("No datasets yet" in info.value for info in at.info)
    assert at.button(key=state.SAMPLES_BUTTON)


def test_upload_a_csv_imports_and_selects_it(studio_home: Path, small_frame: pd.DataFrame) -> None:
    at = app()
    at.file_uploader(key=state.UPLOAD).set_value(
        ("loans.csv", small_frame.to_csv(index=False).encode(), "text/csv")
    )
    at.button(key=state.UPLOAD_BUTTON).click().run()
    no_errors(at)
    finish_jobs(studio_home)
    at.run()
    at.run()
    no_errors(at)
    assert [d.name for d in list_datasets(studio_home)] == ["loans"]
    assert any("Imported loans v1" in s.value for s in at.success)
    assert at.selectbox(key=state.DATASET_PICKER).value == list_datasets(studio_home)[0].id


EUROPEAN = "Artikel;Menge;Preis\nÄpfel;1.500;3,50\nBirnen;800;2,25\n".encode("cp1252")


def _upload(studio_home: Path, name: str, data: bytes, option: str, choice: str) -> AppTest:
    """Upload ``data`` as ``name`` with the import option ``option`` set to ``choice``."""
    at = app()
    at.file_uploader(key=state.UPLOAD).set_value((name, data, "text/csv"))
    at.selectbox(key=option).set_value(choice)
    at.button(key=state.UPLOAD_BUTTON).click().run()
    finish_jobs(studio_home)
    at.run()
    at.run()
    no_errors(at)
    return at


def _upload_european(studio_home: Path, decimal: str) -> AppTest:
    return _upload(studio_home, "preise.csv", EUROPEAN, state.UPLOAD_DECIMAL, decimal)


def test_a_european_export_imports_its_numbers_and_says_what_was_assumed(
    studio_home: Path,
) -> None:
    at = _upload_european(studio_home, "Detect")
    version = list_datasets(studio_home)[0].latest
    dtypes = {column.name: column.dtype for column in version.schema}
    assert dtypes == {"Artikel": "string", "Menge": "int64", "Preis": "double"}
    warnings = [warning.value.replace("\\", "") for warning in at.warning]  # md() escapes
    assert any("Windows-1252 (Western European)" in text for text in warnings), warnings
    assert any("decimal comma" in text and "'Menge'" in text for text in warnings), warnings


def test_a_chosen_decimal_point_keeps_decimal_commas_as_text(studio_home: Path) -> None:
    _upload_european(studio_home, "Point: 1,234.5")
    version = list_datasets(studio_home)[0].latest
    assert {column.name: column.dtype for column in version.schema}["Preis"] == "string"


def _upload_notes(studio_home: Path, quotes: str) -> AppTest:
    lines = ["id,amount,note"] + [f"{i},{i * 3},note {i}" for i in range(3_000)]
    lines[1_001] = '12,"broken,3'  # line 1,002: the rest of the file would be one value
    data = ("\n".join(lines) + "\n").encode()
    return _upload(studio_home, "notes.csv", data, state.UPLOAD_QUOTES, quotes)


def test_a_stray_quote_keeps_every_row_and_the_page_says_which_line(studio_home: Path) -> None:
    at = _upload_notes(studio_home, "Detect")
    assert list_datasets(studio_home)[0].latest.row_count == 3_000
    assert any("3,000 rows" in success.value for success in at.success)
    warnings = [warning.value.replace("\\", "") for warning in at.warning]  # md() escapes
    assert any("Line 1002 has a quote mark that never closes" in text for text in warnings)


def test_quote_marks_can_be_read_as_ordinary_characters(studio_home: Path) -> None:
    at = _upload_notes(studio_home, "Never (ordinary characters)")
    assert list_datasets(studio_home)[0].latest.row_count == 3_000
    assert not at.warning


def test_a_picture_renamed_csv_gets_a_clear_error(studio_home: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    at = app()
    at.file_uploader(key=state.UPLOAD).set_value(("photo.csv", png, "text/csv"))
    at.button(key=state.UPLOAD_BUTTON).click().run()
    finish_jobs(studio_home)
    at.run()
    no_errors(at)
    assert any("PNG" in error.value for error in at.error)
    assert list_datasets(studio_home) == []


def test_every_section_renders(credit_home: Path) -> None:
    at = app()
    no_errors(at)
    at.selectbox(key=f"{state.EXPLORE_TARGET}.1").set_value("target").run()
    assert len(at.get("plotly_chart")) == 1  # the overview charts the chosen target's classes
    at.selectbox(key=f"{state.EXPLORE_TARGET}.1").select_index(0).run()  # (none)
    assert not at.get("plotly_chart")  # no target, nothing to chart
    at.selectbox(key=f"{state.EXPLORE_TARGET}.1").set_value("target").run()
    for section in [
        "Overview",
        "Columns",
        "Correlations",
        "Missing values",
        "Relationships",
        "Target",
        "Quality",
    ]:
        at.radio(key=state.EXPLORE_SECTION).set_value(section).run()
        no_errors(at)
        assert at.get("plotly_chart") or at.dataframe or at.table or at.success, section
    at.radio(key=state.EXPLORE_SECTION).set_value("Columns").run()
    for column in ["income", "region", "signup"]:
        at.selectbox(key=state.EXPLORE_COLUMN).set_value(column).run()
        no_errors(at)
        assert at.get("plotly_chart")


def test_the_columns_section_opens_on_the_first_column_that_is_not_an_id(
    credit_home: Path,
) -> None:
    at = app()
    at.radio(key=state.EXPLORE_SECTION).set_value("Columns").run()
    no_errors(at)
    version = list_datasets(credit_home)[0].latest
    assert [c.role for c in version.schema][:2] == ["id", "numeric"]  # customer_id, age
    assert at.selectbox(key=state.EXPLORE_COLUMN).value == "age"
    assert any("Role: numeric" in caption.value for caption in at.caption)


def test_quality_checks_are_listed(credit_home: Path) -> None:
    at = app()
    at.radio(key=state.EXPLORE_SECTION).set_value("Quality").run()
    no_errors(at)
    table = at.table[0].value  # a static table: each finding is shown whole, wrapped
    assert {"check", "finding"} <= set(table.columns)
    assert "Outliers" in set(table["check"])  # the check's name in words, not "outliers"
    assert any("income" in finding for finding in table["finding"])


def test_changing_a_role_is_saved(credit_home: Path) -> None:
    at = app()
    at.selectbox(key=state.ROLE_COLUMN).set_value("region")
    at.selectbox(key=state.ROLE_VALUE).set_value("text")
    at.button(key=state.ROLE_SAVE).click().run()
    no_errors(at)
    version = list_datasets(credit_home)[0].latest
    assert next(c.role for c in version.schema if c.name == "region") == "text"


def test_hostile_names_and_values_show_as_text(studio_home: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            HOSTILE: ["<img src=x onerror=alert(2)>", "[x](javascript:alert(3))"] * 20,
            "value": np.arange(40.0),
        }
    )
    path = tmp_path / f"{'x'}.csv"
    frame.to_csv(path, index=False)
    import_dataset(studio_home, path=path, name="<b>bold</b>")
    at = app()
    for section in ["Overview", "Columns", "Quality"]:
        at.radio(key=state.EXPLORE_SECTION).set_value(section).run()
        no_errors(at)
    rendered = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "<b>bold</b>" not in rendered and "<script>" not in rendered


def test_profile_report_builds_as_a_job_and_is_kept(credit_home: Path) -> None:
    at = app()
    at.radio(key=state.EXPLORE_SECTION).set_value("Profile report").run()
    at.radio(key=state.REPORT_MODE).set_value("minimal")
    at.button(key=state.REPORT_BUTTON).click().run()
    no_errors(at)
    finish_jobs(credit_home)
    at.run()
    no_errors(at)
    assert at.get("download_button")
    fresh = app()
    fresh.radio(key=state.EXPLORE_SECTION).set_value("Profile report").run()
    assert fresh.get("download_button"), "the report is kept per dataset version"


def test_a_fresh_tab_gets_its_controls_before_the_charts_and_grid(credit_home: Path) -> None:
    """The first run of a tab sends the title and controls but no plotly chart or data grid
    (their JavaScript would hold the first widget back) and asks the browser for a rerun once
    it has drawn them; that run and every later one draw the whole overview."""
    runs: list[list[str]] = []
    timers: list[float] = []

    def record(message: ForwardMsg) -> None:
        if message.HasField("navigation"):  # each run of the entrypoint begins with it
            runs.append([])
        elif message.HasField("auto_rerun"):
            timers.append(message.auto_rerun.interval)
        elif message.HasField("delta") and message.delta.HasField("new_element") and runs:
            runs[-1].append(message.delta.new_element.WhichOneof("type") or "")

    ForwardMsgQueue.on_before_enqueue_msg(record)
    try:
        at = AppTest.from_file(ENTRYPOINT, default_timeout=60)
        at.session_state[f"{state.EXPLORE_TARGET}.1"] = "target"
        at.run()
        first_draw = len(at.get("plotly_chart")), len(at.dataframe)
        at.run()  # what the browser asks for (AppTest does not keep a fragment's timer)
        drawn = len(at.get("plotly_chart")), len(at.dataframe)
        at.run()
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(None)
    no_errors(at)
    heavy = {"plotly_chart", "dataframe"}
    assert len(runs) == 3, runs
    first, second, later = runs
    assert "selectbox" in first and heavy.isdisjoint(first), first
    assert heavy <= set(second) and heavy <= set(later), (second, later)
    assert first_draw == (0, 0) and drawn == (1, 1)
    # the browser's tick that asks for the second run, set by the first run only
    assert [t for t in timers if t == pytest.approx(FOLLOW_SECONDS)] == [timers[1]]
