"""The first page opens without loading what only later pages need: the entrypoint's frame
(navigation and sidebar) imports no data library, and drawing Explore on a real dataset imports
no scikit-learn, SciPy, SHAP, ONNX, ydata, FastAPI or Dask. Checked in a fresh process by what
it has imported, not by timing (tests/bench/bench_first_open.py times a real browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CREDIT = ROOT / "sample_data" / "credit.csv"
LATER_PAGES_ONLY = frozenset(
    {
        "sklearn",
        "scipy",
        "shap",
        "onnx",
        "onnxruntime",
        "skl2onnx",
        "skops",
        "ydata_profiling",
        "fastapi",
        "uvicorn",
        "dask",
        "distributed",
    }
)
DATA_LIBRARIES = frozenset({"pandas", "numpy", "pyarrow"})
# Imports the entrypoint's own modules (not the page scripts it runs) and lists what they added.
FRAME_PROBE = """
import json, sys
import streamlit
before = set(sys.modules)
from app import components, navigation, serve
print(json.dumps(sorted(name for name in set(sys.modules) - before if "." not in name)))
"""
# Runs the entrypoint as a browser's first visit does (AppTest) and lists every top-level module.
PAGE_PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
assert not at.exception, at.exception
assert [title.value for title in at.title] == ["Explore"], at.title
assert at.selectbox(key="picker.dataset").value is not None
print(json.dumps(sorted(name for name in sys.modules if "." not in name)))
"""


def probe(code: str, *args: str, home: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STUDIO_HOME": str(home)}
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_the_entrypoint_frame_imports_no_data_library(tmp_path: Path) -> None:
    added = probe(FRAME_PROBE, home=tmp_path / "studio")
    assert added & (DATA_LIBRARIES | LATER_PAGES_ONLY) == set()


def test_the_first_page_on_a_dataset_loads_nothing_later_pages_need(tmp_path: Path) -> None:
    home = tmp_path / "studio"
    subprocess.run(
        [sys.executable, "-m", "app.cli", "--home", str(home), "import", str(CREDIT)]
        + ["--name", "credit"],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    imported = probe(PAGE_PROBE, str(ROOT / "app" / "streamlit_app.py"), home=home)
    assert imported & LATER_PAGES_ONLY == set()
    assert "pandas" in imported  # the probe did draw the page's data
