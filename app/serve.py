"""Run the Streamlit server with the studio's libraries imported first, for quick first loads."""

from __future__ import annotations

import importlib
import sys

PRELOAD = (
    "pandas",
    "pyarrow.parquet",
    "plotly.graph_objects",
    "sqlite_utils",
    # Modules with Streamlit caches are left to the first run: their decorators need the runtime.
    "app.explore.charts",
    "app.explore.target_charts",
    "core.data.datasets",
    "core.data.profile",
    "core.data.quality",
    "core.data.explore",
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


def preload() -> None:
    """Import what the pages need once, at server start, not in a user's first page load."""
    for name in PRELOAD:
        importlib.import_module(name)


def main() -> None:
    preload()
    from streamlit.web.cli import main as streamlit_main

    sys.exit(streamlit_main(prog_name="streamlit"))


if __name__ == "__main__":
    main()
