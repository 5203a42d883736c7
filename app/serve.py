"""Run the Streamlit server with what the first page needs imported first, and the rest of the
studio's libraries imported in the background once that page has been drawn."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterable

# The first page (Explore) and its charts: imported before the server answers, so the first tab
# does not wait for them. Nothing here imports scikit-learn.
FIRST_PAGE = (
    "pandas",
    "pyarrow.parquet",
    # Modules with Streamlit caches are left to the first run: their decorators need the runtime.
    "app.explore.charts",
    "app.explore.target_charts",
    "core.data.datasets",
    "core.data.profile",
    "core.data.quality",
    "core.data.explore",
)
# The other pages' libraries: imported in a background thread after the first page is drawn
# (see warm_up_in_background), so the server answers in seconds rather than after all of them,
# and a later page switch still finds them loaded.
LATER = (
    "core.prep.steps",
    "core.train.training",
    "core.train.tracking",
    "core.train.registry",
    # Loading a model file imports skops, which walks every scikit-learn estimator (1.5 s):
    # paid here, not by the first person who opens Deploy or Monitor.
    "skops.io",
    "core.serving.scoring",
    "core.serving.deployments",
    "core.monitor.drift",
    "core.retrain.challenger",
    "core.review.review",
)
PRELOAD = FIRST_PAGE + LATER
WARM_UP_ENV = "MLOPS_STUDIO_WARM_UP"
_warm_up_started = threading.Event()


def preload(names: Iterable[str] = PRELOAD) -> None:
    """Import ``names`` (by default everything the pages need) once."""
    for name in names:
        importlib.import_module(name)


def warm_up_in_background() -> None:
    """Once per server process, after a first page is drawn: import LATER in a daemon thread.
    Does nothing outside `app.serve` (page tests, `streamlit run` by hand)."""
    if os.environ.get(WARM_UP_ENV) != "1" or _warm_up_started.is_set():
        return
    _warm_up_started.set()
    threading.Thread(target=preload, args=(LATER,), name="warm-up", daemon=True).start()


def main() -> None:
    preload(FIRST_PAGE)
    os.environ[WARM_UP_ENV] = "1"
    from streamlit.web.cli import main as streamlit_main

    sys.exit(streamlit_main(prog_name="streamlit"))


if __name__ == "__main__":
    main()
