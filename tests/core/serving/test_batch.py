"""Batch scoring on a real temp store: the service's answers, clear refusals, safe files."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import export
from core.data.datasets import import_dataset
from core.serving import batch
from core.serving.app import load_served_model
from core.serving.inputs import check_rows, parse_dates, rows_to_frame
from core.serving.scoring import score
from core.train.plan import ValidationPlan
from core.train.registry import register_run
from core.train.training import TrainRequest, train

ROWS = 300


def _loans(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "loan_id": [f"L{seed}-{i:05d}" for i in range(rows)],
            "income": rng.normal(50, 10, rows).round(2),
            "region": rng.choice(["north", "south", "east"], rows),
            "has_guarantor": rng.choice([True, False], rows),
            "opened": pd.date_range("2023-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
        }
    )
    frame["default"] = (frame["income"] + rng.normal(scale=5, size=rows) < 48).astype(int)
    return frame


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A store holding loans v1 (a classifier) and income v1 (a regressor) of one dataset,
    and boosted v1 (gradient boosting on loans, with its ONNX copy)."""
    home = tmp_path_factory.mktemp("batch") / "studio"
    path = home.parent / "loans.csv"
    _loans(ROWS, seed=2).to_csv(path, index=False)
    version = import_dataset(home, path=path, name="loans").version
    for target, name in (("default", "loans"), ("income", "income")):
        request = TrainRequest(
            version_id=version.id,
            target=target,
            models=("logistic_regression",) if name == "loans" else ("ridge",),
            plan=ValidationPlan(folds=3),
        )
        register_run(home, train(home, request).best.id, name=name, onnx=False)
    request = TrainRequest(
        version_id=version.id,
        target="default",
        models=("hist_gradient_boosting",),
        plan=ValidationPlan(folds=2),
    )
    assert register_run(home, train(home, request).best.id, name="boosted").onnx_path
    return home


@pytest.fixture(scope="module")
def model(home):
    return load_served_model(home, "loans@1")


@pytest.fixture
def scoring_file(tmp_path) -> Path:
    """New rows to score, with the target left out and an extra column the model never saw."""
    frame = _loans(250, seed=7).drop(columns=["default"])
    frame.insert(1, "branch_note", "walk-in")
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    return path


def _error(home: Path, source: Path, out: Path, ref: str = "loans@1") -> str:
    with pytest.raises(batch.BatchError) as raised:
        batch.score_file(home, ref, source, out)
    return str(raised.value)


def test_predictions_are_the_pipelines_own_on_rows_typed_as_the_service_types_them(
    home, model, scoring_file, tmp_path
):
    out = tmp_path / "scored.parquet"
    result = batch.score_file(home, "loans", scoring_file, out)
    scored = pd.read_parquet(out)
    raw = pd.read_csv(scoring_file)
    records = raw[[c.name for c in model.columns]].to_dict("records")
    served = rows_to_frame(records, model.columns, max_rows=len(records))
    assert scored["prediction"].tolist() == model.pipeline.predict(served).tolist()
    expected = model.pipeline.predict_proba(served)
    assert np.allclose(scored[["probability_0", "probability_1"]].to_numpy(), expected)
    assert result.rows == 250 and result.model_version == "loans v1" and result.out == out
    assert result.seconds > 0


