"""Explanations: SHAP adds up for every explainer, raw columns, what-if, importance, PDP, job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from core.artifacts import ArtifactError, resolve
from core.data.datasets import import_dataset
from core.data.schema import infer_schema
from core.prep.features import build_feature_pipeline, default_feature_spec
from core.review.explain import (
    ExplainError,
    Explanation,
    explain,
    feature_map,
    partial_dependence,
    permutation_importances,
    what_if,
)
from core.review.explain import sampled as sampled_module
from core.review.explain import tree as tree_module
from core.review.explain.job import explain_model_version, load_explanation
from core.train import registry
from core.train.plan import ValidationPlan
from core.train.training import TrainRequest, train

RAW = ["age", "income", "region", "signup", "noise"]


def _frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Numbers (one with gaps), a category, a date and pure noise; age and region matter."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50, 12, n).round(1),
            "region": rng.choice(["north", "south", "east"], n),
            "signup": pd.date_range("2024-01-01", periods=n, freq="D"),
            "noise": rng.normal(size=n),
        }
    )
    frame.loc[rng.choice(n, 25, replace=False), "income"] = np.nan
    risk = 0.06 * (frame["age"] - 50) + 1.2 * (frame["region"] == "south") + rng.normal(size=n) / 2
    return frame, (risk > 0.4).astype(int), pd.Series(10 * risk, name="target")


def _fit(frame: pd.DataFrame, y: pd.Series, model, *, spec: dict | None = None) -> Pipeline:
    schema = infer_schema(pa.Table.from_pandas(frame.assign(target=y), preserve_index=False))
    spec = spec or default_feature_spec(schema, target="target")
    features = build_feature_pipeline(spec, schema=schema, target="target")
    return Pipeline([("features", features), ("model", model)]).fit(frame, y)


def _gap(explanation: Explanation) -> float:
    totals = explanation.base_value + explanation.values.sum(axis=1)
    return float(np.abs(totals - explanation.outputs).max())


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    return _frame()


@pytest.fixture(autouse=True)
def one_thread():
    """OpenMP in gradient boosting crawls on a busy machine; these models are tiny anyway."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.mark.parametrize(
    ("model", "explainer", "output"),
    [
        (
            HistGradientBoostingClassifier(max_iter=40, random_state=0),
            "tree",
            "log-odds of class 1",
        ),
        (
            RandomForestClassifier(n_estimators=25, random_state=0),
            "tree",
            "probability of class 1",
        ),
        (LogisticRegression(max_iter=2000), "linear", "log-odds of class 1"),
        (KNeighborsClassifier(n_neighbors=15), "permutation", "probability of class 1"),
    ],
    ids=["hist_gradient_boosting", "random_forest", "logistic", "knn"],
)
def test_shap_values_add_up_to_the_model_output(data, model, explainer, output) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, model)
    explanation = explain(pipeline, frame.iloc[:60], task="binary", background=frame)
    assert (explanation.explainer, explanation.output) == (explainer, output)
    assert explanation.features == RAW
    assert explanation.values.shape == (60, len(RAW))
    assert _gap(explanation) <= 1e-6
    probability = pipeline.predict_proba(frame.iloc[:60])[:, 1]
    if output.startswith("probability"):
        np.testing.assert_allclose(explanation.outputs, probability, atol=1e-12)
    top = [name for name, _ in explanation.mean_abs()[:2]]
    assert "age" in top


@pytest.mark.parametrize("backend", ["kernel", "shap"])
def test_tree_values_match_shaps_tree_explainer(data, backend, monkeypatch) -> None:
    import shap

    # small jobs use shap itself until the kernel is compiled; check both give shap's values
    use_shap = backend == "shap"
    monkeypatch.setattr(tree_module, "_cheaper_with_shap", lambda *_: use_shap)
    frame, y, _ = data
    for model in (
        RandomForestClassifier(n_estimators=10, random_state=0),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    ):
        pipeline = _fit(frame, y, model)
        ours = explain(pipeline, frame.iloc[:40], task="binary").encoded_values
        theirs = np.asarray(
            shap.TreeExplainer(model).shap_values(pipeline[:-1].transform(frame[:40]))
        )
        theirs = theirs[:, :, 1] if theirs.ndim == 3 else theirs
        np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_missing_values_follow_the_trees_own_default_direction(monkeypatch) -> None:
    import shap

    monkeypatch.setattr(tree_module, "_cheaper_with_shap", lambda *_: False)
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
    y = X["a"] * 2 + (X["b"] > 0) * X["c"]
    X = X.mask(rng.random(X.shape) < 0.15)
    model = RandomForestRegressor(n_estimators=8, random_state=0)
    pipeline = Pipeline([("model", model)]).fit(X, y)
    explanation = explain(pipeline, X.iloc[:50], task="regression")
    assert _gap(explanation) <= 1e-9
    theirs = shap.TreeExplainer(model).shap_values(X.iloc[:50])
    np.testing.assert_allclose(explanation.values, theirs, atol=1e-9)


