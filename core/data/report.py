"""The full ydata-profiling report of a dataset version, built as a job and kept per version."""

from __future__ import annotations

import html
import re
import warnings
from pathlib import Path
from typing import Any

from core import artifacts
from core.data.datasets import get_version, load_frame

KIND = "profile_report"
FULL_MODE_MAX_ROWS = 200_000
MODES = ("full", "minimal")
UNKNOWN_MODE = "Report mode must be 'full' or 'minimal', got '{mode}'."
_SCRIPT = re.compile(r"(<script\b.*?</script>)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_EVENT_ATTRIBUTE = re.compile(r"(\s)(on[a-z]+)(\s*=)", re.IGNORECASE)
_SCRIPT_URL = re.compile(r"(href|src|action)(\s*=\s*[\"']?)\s*javascript:", re.IGNORECASE)


def report_subject(version_id: int) -> str:
    return f"dataset_version:{version_id}"


def report_dedupe_key(version_id: int, mode: str) -> str:
    return f"{KIND}:{version_id}:{mode}"


def default_mode(row_count: int) -> str:
    """Full reports for ordinary tables; the minimal one past 200k rows, where full is slow."""
    return "full" if row_count <= FULL_MODE_MAX_ROWS else "minimal"


def build_profile_report(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: profile one dataset version with ydata-profiling and save the HTML as an artifact."""
    mode = params.get("mode", "full")
    if mode not in MODES:
        raise ValueError(UNKNOWN_MODE.format(mode=mode))
    version = get_version(home, int(params["version_id"]))
    progress(0.02, f"Loading {version.label}")
    frame = load_frame(home, version)
    # ydata-profiling writes column names into its HTML unescaped; escaping them first makes
    # a hostile name show literally instead of running.
    frame.columns = [html.escape(str(name)) for name in frame.columns]
    page = _render(frame, title=f"{version.label}", minimal=mode == "minimal", progress=progress)
    progress(0.96, "Saving the report")
    relative = artifacts.new_artifact_path("reports", ".html")
    path = artifacts.write_atomically(
        home, relative, lambda temp: temp.write_text(neutralise_active_content(page), "utf-8")
    )
    return {
        "path": relative,
        "sha256": artifacts.sha256_of(path),
        "mode": mode,
        "version_id": version.id,
        "size_bytes": path.stat().st_size,
    }


def _render(frame: Any, *, title: str, minimal: bool, progress: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ydata_profiling
        import ydata_profiling.model.describe as describe

        describe.tqdm = _progress_bar_class(progress)
        report = ydata_profiling.ProfileReport(
            frame, title=html.escape(title), minimal=minimal, progress_bar=True
        )
        report.get_description()
        progress(0.85, "Rendering the HTML report")
        return str(report.to_html())


def _progress_bar_class(progress: Any) -> type:
    """A tqdm stand-in that turns ydata-profiling's progress into job progress."""
    from tqdm import tqdm

    class JobProgressBar(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            total = self.total or 1
            step = self.postfix or self.desc or "Profiling"
            progress(0.05 + 0.8 * min(self.n / total, 1.0), f"Profiling: {step}")
            return shown

    return JobProgressBar


def neutralise_active_content(page: str) -> str:
    """Disable event-handler attributes and ``javascript:`` URLs outside the report's scripts."""
    parts = _SCRIPT.split(page)
    for index in range(0, len(parts), 2):  # even parts lie outside <script> elements
        parts[index] = _TAG.sub(_neutralise_tag, parts[index])
    return "".join(parts)


def _neutralise_tag(match: re.Match[str]) -> str:
    tag = _EVENT_ATTRIBUTE.sub(r"\1data-blocked-\2\3", match.group(0))
    return _SCRIPT_URL.sub(r"\1\2blocked:", tag)


def report_path(home: Path, result: dict[str, Any]) -> Path:
    """The saved report, verified against its SHA-256."""
    return artifacts.verified_path(
        home, result["path"], result["sha256"], what="the profiling report"
    )
