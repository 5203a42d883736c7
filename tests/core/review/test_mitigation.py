"""Tests for mitigation: each method narrows the planted bias of the sample credit table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference

from core.data.datasets import import_dataset
from core.review import mitigation
from core.review.fairness import FairnessError
from core.store import audit, connect
from core.train import tracking
from core.train.model_files import load_model
from core.train.plan import ValidationPlan
from core.train.training import TrainRequest, run_data, train

CREDIT = Path(__file__).resolve().parents[3] / "sample_data" / "credit.csv"
ROWS = 4000


@dataclass(frozen=True)
class Trained:
    home: Path
    run_id: int


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """A logistic regression trained on the first rows of the sample credit table."""
    folder = tmp_path_factory.mktemp("mitigation")
    sample = folder / "credit.csv"
    with CREDIT.open() as source:
        sample.write_text("".join(line for _, line in zip(range(ROWS + 1), source, strict=False)))
    home = folder / "studio"
    version = import_dataset(home, path=sample, name="credit").version
    outcome = train(
        home,
        TrainRequest(
            version_id=version.id,
            target="default",
            models=("logistic_regression",),
            plan=ValidationPlan(folds=3),
        ),
    )
    run = next(run for run in outcome.runs if run.model == "logistic_regression")
    yield Trained(home, run.id)


def _original_predictions(trained: Trained) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    run = tracking.get_run(trained.home, trained.run_id)
    assert run.artifact_path and run.artifact_sha256
    pipeline = load_model(trained.home, run.artifact_path, run.artifact_sha256, what="original")
    data = run_data(trained.home, run)
    return data.y_holdout.to_numpy(), pipeline.predict(data.X_holdout), data.X_holdout["sex"]


def test_threshold_optimizer_narrows_demographic_parity(trained: Trained) -> None:
    truth, predicted, sex = _original_predictions(trained)
    before = demographic_parity_difference(truth, predicted, sensitive_features=sex)
    candidate = mitigation.mitigate(
        trained.home,
        trained.run_id,
        sensitive_features=["sex"],
        method="threshold_optimizer",
        constraint="demographic_parity",
    )
    assert before > 0.04  # the planted bias shows in the original model
    assert candidate.disparity < before / 2
    run = tracking.get_run(trained.home, candidate.run_id or 0)
    assert run.model == "logistic_regression+threshold_optimizer"
    assert run.tags == ["mitigated"] and run.status == "done"
    assert run.params == {
        "mitigation": "threshold_optimizer",
        "constraint": "demographic_parity",
        "sensitive_features": ["sex"],
        "source_run_id": trained.run_id,
    }
    assert run.holdout_score == pytest.approx(candidate.performance)
    assert run.metrics["fairness"]["differences"]["demographic_parity"] == candidate.disparity
    # the thresholder loads through the allowlist and needs the sensitive features to predict
    assert run.artifact_path and run.artifact_sha256
    thresholder = load_model(trained.home, run.artifact_path, run.artifact_sha256, what="it")
    data = run_data(trained.home, run)
    rows = data.X_holdout.head(20)
    labels = thresholder.predict(rows, sensitive_features=rows[["sex"]], random_state=0)
    assert set(np.unique(labels)) <= {0, 1}
    assert "needs the sensitive features" in run.notes


def test_exponentiated_gradient_narrows_demographic_parity(trained: Trained) -> None:
    # demographic parity, not equalized odds: on an 800-row holdout the true positive rates of
    # ~70 positives per group move by ±0.06 from chance alone, so an odds gap is too noisy to
    # test on; selection rates use every row
    truth, predicted, sex = _original_predictions(trained)
    before = demographic_parity_difference(truth, predicted, sensitive_features=sex)
    candidate = mitigation.mitigate(
        trained.home,
        trained.run_id,
        sensitive_features=["sex"],
        method="exponentiated_gradient",
        constraint="demographic_parity",
    )
    assert candidate.disparity < before / 2
    run = tracking.get_run(trained.home, candidate.run_id or 0)
    assert run.model == "logistic_regression+exponentiated_gradient"
    assert run.artifact_path is None and "no model file" in run.notes
    listed = {r.id: r for r in tracking.list_runs(trained.home)}
    assert candidate.run_id in listed and listed[candidate.run_id].tags == ["mitigated"]
    with connect(trained.home) as db:
        events = audit.events(db, entity_type="run", entity_id=str(candidate.run_id))
    assert [event.action for event in events] == ["run.mitigate"]


def test_trade_off_lists_the_original_then_the_mitigated_runs(trained: Trained) -> None:
    candidates = mitigation.trade_off(
        trained.home, trained.run_id, sensitive_features=["sex"], constraint="demographic_parity"
    )
    assert candidates[0].original and candidates[0].run_id == trained.run_id
    methods = [candidate.method for candidate in candidates[1:]]
    assert set(methods) >= {"threshold_optimizer", "exponentiated_gradient"}
    original = candidates[0]
    truth, predicted, sex = _original_predictions(trained)
    assert original.disparity == pytest.approx(
        demographic_parity_difference(truth, predicted, sensitive_features=sex), abs=1e-12
    )
    assert all(np.isfinite(c.performance) and np.isfinite(c.disparity) for c in candidates)
    rows = [candidate.to_dict() for candidate in candidates]
    assert rows[0]["original"] and not rows[1]["original"]
    # a mitigated run cannot be mitigated again
    with pytest.raises(FairnessError, match="already a mitigated candidate"):
        mitigation.mitigate(
            trained.home,
            candidates[1].run_id or 0,
            sensitive_features=["sex"],
            method="threshold_optimizer",
            constraint="demographic_parity",
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "reweighing", "constraint": "demographic_parity"}, "no mitigation method"),
        ({"method": "threshold_optimizer", "constraint": "parity"}, "no fairness constraint"),
    ],
)
def test_unknown_choices_are_refused(trained: Trained, kwargs: dict, message: str) -> None:
    with pytest.raises(FairnessError, match=message):
        mitigation.mitigate(trained.home, trained.run_id, sensitive_features=["sex"], **kwargs)


def test_an_unknown_sensitive_column_is_refused(trained: Trained) -> None:
    with pytest.raises(FairnessError, match="has no column"):
        mitigation.mitigate(
            trained.home,
            trained.run_id,
            sensitive_features=["gender"],
            method="threshold_optimizer",
            constraint="demographic_parity",
        )
