"""The trade-off: the original run and each run mitigated from it, as Candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core import words
from core.review.fairness import (
    FairnessError,
)
from core.review.mitigation.choices import (
    CONSTRAINTS,
    MITIGATED_TAG,
    PERFORMANCE_METRIC,
    UNKNOWN_CONSTRAINT,
    _check_features,
    _source_run,
)
from core.review.mitigation.measuring import Candidate, _fairness, _number
from core.store.runs import Run
from core.train.evaluate import (
    check_metric,
)
from core.train.model_files import load_model
from core.train.training import run_data


def trade_off(
    home: Path,
    run_id: int,
    *,
    sensitive_features: list[str],
    constraint: str,
    metric: str = PERFORMANCE_METRIC,
) -> list[Candidate]:
    """The original run, then each run mitigated from it on the same features, oldest first
    (empty while nothing has been mitigated).

    ``performance`` is the holdout ``metric`` (any binary metric; the primary one by default).
    The original's disparity is measured now, on its holdout; a mitigated run's comes from what
    was recorded for it (every constraint's gap is recorded), so runs mitigated on other
    sensitive features are left out: their gaps were measured between other groups.
    """
    from core.train.tracking import get_run, list_runs

    if constraint not in CONSTRAINTS:
        raise FairnessError(
            UNKNOWN_CONSTRAINT.format(constraint=constraint, choices=", ".join(CONSTRAINTS))
        )
    run = get_run(home, run_id)
    if run.params.get("source_run_id") is not None and MITIGATED_TAG in run.tags:
        run = get_run(home, int(run.params["source_run_id"]))
    source = _source_run(home, run.id)
    check_metric(metric, "binary")
    features = list(dict.fromkeys(sensitive_features))
    mitigated = [
        _mitigated_candidate(other, constraint=constraint, metric=metric)
        for other in sorted(list_runs(home, experiment=source.experiment), key=lambda r: r.id)
        if other.params.get("source_run_id") == source.id
        and MITIGATED_TAG in other.tags
        # the same groups whatever the order the features were chosen in
        and set(other.params.get("sensitive_features") or []) == set(features)
    ]
    if not mitigated:
        return []  # nothing to trade off yet; scoring the original costs a pass over its data
    original = _original_candidate(
        home, source, features=features, constraint=constraint, metric=metric
    )
    return [original, *mitigated]


def _original_candidate(
    home: Path, run: Run, *, features: list[str], constraint: str, metric: str
) -> Candidate:
    data = run_data(home, run)
    features = _check_features(run, data, features)
    assert run.artifact_path and run.artifact_sha256
    pipeline = load_model(home, run.artifact_path, run.artifact_sha256, what=f"run {run.id}")
    predicted = np.asarray(pipeline.predict(data.X_holdout))
    fairness = _fairness(
        data.y_holdout,
        predicted,
        probability=None,
        sensitive=data.X_holdout[features],
        positive=list(pipeline.classes_)[1],
        seed=run.seed or 0,
        n_boot=0,
    )
    holdout = dict(run.metrics.get("holdout") or {})
    return Candidate(
        name=f"#{run.id} {words.model(run.model)}",
        run_id=run.id,
        performance=_number(holdout.get(metric)),
        disparity=float(fairness["differences"][constraint]),
        metrics=holdout,
        sensitive_features=tuple(features),
    )


def _mitigated_candidate(run: Run, *, constraint: str, metric: str) -> Candidate:
    holdout = dict(run.metrics.get("holdout") or {})
    differences = (run.metrics.get("fairness") or {}).get("differences") or {}
    return Candidate(
        name=f"#{run.id} {words.model(run.model)}",
        run_id=run.id,
        performance=_number(holdout.get(metric)),
        disparity=_number(differences.get(constraint)),
        metrics=holdout,
        method=run.params.get("mitigation"),
        constraint=run.params.get("constraint"),
        sensitive_features=tuple(run.params.get("sensitive_features") or ()),
    )