def _as_sent(frame: pd.DataFrame) -> list[dict]:
    """The rows as a client sends them: plain values, null where missing."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _awkward_rows() -> pd.DataFrame:
    """Rows with unseen regions, missing values in every input and dates in several forms."""
    frame = _loans(60, seed=11).drop(columns=["default"])
    frame = frame.astype({"has_guarantor": object, "opened": object})
    frame.loc[:4, "region"] = "west"
    frame.loc[5:9, ["income", "region", "has_guarantor", "opened"]] = None
    frame.loc[10:14, "opened"] = [
        "2023-03-04T13:45:00",
        "2023-03-04 23:59:59.5",
        "2023-01-02T03:04:05+02:00",
        "2024-02-29",
        "2023-07-08T00:00:00Z",
    ]
    return frame


@pytest.mark.parametrize("engine", ["onnx", "sklearn"])
@pytest.mark.parametrize("dates", ["text", "timestamps", "zoned timestamps"])
def test_batch_gives_the_services_answers_on_missing_values_unseen_levels_and_dates(
    home, engine, dates
):
    model = load_served_model(home, "boosted@1", engine=engine)
    frame = _awkward_rows()
    sent = _as_sent(frame)  # dates as the client's text, whatever form the file holds them in
    if dates == "timestamps":  # as a CSV import reads a date column
        frame["opened"] = parse_dates(frame["opened"])
    elif dates == "zoned timestamps":  # as a Parquet file with a time zone holds it
        frame["opened"] = (
            parse_dates(frame["opened"]).dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
        )
    scored = batch.score_frame(model, frame)
    expected = score(model, check_rows(sent, model.columns, max_rows=len(sent)))
    assert scored["prediction"].tolist() == expected.predictions
    probabilities = scored[["probability_0", "probability_1"]].to_numpy()
    assert probabilities.tolist() == expected.probabilities.tolist()  # ==, bit for bit
    assert batch.UNSEEN_NOTE.format(column="region", count=5) in batch.batch_notes(model, frame)


def test_the_default_engine_is_the_services_onnx_copy(home, tmp_path):
    _loans(30, seed=12).to_csv(tmp_path / "in.csv", index=False)
    batch.score_file(home, "boosted@1", tmp_path / "in.csv", tmp_path / "auto.parquet")
    by_default = pd.read_parquet(tmp_path / "auto.parquet")
    frame, _ = batch.read_frame(tmp_path / "in.csv")
    for engine in ("onnx", "sklearn"):
        scored = batch.score_frame(load_served_model(home, "boosted@1", engine=engine), frame)
        same = scored["probability_1"].tolist() == by_default["probability_1"].tolist()
        assert same == (engine == "onnx")
    with pytest.raises(ValueError, match="has no ONNX copy"):
        batch.score_file(home, "loans@1", tmp_path / "in.csv", tmp_path / "o.csv", engine="onnx")


def test_every_input_column_passes_through_and_unused_ones_are_noted(home, scoring_file, tmp_path):
    result = batch.score_file(home, "loans@1", scoring_file, tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    raw = pd.read_csv(scoring_file)
    extra = ["prediction", "probability_0", "probability_1"]
    assert list(scored.columns) == [*raw.columns, *extra]
    assert scored["loan_id"].tolist() == raw["loan_id"].tolist()
    assert scored["income"].tolist() == raw["income"].tolist()
    assert set(scored["prediction"]) <= {0, 1}
    note = batch.EXTRA_COLUMNS_NOTE.format(count=2, columns="'loan_id', 'branch_note'")
    assert result.notes == (note,)


def test_rescoring_an_output_replaces_its_predictions(home, tmp_path):
    _loans(20, seed=9).to_csv(tmp_path / "in.csv", index=False)
    batch.score_file(home, "income@1", tmp_path / "in.csv", tmp_path / "first.csv")
    again = batch.score_file(home, "loans@1", tmp_path / "first.csv", tmp_path / "second.csv")
    scored = pd.read_csv(tmp_path / "second.csv")
    assert list(scored.columns).count("prediction") == 1
    assert set(scored["prediction"]) <= {0, 1} and "probability_1" in scored
    assert batch.REPLACED_COLUMNS_NOTE.format(columns="'prediction'") in again.notes


def test_a_column_the_model_drops_may_be_missing_and_unseen_levels_are_counted(
    home, model, tmp_path
):
    frame = _loans(40, seed=3).drop(columns=["loan_id", "default"])
    frame.loc[:4, "region"] = "west"
    scored = batch.score_frame(model, frame)
    assert len(scored) == 40 and "loan_id" not in scored
    notes = batch.batch_notes(model, frame)
    assert notes == (batch.UNSEEN_NOTE.format(column="region", count=5),)


def test_regression_gives_a_prediction_only(home, tmp_path):
    _loans(20, seed=8).to_csv(tmp_path / "in.csv", index=False)
    batch.score_file(home, "income@1", tmp_path / "in.csv", tmp_path / "income.csv")
    scored = pd.read_csv(tmp_path / "income.csv")
    assert "prediction" in scored and not any(c.startswith("probability_") for c in scored)
    assert scored["prediction"].dtype == float


def test_scoring_goes_in_chunks_and_reports_each(model, scoring_file, tmp_path):
    frame = pd.read_csv(scoring_file)
    calls: list[tuple[float, str]] = []
    chunked = batch.score_frame(model, frame, chunk_rows=100, progress=lambda *a: calls.append(a))
    assert calls == [
        (0.4, "Scored 100 of 250 rows"),
        (0.8, "Scored 200 of 250 rows"),
        (1.0, "Scored 250 of 250 rows"),
    ]
    whole = batch.score_frame(model, frame, chunk_rows=10_000)
    pd.testing.assert_frame_equal(chunked, whole)


def test_score_file_progress_runs_from_zero_to_one(home, scoring_file, tmp_path):
    fractions: list[float] = []
    batch.score_file(
        home,
        "loans@1",
        scoring_file,
        tmp_path / "o.csv",
        progress=lambda fraction, message: fractions.append(fraction),
    )
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_missing_input_columns_are_listed(home, scoring_file, tmp_path):
    frame = pd.read_csv(scoring_file).drop(columns=["income", "region"])
    frame.to_csv(tmp_path / "m.csv", index=False)
    message = _error(home, tmp_path / "m.csv", tmp_path / "o.csv")
    columns = "'income', 'region'"
    assert message == batch.MISSING_COLUMNS.format(count=2, label="loans v1", columns=columns)


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [("income", "12k", "numbers"), ("has_guarantor", "maybe", "true or false")],
)
def test_a_value_of_the_wrong_kind_names_its_column_and_an_example(
    home, scoring_file, tmp_path, column, value, kind
):
    frame = pd.read_csv(scoring_file, dtype=str)
    frame.loc[[3, 9], column] = value
    frame.to_csv(tmp_path / "bad.csv", index=False)
    message = _error(home, tmp_path / "bad.csv", tmp_path / "o.csv")
    expected = batch.BAD_VALUES.format(column=column, kind=kind, count=2, example=value)
    assert message == expected


def test_dates_that_are_not_dates_are_refused(model):
    frame = _loans(20, seed=4).astype({"opened": object})
    frame.loc[[3, 9], "opened"] = "next week"
    with pytest.raises(batch.BatchError) as raised:
        batch.score_frame(model, frame)
    expected = batch.BAD_VALUES.format(column="opened", kind="dates", count=2, example="next week")
    assert str(raised.value) == expected


def test_text_columns_accept_numbers_and_booleans_accept_yes_no(model):
    frame = _loans(6, seed=4).drop(columns=["default"])
    frame["region"] = [1, 2.0, None, 1, 2, 1]
    frame["has_guarantor"] = ["yes", "No", None, "TRUE", "0", "1"]
    inputs = batch.model_inputs(model, frame)
    assert inputs["region"].tolist() == ["1", "2", None, "1", "2", "1"]
    assert inputs["has_guarantor"].tolist() == [True, False, None, True, False, True]
    assert inputs["income"].dtype == "float64"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", batch.EMPTY_FILE.format(name="in.csv")),
        (b"income,region\n", batch.EMPTY_FILE.format(name="in.csv")),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "in.csv cannot be scored: This looks like a PNG"),
    ],
)
def test_empty_and_unreadable_files(home, tmp_path, content, message):
    (tmp_path / "in.csv").write_bytes(content)
    assert _error(home, tmp_path / "in.csv", tmp_path / "o.csv").startswith(message)


def test_output_paths_and_model_versions_are_checked_first(home, scoring_file, tmp_path):
    wrong = _error(home, scoring_file, tmp_path / "o.xlsx")
    assert wrong == batch.OUTPUT_FORMAT.format(name="o.xlsx")
    assert _error(home, scoring_file, scoring_file) == batch.SAME_PATH
    nowhere = tmp_path / "no" / "o.csv"
    assert _error(home, scoring_file, nowhere) == batch.NO_OUTPUT_FOLDER.format(
        folder=nowhere.parent
    )
    unknown = _error(home, scoring_file, tmp_path / "o.csv", ref="loans@9")
    assert unknown.startswith("Cannot score with 'loans@9': There is no model 'loans@9'")
    assert "`mlops-studio models`" in unknown
    missing = _error(home, tmp_path / "gone.csv", tmp_path / "o.csv")
    assert missing == batch.NO_FILE.format(path=tmp_path / "gone.csv")
    assert not list(tmp_path.glob("o.*"))


def test_csv_output_cannot_run_as_formulas_but_numbers_stay_numbers(home, tmp_path):
    frame = _loans(5, seed=5).drop(columns=["default"])
    frame["loan_id"] = ['=HYPERLINK("http://x.test","click")', "@SUM(1)", "+1", "ok", "-2"]
    frame["-x"] = [-3.5, 1.0, -2.25, 0.0, 4.0]
    frame.to_csv(tmp_path / "in.csv", index=False)
    batch.score_file(home, "loans@1", tmp_path / "in.csv", tmp_path / "out.csv")
    with (tmp_path / "out.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, first = rows[0], rows[1]
    assert "'-x" in header and "-x" not in header
    assert first[header.index("loan_id")] == '\'=HYPERLINK("http://x.test","click")'
    assert [row[0] for row in rows[2:]] == ["'@SUM(1)", "+1", "ok", "-2"]
    assert [row[header.index("'-x")] for row in rows[1:]] == ["-3.5", "1", "-2.25", "0", "4"]
    assert pd.read_csv(tmp_path / "out.csv")["'-x"].dtype == float


def test_parquet_output_keeps_values_and_types_as_they_are(home, model, tmp_path):
    frame = _loans(30, seed=6).drop(columns=["default"])
    frame["loan_id"] = "=cmd"
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    batch.score_file(home, "loans@1", tmp_path / "in.parquet", tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    read, _ = batch.read_frame(tmp_path / "in.parquet")
    pd.testing.assert_frame_equal(back, batch.score_frame(model, read))
    assert (back["loan_id"] == "=cmd").all()


def test_a_failure_part_way_leaves_no_output_and_keeps_an_old_one(
    home, scoring_file, tmp_path, monkeypatch
):
    class Cancelled(Exception):
        pass

    def cancelled(fraction: float, message: str) -> None:
        if fraction > 0.5:
            raise Cancelled

    out = tmp_path / "o.csv"
    with pytest.raises(Cancelled):
        batch.score_file(home, "loans@1", scoring_file, out, progress=cancelled)
    assert not out.exists()

    out.write_text("old results\n")

    def broken_writer(table, sink, options):
        Path(sink).write_text("half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.pacsv, "write_csv", broken_writer)
    message = _error(home, scoring_file, out)
    assert message == batch.CANNOT_WRITE.format(path=out, reason="No space left on device")
    assert out.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "o.csv"]


def test_an_empty_frame_is_refused(model):
    with pytest.raises(batch.BatchError, match="no rows to score"):
        batch.score_frame(model, pd.DataFrame({"income": []}))