@pytest.mark.parametrize(
    ("model", "explainer"),
    [
        (HistGradientBoostingRegressor(max_iter=40, random_state=0), "tree"),
        (RandomForestRegressor(n_estimators=15, random_state=0), "tree"),
        (Ridge(), "linear"),
    ],
    ids=["hist_gradient_boosting", "random_forest", "ridge"],
)
def test_regression_explains_the_predicted_value(data, model, explainer) -> None:
    frame, _, target = data
    pipeline = _fit(frame, target, model)
    explanation = explain(pipeline, frame.iloc[:50], task="regression", background=frame)
    assert (explanation.explainer, explanation.output) == (explainer, "predicted value")
    assert _gap(explanation) <= 1e-6 * max(1.0, float(np.abs(explanation.outputs).max()))
    np.testing.assert_allclose(explanation.outputs, pipeline.predict(frame.iloc[:50]))


def test_multiclass_explains_the_class_predicted_most_often(data) -> None:
    frame, _, target = data
    labels = pd.cut(target, [-np.inf, -3, 3, np.inf], labels=["low", "mid", "high"]).astype(str)
    pipeline = _fit(frame, labels, DecisionTreeClassifier(max_depth=5, random_state=0))
    explanation = explain(pipeline, frame.iloc[:80], task="multiclass")
    most = pd.Series(pipeline.predict(frame.iloc[:80])).value_counts().idxmax()
    assert explanation.target_class == most
    assert explanation.output == f"probability of class {most}"
    assert _gap(explanation) <= 1e-9
    with pytest.raises(ExplainError, match="not a class"):
        explain(pipeline, frame.iloc[:5], task="multiclass", target_class="medium")


def test_raw_columns_sum_exactly_to_the_encoded_values(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, HistGradientBoostingClassifier(max_iter=20, random_state=0))
    explanation = explain(pipeline, frame.iloc[:40], task="binary")
    encoded = explanation.encoded_features
    assert {"region_south", "signup__month", "age"} <= set(encoded)
    np.testing.assert_allclose(
        explanation.values.sum(axis=1), explanation.encoded_values.sum(axis=1), atol=1e-12
    )
    levels = [i for i, name in enumerate(encoded) if name.startswith("region_")]
    dates = [i for i, name in enumerate(encoded) if name.startswith("signup__")]
    region, signup = RAW.index("region"), RAW.index("signup")
    np.testing.assert_allclose(
        explanation.values[:, region], explanation.encoded_values[:, levels].sum(axis=1)
    )
    np.testing.assert_allclose(
        explanation.values[:, signup], explanation.encoded_values[:, dates].sum(axis=1)
    )


def test_interaction_terms_are_shared_evenly_between_their_columns(data) -> None:
    frame, y, _ = data
    schema = infer_schema(pa.Table.from_pandas(frame.assign(target=y), preserve_index=False))
    spec = default_feature_spec(schema, target="target")
    spec["interactions"] = {"columns": ["age", "income"], "degree": 2}
    pipeline = _fit(frame, y, LogisticRegression(max_iter=2000), spec=spec)
    mapping = feature_map(pipeline)
    weights = dict(zip(mapping.encoded, mapping.weights, strict=True))
    age, income = mapping.raw.index("age"), mapping.raw.index("income")
    assert weights["age*income"][age] == weights["age*income"][income] == 0.5
    assert weights["age^2"][age] == 1.0
    np.testing.assert_allclose(mapping.weights.sum(axis=1), 1.0)
    explanation = explain(pipeline, frame.iloc[:30], task="binary", background=frame)
    assert _gap(explanation) <= 1e-9


def test_the_sampled_explainer_is_bounded_and_says_it_is_approximate(data, monkeypatch) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, KNeighborsClassifier(n_neighbors=15))
    # 2 orders x 4 coalitions x 50 background rows = 400 evaluations a row: 20 rows fit
    monkeypatch.setattr(sampled_module, "SAMPLED_EVALUATIONS", 8_000)
    explanation = explain(pipeline, frame, task="binary", background=frame)
    assert explanation.rows == 20
    assert explanation.encoded_features == explanation.features
    assert "Approximate" in explanation.notes[0]
    baseline = _fit(frame, y, DummyClassifier())
    constant = explain(baseline, frame.iloc[:10], task="binary")
    assert not constant.values.any() and _gap(constant) <= 1e-12


def test_a_model_without_probabilities_is_refused_where_they_are_needed(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, SVC())
    with pytest.raises(ExplainError, match="has no predict_proba"):
        explain(pipeline, frame.iloc[:10], task="binary")
    with pytest.raises(ExplainError, match="partial dependence"):
        partial_dependence(pipeline, frame, feature="age", task="binary")
    with pytest.raises(ExplainError, match="fitted model pipeline"):
        explain(SVC(), frame, task="binary")


