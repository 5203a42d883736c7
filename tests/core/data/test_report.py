"""The ydata-profiling report job: real report, progress, kept per version, hostile text inert."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from core.data import report
from core.data.datasets import import_dataset
from core.jobs import submit_job, wait_for_job

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_VALUE = "<img src=x onerror=alert(2)>"


class ActiveContent(HTMLParser):
    """Collects what could run: event-handler attributes, javascript: URLs, script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers: list[str] = []
        self.script_urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}={value}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.script_urls.append(value)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_report_job_builds_a_safe_report(studio_home: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            HOSTILE_NAME: [HOSTILE_VALUE, "[x](javascript:alert(3))", "plain"] * 30,
            "amount": range(90),
            "group": ["a", "b", "c"] * 30,
        }
    )
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    version = import_dataset(studio_home, path=path, name="hostile").version
    job = submit_job(
        studio_home,
        kind=report.KIND,
        params={"version_id": version.id, "mode": "full"},
        subject=report.report_subject(version.id),
        dedupe_key=report.report_dedupe_key(version.id, "full"),
    )
    done = wait_for_job(studio_home, job.id, timeout=300)
    assert done.status == "done", done.error
    page = report.report_path(studio_home, done.result).read_text()
    # the name shows as text (the report minifier writes "&gt;" back as a plain ">")
    assert "amount" in page and "&lt;script>alert(1)&lt;/script>" in page
    scanner = ActiveContent()
    scanner.feed(page)
    assert scanner.handlers == [] and scanner.script_urls == []
    assert not any("alert(" in script for script in scanner.scripts)
    remote = re.findall(r"<(?:script|link|img)[^>]*(?:src|href)=[\"']?https?://", page)
    assert remote == [], "the report must not load anything from the internet"


def test_neutralise_leaves_scripts_and_disables_injected_handlers() -> None:
    page = (
        '<p title="x" onclick="alert(1)">a</p><a href="javascript:alert(2)">b</a>'
        "<script>var s = ' onclick=ok';</script>"
    )
    cleaned = report.neutralise_active_content(page)
    assert "data-blocked-onclick" in cleaned and "blocked:alert(2)" in cleaned
    assert "<script>var s = ' onclick=ok';</script>" in cleaned


def test_default_mode_is_minimal_for_large_tables() -> None:
    assert report.default_mode(1_000) == "full"
    assert report.default_mode(1_000_000) == "minimal"
