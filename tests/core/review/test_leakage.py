"""The leakage gate on real reviews: a leaked column, a post-outcome measurement, a perfect R²."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.schema import ColumnSchema
from core.review.leakage import FILLED_IN, FLAGGED, leak_suspects
from core.review.review import review_version
from core.train.registry import register_run


def loans(rows: int, seed: int) -> pd.DataFrame:
    """Loans whose default follows income; ``days_to_default`` is only known once a loan has
    defaulted (a time to the event), ``amount_recovered`` is measured after it."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, rows), "region": rng.choice(["n", "s"], rows)}
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=rows) < 47).astype(int)
    defaulted = frame["default"] == 1
    frame["days_to_default"] = np.where(defaulted, rng.integers(5, 400, rows), np.nan)
    frame["amount_recovered"] = np.where(defaulted, rng.normal(800, 200, rows), 0.0)
    return frame


def houses(rows: int, seed: int) -> pd.DataFrame:
    """House prices with the price itself leaked in another currency."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(120, 30, rows), "rooms": rng.integers(1, 7, rows)})
    frame["price"] = 2_000 * frame["size"] + 9_000 * frame["rooms"] + rng.normal(0, 20_000, rows)
    frame["price_eur"] = frame["price"] * 0.92
    return frame


SCHEMA = [
    ColumnSchema("income", "double", "numeric"),
    ColumnSchema("region", "string", "categorical"),
    ColumnSchema("days_to_default", "double", "numeric"),
    ColumnSchema("amount_recovered", "double", "numeric"),
]


def test_the_suspects_are_the_flagged_column_and_the_post_outcome_measurement():
    frame = loans(800, seed=1)
    X, y = frame.drop(columns="default"), frame["default"]
    suspects = {s.column: s for s in leak_suspects(X, y, schema=SCHEMA, strength_bar=0.95)}
    assert set(suspects) == {"amount_recovered", "days_to_default"}
    assert suspects["amount_recovered"].why == FLAGGED
    assert suspects["amount_recovered"].measure == "ROC AUC"
    assert suspects["days_to_default"].why == FILLED_IN  # its values alone look like noise
    assert suspects["days_to_default"].strength > 0.99
    clean = X[["income", "region"]]
    assert leak_suspects(clean, y, schema=SCHEMA, strength_bar=0.95) == ()
    assert leak_suspects(X.head(30), y.head(30), schema=SCHEMA, strength_bar=0.95) == ()


@pytest.fixture(scope="module")
def leaky_home(tmp_path_factory, train_frame) -> Path:
    home = tmp_path_factory.mktemp("leakage") / "studio"
    frame = loans(600, seed=2)
    for name, data in (
        ("clean", frame.drop(columns=["days_to_default", "amount_recovered"])),
        ("post-outcome", frame.drop(columns=["amount_recovered"])),
    ):
        outcome = train_frame(home, data, name=name, target="default")
        register_run(home, outcome.best.id, name=name, onnx=False)
    outcome = train_frame(
        home, houses(600, seed=3), name="houses", target="price", models=("ridge",)
    )
    register_run(home, outcome.best.id, name="houses", onnx=False)
    return home


def _leakage(review):
    return next(gate for gate in review.gates if gate.name == "leakage")


def test_a_leaked_price_fails_the_review_that_every_other_gate_passes(leaky_home):
    review = review_version(leaky_home, "houses", sensitive=[])
    assert review.gates[0].value > 0.999  # R² = 1.000 on the holdout
    gate = _leakage(review)
    assert gate.passed is False and not review.passed
    assert "‘price_eur’: flagged by the data checks as likely target leakage" in gate.message
    assert re.search(r"the holdout R² of 0\.99\d\d is too good to be true", gate.message)
    assert "drop it in Prepare" in gate.message and "approve with a reason" in gate.message
    assert [g.name for g in review.gates if g.passed is False] == ["leakage"]


def test_a_time_to_event_column_fails_by_whether_it_is_filled_in(leaky_home):
    gate = _leakage(review_version(leaky_home, "post-outcome", sensitive=[]))
    assert gate.passed is False
    assert "‘days_to_default’: whether it is filled in alone predicts the target" in gate.message


def test_a_clean_model_passes_the_leakage_gate(leaky_home):
    gate = _leakage(review_version(leaky_home, "clean", sensitive=[]))
    assert gate.passed is True, gate.message
    assert gate.message.startswith("No input is flagged by the data checks")