def test_what_if_predicts_explains_and_flags_values_outside_training(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, LogisticRegression(max_iter=2000))
    row = {**frame.iloc[0].to_dict(), "age": 150, "region": "mars", "income": "61.5"}
    result = what_if(pipeline, row, task="binary", background=frame, training=frame)
    flagged = {flag.feature: flag for flag in result.out_of_range}
    assert set(flagged) == {"age", "region"}
    assert (flagged["age"].value, flagged["age"].high) == (150.0, 79.0)
    assert flagged["region"].reason == "a level not seen in training"
    total = result.base_value + sum(item.shap for item in result.contributions)
    assert total == pytest.approx(result.output_value, abs=1e-9)
    assert result.probabilities is not None and set(result.probabilities) == {"0", "1"}
    assert result.shap["age"] == result.contributions[0].shap  # age dominates
    with pytest.raises(ExplainError, match="not trained on"):
        what_if(pipeline, {"height": 3}, task="binary", background=frame, training=frame)
    with pytest.raises(ExplainError, match="number"):
        what_if(pipeline, {"age": "old"}, task="binary", background=frame, training=frame)


def test_permutation_importance_ranks_an_informative_column_above_noise(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, LogisticRegression(max_iter=2000))
    ranked = permutation_importances(pipeline, frame, y, task="binary", n_repeats=3)
    names = [name for name, _, _ in ranked]
    assert set(names) == set(RAW)
    assert names.index("age") < names.index("noise")
    assert dict((name, mean) for name, mean, _ in ranked)["age"] > 0.05


def test_partial_dependence_shapes_for_numbers_levels_and_dates(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, RandomForestClassifier(n_estimators=10, random_state=0))
    numeric = partial_dependence(
        pipeline, frame, feature="age", task="binary", grid_points=12, ice_rows=7
    )
    assert numeric.kind == "numeric" and len(numeric.grid) == 12
    assert len(numeric.average) == 12
    assert len(numeric.ice) == 7 and all(len(line) == 12 for line in numeric.ice)
    assert list(numeric.grid) == sorted(numeric.grid)
    assert numeric.average[-1] > numeric.average[0]  # older means riskier here
    levels = partial_dependence(pipeline, frame, feature="region", task="binary")
    assert (levels.kind, list(levels.grid)) == ("categorical", ["east", "north", "south"])
    dates = partial_dependence(pipeline, frame, feature="signup", task="binary", grid_points=5)
    assert dates.kind == "datetime" and dates.grid[0].startswith("2024-")
    with pytest.raises(ExplainError, match="not one of the model's input columns"):
        partial_dependence(pipeline, frame, feature="height", task="binary")


def test_an_explanation_round_trips_through_frames(data) -> None:
    frame, y, _ = data
    pipeline = _fit(frame, y, RandomForestClassifier(n_estimators=5, random_state=0))
    explanation = explain(pipeline, frame.iloc[:20], task="binary")
    frames, meta = explanation.to_frames()
    again = Explanation.from_frames(frames, meta)
    np.testing.assert_array_equal(again.values, explanation.values)
    np.testing.assert_array_equal(again.encoded_values, explanation.encoded_values)
    assert again.mean_abs() == explanation.mean_abs()
    assert again.to_dict() == explanation.to_dict()


def test_the_job_writes_artifacts_and_a_tampered_file_is_refused(
    studio_home: Path, tmp_path: Path
) -> None:
    frame, y, _ = _frame(240, seed=3)
    path = tmp_path / "credit.csv"
    frame.assign(default=np.where(y == 1, "yes", "no")).to_csv(path, index=False)
    version = import_dataset(studio_home, path=path, name="credit").version
    request = TrainRequest(
        version_id=version.id,
        target="default",
        models=("logistic_regression",),
        plan=ValidationPlan(folds=3),
    )
    run = train(studio_home, request).best
    model = registry.register_run(studio_home, run.id, name="credit-risk", onnx=False)
    seen: list[float] = []
    result = explain_model_version(
        studio_home, {"version_id": model.id}, lambda fraction, message: seen.append(fraction)
    )
    assert seen == sorted(seen) and seen[-1] < 1.0
    assert set(result["artifacts"]) == {"values", "encoded", "data", "summary"}
    assert all(a["path"].startswith("explanations/") for a in result["artifacts"].values())
    explanation, extras = load_explanation(studio_home, result)
    assert explanation.explainer == "linear" and explanation.rows == result["rows"]
    assert _gap(explanation) <= 1e-9
    assert 1 <= len(extras.partial_dependence) <= 5
    assert {name for name, _, _ in extras.permutation_importance} == set(explanation.features)
    resolve(studio_home, result["artifacts"]["values"]["path"]).write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="changed on disk"):
        load_explanation(studio_home, result)
    outside = {**result["artifacts"], "summary": {"path": "models/x.json", "sha256": "0"}}
    with pytest.raises(ExplainError, match="unexpected path"):
        load_explanation(studio_home, {"artifacts": outside})
    with pytest.raises(ExplainError, match="no model version"):
        explain_model_version(studio_home, {"version_id": 999}, lambda *_: None)
