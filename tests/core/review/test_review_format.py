"""The saved review's JSON: today's shape round-trips, and reviews saved before still load."""

import json
import math

import numpy as np
import pandas as pd

from core.review.fairness import FairnessReport, GroupMetrics, fairness_report
from core.review.gates import GateConfig, GateResult
from core.review.review import VersionReview
from core.review.segments import Segment
from core.store.models import ModelVersion

# a review artifact as the studio wrote it before the review held typed values
SAVED = {
    "version": {
        "id": 3,
        "model_id": 1,
        "model_name": "credit-risk",
        "version": 2,
        "run_id": 7,
        "artifact_path": "models/abc.skops",
        "artifact_sha256": "f" * 64,
        "onnx_path": None,
        "onnx_sha256": None,
        "onnx": {},
        "review_state": "pending",
        "intended_use": "",
        "aliases": ["challenger", "champion"],
        "created_by": "cli",
        "created_at": "2026-01-02T03:04:05+00:00",
    },
    "run_id": 7,
    "task": "binary",
    "config": {
        "metric": "roc_auc",
        "min_metric": 0.7,
        "max_overfit_gap": 0.05,
        "min_lift_over_baseline": 0.02,
        "champion_tolerance": 0.01,
        "max_calibration_error": 0.1,
        "segment_columns": ["sex"],
        "min_segment_metric": 0.6,
        "min_segment_rows": 50,
    },
    "gates": [
        {
            "name": "min_metric",
            "title": "Holdout ROC AUC",
            "passed": True,
            "value": 0.91,
            "threshold": 0.7,
            "message": "0.9100 on the holdout; the bar is at least 0.7000.",
        },
        {
            "name": "champion_tolerance",
            "title": "Not worse than the champion",
            "passed": None,
            "value": None,
            "threshold": None,
            "message": "Not checked: there is no champion to compare with yet.",
        },
    ],
    "passed": True,
    "segments": [
        {
            "column": "sex",
            "segment": "f",
            "count": 120,
            "value": 0.88,
            "accuracy": 0.8,
            "gap": -0.03,
        },
        {"column": "sex", "segment": "m", "count": 3, "value": None, "accuracy": 1.0, "gap": None},
    ],
    "calibration_error": 0.04,
    "sensitive_features": ["sex"],
    "fairness": {
        "task": "binary",
        "features": ["sex"],
        "partitions": ["sex"],
        "metrics": ["selection_rate", "true_positive_rate"],
        "positive_label": "1",
        "n_boot": 200,
        "confidence": 0.95,
        "overall": {"selection_rate": 0.4, "true_positive_rate": 0.7},
        "disparities": {
            "demographic_parity_difference (sex)": 0.1,
            "equal_opportunity_difference (sex)": None,
        },
        "disparity_intervals": {"demographic_parity_difference (sex)": [0.05, 0.15]},
        "by_feature": {
            "sex": {"demographic_parity_difference": 0.1, "equal_opportunity_difference": None}
        },
        "intervals_by_feature": {"sex": {"demographic_parity_difference": [0.05, 0.15]}},
        "warnings": ["Group m of sex has only 3 rows."],
        "groups": [
            {
                "feature": "sex",
                "group": "f",
                "count": 120,
                "metrics": {"selection_rate": 0.45, "true_positive_rate": 0.7},
                "intervals": {"selection_rate": [0.4, 0.5], "true_positive_rate": [0.6, 0.8]},
                "small": False,
            },
            {
                "feature": "sex",
                "group": "m",
                "count": 3,
                "metrics": {"selection_rate": 0.35, "true_positive_rate": None},
                "intervals": {"selection_rate": [0.0, 1.0], "true_positive_rate": [None, None]},
                "small": True,
            },
        ],
    },
    "holdout_rows": 123,
    "notes": ["The champion could not score this holdout."],
}


# today's shape: the leakage gate's two settings joined the config
TODAY = {
    **SAVED,
    "config": {
        **SAVED["config"],
        "max_feature_strength": 0.95,
        "too_good_score": 0.999,
        "max_membership_advantage": 0.15,  # the security gate (issue 21)
    },
}


def test_a_review_saved_in_the_old_shape_loads_as_typed_values():
    review = VersionReview.from_dict(json.loads(json.dumps(SAVED)))
    assert isinstance(review.version, ModelVersion) and review.version.label == "credit-risk v2"
    assert review.version.aliases == ("challenger", "champion")
    assert review.config == GateConfig.defaults("binary", segment_columns=("sex",))
    assert all(isinstance(gate, GateResult) for gate in review.gates)
    assert review.gates[1].passed is None
    assert review.segments[0] == Segment("sex", "f", 120, 0.88, 0.8, -0.03)
    assert isinstance(review.fairness, FairnessReport)
    assert review.fairness.partitions == ("sex",)
    small = review.fairness.groups[1]
    assert isinstance(small, GroupMetrics) and math.isnan(small.metrics["true_positive_rate"])
    assert review.fairness.groups[0].intervals["selection_rate"] == (0.4, 0.5)
    assert review.notes == ("The champion could not score this holdout.",)


def test_the_json_shape_is_unchanged_by_a_round_trip():
    review = VersionReview.from_dict(TODAY)
    assert review.to_dict() == TODAY
    assert json.dumps(review.to_dict()) == json.dumps(TODAY)
    assert VersionReview.from_dict(SAVED).to_dict() == TODAY  # the old shape gains the defaults


def test_a_review_without_fairness_round_trips():
    saved = {**TODAY, "fairness": None, "notes": []}
    review = VersionReview.from_dict(saved)
    assert review.fairness is None
    assert review.to_dict() == saved


def test_a_fairness_report_round_trips_through_json_with_non_finite_values():
    rng = np.random.default_rng(0)
    rows = 300
    sex = rng.choice(["f", "m", "x"], rows, p=[0.5, 0.47, 0.03])
    truth = rng.integers(0, 2, rows)
    truth[sex == "x"] = 0  # no actual positives: its true positive rate is NaN
    predicted = rng.integers(0, 2, rows)
    report = fairness_report(
        truth, predicted, sensitive=pd.DataFrame({"sex": sex}), task="binary", n_boot=20
    )
    saved = report.to_dict()
    assert None in saved["groups"][-1]["metrics"].values()
    loaded = FairnessReport.from_dict(json.loads(json.dumps(saved)))
    assert loaded.to_dict() == saved
    assert loaded.partitions == report.partitions
    assert all(isinstance(pair, tuple) for g in loaded.groups for pair in g.intervals.values())
    assert all(isinstance(pair, tuple) for pair in loaded.disparity_intervals.values())


def test_a_model_version_round_trips():
    version = ModelVersion.from_dict(SAVED["version"])
    assert version.to_dict() == SAVED["version"]
