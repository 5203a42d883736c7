"""The explain job's saved summary: what it wrote before still loads as typed values."""

import json

from core.review.explain.inspection import PartialDependence
from core.review.explain.job import ExplanationExtras

CURVE = {
    "feature": "signup",
    "kind": "datetime",
    "output": "probability of class 1",
    "target_class": 1,
    "grid": ["2024-01-01T00:00:00", "2024-06-01T00:00:00"],
    "average": [0.2, None],
    "ice": [[0.1, 0.3], [None, 0.2]],
    "rows": 2,
}

# the summary JSON beside the Parquet frames, minus the explanation's own metadata
SAVED = {
    "version_id": 4,
    "run_id": 9,
    "model_sha256": "a" * 64,
    "permutation_importance": [["age", 0.12, 0.01], ["region", None, None]],
    "partial_dependence": {"signup": CURVE},
    "problems": [],
}


def test_a_partial_dependence_round_trips_through_json():
    curve = PartialDependence.from_dict(json.loads(json.dumps(CURVE)))
    assert curve.grid[0] == "2024-01-01T00:00:00" and curve.average == (0.2, None)
    assert curve.ice[1] == (None, 0.2)
    assert curve.to_dict() == CURVE


def test_a_saved_summary_loads_as_extras():
    extras = ExplanationExtras.from_dict(json.loads(json.dumps(SAVED)))
    assert extras.permutation_importance == (("age", 0.12, 0.01), ("region", None, None))
    assert extras.partial_dependence["signup"].to_dict() == CURVE
    assert (extras.version_id, extras.run_id, extras.problems) == (4, 9, ())
