"""Each quality check fires on data built to trip it and stays quiet on clean data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from core.data import quality
from core.data.profile import profile_table
from core.data.quality import (
    QUALITY_CHECKS,
    SEVERITY_ORDER,
    FeatureStrength,
    QualityFinding,
    check_quality,
    feature_target_strength,
)
from core.data.schema import ColumnSchema, Role

N = 1000
CHECK_NAMES = {
    "all_null",
    "constant",
    "near_constant",
    "high_cardinality",
    "id_like",
    "mixed_types",
    "duplicate_rows",
    "outliers",
    "class_imbalance",
    "target_leakage",
}


def clean_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": np.arange(N),
            "x": rng.uniform(0, 1, N),
            "y": rng.uniform(-5, 5, N),
            "visits": rng.integers(0, 20, N),
            "region": rng.choice(["north", "south", "east", "west"], N),
            "flag": rng.random(N) < 0.5,
            "target": rng.integers(0, 2, N),
        }
    )


def schema_for(frame: pd.DataFrame) -> list[ColumnSchema]:
    def role(name: str, dtype: object) -> Role:
        if name == "customer":
            return "id"
        if name == "target":
            return "target"
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        return "numeric" if pd.api.types.is_numeric_dtype(dtype) else "categorical"

    return [
        ColumnSchema(name=str(name), dtype=str(dtype), role=role(str(name), dtype))
        for name, dtype in frame.dtypes.items()
    ]


def findings_for(frame: pd.DataFrame, *, target: str | None = "target") -> list[QualityFinding]:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return list(profile_table(table, schema=schema_for(frame), target=target).quality)


def fired(findings: list[QualityFinding], check: str) -> list[QualityFinding]:
    return [finding for finding in findings if finding.check == check]


def test_registry_holds_every_check() -> None:
    assert set(QUALITY_CHECKS) == CHECK_NAMES


def test_clean_frame_is_quiet() -> None:
    assert findings_for(clean_frame()) == []


def with_all_null(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(empty=np.nan)


def with_constant(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(same="A")


def with_near_constant(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(mostly=np.where(np.arange(N) < 5, 1, 0))


def with_high_cardinality(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return frame.assign(city=[f"city-{code}" for code in rng.integers(0, 5000, N)])


def with_id_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(ticket=np.random.default_rng(1).permutation(N) + 10_000)


def with_mixed_types(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    values = np.where(rng.random(N) < 0.6, rng.integers(1, 99, N).astype(str), "n/a")
    return frame.assign(amount_text=values)


def with_duplicate_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[:30]], ignore_index=True)


def with_outliers(frame: pd.DataFrame) -> pd.DataFrame:
    spiky = frame["x"].to_numpy().copy()
    spiky[:50] = 1000.0
    return frame.assign(spiky=spiky)


def with_imbalance(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(target=(np.arange(N) % 10 == 0).astype(int))


def with_leak(frame: pd.DataFrame) -> pd.DataFrame:
    noise = np.random.default_rng(1).normal(0, 0.1, N)
    return frame.assign(leak=frame["target"] + noise)


TRIGGERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "all_null": with_all_null,
    "constant": with_constant,
    "near_constant": with_near_constant,
    "high_cardinality": with_high_cardinality,
    "id_like": with_id_like,
    "mixed_types": with_mixed_types,
    "duplicate_rows": with_duplicate_rows,
    "outliers": with_outliers,
    "class_imbalance": with_imbalance,
    "target_leakage": with_leak,
}
COLUMN_OF = {
    "all_null": "empty",
    "constant": "same",
    "near_constant": "mostly",
    "high_cardinality": "city",
    "id_like": "ticket",
    "mixed_types": "amount_text",
    "duplicate_rows": None,
    "outliers": "spiky",
    "class_imbalance": "target",
    "target_leakage": "leak",
}


@pytest.mark.parametrize("check", sorted(TRIGGERS))
def test_check_fires_on_its_trigger(check: str) -> None:
    findings = findings_for(TRIGGERS[check](clean_frame()))
    (finding,) = fired(findings, check)
    assert finding.column == COLUMN_OF[check]
    assert finding.message.endswith(".")
    assert {item.check for item in findings} == {check}, findings


def test_finding_values_and_severities() -> None:
    frame = with_duplicate_rows(with_outliers(with_near_constant(with_all_null(clean_frame()))))
    findings = {finding.check: finding for finding in findings_for(frame)}
    assert findings["all_null"].severity == "high"
    assert findings["duplicate_rows"].value == 30
    assert findings["duplicate_rows"].severity == "low"
    # The 30 copied rows repeat five of the odd values and thirty of the spikes.
    assert findings["near_constant"].value == pytest.approx(100 * (N + 30 - 10) / (N + 30))
    assert "99.0%" in findings["near_constant"].message
    assert findings["outliers"].value == 80


def test_findings_are_most_severe_first() -> None:
    frame = with_leak(with_outliers(with_constant(with_all_null(clean_frame()))))
    order = [SEVERITY_ORDER[finding.severity] for finding in findings_for(frame)]
    assert order == sorted(order)
    assert len(order) == 4


@pytest.mark.parametrize(("share", "severity"), [(10, "medium"), (50, "high")])
def test_class_imbalance_severity(share: int, severity: str) -> None:
    frame = clean_frame().assign(target=(np.arange(N) % share == 0).astype(int))
    (finding,) = fired(findings_for(frame), "class_imbalance")
    assert finding.severity == severity
    assert finding.value == pytest.approx(100 / share)


def test_ten_even_classes_are_balanced() -> None:
    frame = clean_frame().assign(target=np.arange(N) % 10)
    assert not fired(findings_for(frame), "class_imbalance")


@pytest.mark.parametrize(
    ("shares", "severity"),
    [
        ([0.32, 0.3, 0.28, 0.06, 0.04], "medium"),  # 4% where five even classes get 20%
        ([0.6] + [0.05] * 8, "medium"),  # one class dominates nine
        ([0.5, 0.48, 0.02], "high"),
    ],
)
def test_an_uneven_multiclass_target_is_imbalanced(shares: list[float], severity: str) -> None:
    counts = [round(share * N) for share in shares]
    labels = np.repeat([f"class {index}" for index in range(len(shares))], counts)
    frame = clean_frame().assign(target=np.random.default_rng(3).permutation(labels))
    (finding,) = fired(findings_for(frame), "class_imbalance")
    assert finding.severity == severity
    assert finding.value == pytest.approx(100 * min(counts) / N)
    assert type(finding.value) is float
    assert f"if its {len(shares)} classes were even" in finding.message
    assert f"‘class {shares.index(max(shares))}’" in finding.message


def test_a_mildly_uneven_multiclass_target_is_not_flagged() -> None:
    """Three classes of 40/35/25%: the largest is 1.6 times the smallest."""
    labels = np.repeat(["a", "b", "c"], [400, 350, 250])
    frame = clean_frame().assign(target=np.random.default_rng(4).permutation(labels))
    assert not fired(findings_for(frame), "class_imbalance")


def test_regression_target_has_no_imbalance_but_can_leak() -> None:
    rng = np.random.default_rng(4)
    frame = clean_frame().assign(target=rng.normal(50, 10, N))
    frame["leak"] = frame["target"] * 2 + rng.normal(0, 0.5, N)
    findings = findings_for(frame)
    (finding,) = fired(findings, "target_leakage")
    assert finding.column == "leak"
    assert "absolute correlation" in finding.message
    assert not fired(findings, "class_imbalance")


def test_categorical_copy_of_target_is_leakage() -> None:
    frame = clean_frame()
    flipped = np.random.default_rng(5).random(N) < 0.01
    answer = np.where((frame["target"] == 1) ^ flipped, "approved", "declined")
    (finding,) = fired(findings_for(frame.assign(status=answer)), "target_leakage")
    assert finding.column == "status"
    assert finding.value is not None and finding.value > 0.97


def test_multiclass_copy_of_target_is_leakage() -> None:
    rng = np.random.default_rng(6)
    frame = clean_frame().assign(target=rng.choice(["a", "b", "c"], N))
    frame["echo"] = frame["target"].map({"a": "x", "b": "y", "c": "z"})
    strengths = feature_target_strength(frame, target="target", schema=schema_for(frame))
    assert strengths[0].name == "echo"
    assert strengths[0].metric == "cramers_v"
    assert strengths[0].value > 0.95
    assert fired(findings_for(frame), "target_leakage")[0].column == "echo"


def test_identifier_text_does_not_look_predictive() -> None:
    frame = clean_frame().assign(code=[f"K{i:05d}" for i in range(N)])
    schema = [
        ColumnSchema(name=c.name, dtype=c.dtype, role="categorical" if c.name == "code" else c.role)
        for c in schema_for(frame)
    ]
    strengths = {s.name: s for s in feature_target_strength(frame, target="target", schema=schema)}
    assert strengths["code"].value < 0.6


def test_strength_is_sorted_and_matches_sklearn_auc() -> None:
    frame = with_leak(clean_frame())
    frame.loc[::7, "x"] = np.nan
    strengths = feature_target_strength(frame, target="target", schema=schema_for(frame))
    values = [strength.value for strength in strengths]
    assert values == sorted(values, reverse=True)
    assert {strength.name for strength in strengths} == {
        "x",
        "y",
        "visits",
        "region",
        "flag",
        "leak",
    }
    assert all(isinstance(s, FeatureStrength) and s.metric == "roc_auc" for s in strengths)
    known = frame["x"].notna()
    auc = roc_auc_score(frame.loc[known, "target"], frame.loc[known, "x"])
    by_name = {strength.name: strength for strength in strengths}
    assert by_name["x"].value == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert by_name["x"].rows == N


def test_large_tables_are_measured_on_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality, "STRENGTH_SAMPLE_ROWS", 300)
    (finding,) = fired(findings_for(with_leak(clean_frame())), "target_leakage")
    assert "seeded sample of 300 of 1,000 rows" in finding.message


def test_standalone_check_matches_profile() -> None:
    frame = with_duplicate_rows(with_mixed_types(with_outliers(clean_frame())))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    alone = check_quality(table, schema=schema_for(frame), target="target")
    assert alone == findings_for(frame)
    assert {finding.check for finding in alone} == {"mixed_types", "outliers", "duplicate_rows"}


def test_no_target_means_no_target_checks() -> None:
    frame = with_imbalance(clean_frame())
    frame = frame.assign(answer=frame["target"]).drop(columns=["target"])
    assert findings_for(frame, target=None) == []


def test_finding_to_dict_is_plain() -> None:
    finding = QualityFinding(
        check="x", severity="low", column=None, message="m.", value=float("nan")
    )
    assert finding.to_dict() == {
        "check": "x",
        "severity": "low",
        "column": None,
        "message": "m.",
        "value": None,
    }


def test_columns_pandas_cannot_hold_still_get_scored() -> None:
    rng = np.random.default_rng(8)
    target = rng.integers(0, 2, 200)
    table = pa.table(
        {
            "moment": pa.array(rng.integers(0, 10**12, 200), pa.time64("ns")),
            "echo": pa.array(target * 10**9 + 1, pa.time64("ns")),
            "target": target,
        }
    )
    schema = [ColumnSchema(name="target", dtype="int64", role="target")]
    findings = check_quality(table, schema=schema)
    assert [(f.check, f.column) for f in findings] == [("target_leakage", "echo")]


def test_tiny_tables_do_not_cry_leakage() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "target": [0, 0, 1, 1]})
    assert findings_for(frame) == []
