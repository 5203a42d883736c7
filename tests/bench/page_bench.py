"""What the page benchmarks share: a model of the sample credit table, and a page opened cold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = str(ROOT / "app" / "streamlit_app.py")


def credit_model(home: Path, *, model: str, folds: int) -> Any:
    """The sample credit table imported, ``model`` trained on it with ``folds``-fold validation
    and registered as credit-risk: the model version."""
    from core.data.datasets import import_dataset
    from core.train.plan import ValidationPlan
    from core.train.registry import register_run
    from core.train.training import TrainRequest, train

    version = import_dataset(home, path=ROOT / "sample_data" / "credit.csv", name="credit").version
    request = TrainRequest(
        version_id=version.id, target="default", models=(model,), plan=ValidationPlan(folds=folds)
    )
    return register_run(home, train(home, request).best.id, name="credit-risk", onnx=False)


def cold_page(name: str) -> Any:
    """A fresh AppTest with every Streamlit cache cleared, its entrypoint run and switched to
    pages/``name``.py: the next ``run()`` is a user's first visit to that page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(ENTRYPOINT, default_timeout=120)
    at.run()
    at.switch_page(f"../pages/{name}.py")
    return at
