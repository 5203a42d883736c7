"""Every page speaks the user's words: no internal name, Python repr, raw ISO time, grey None
cell or checkbox-drawn prediction reaches a text, table or chart of a rendered page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs import wait_for_job
from core.review.fairness.metrics import DEFAULT_METRICS
from core.train.catalog import CATALOG
from core.train.evaluate import TASK_METRICS
from core.words import METRICS, OPTIONS
from tests.pages.apptest import no_errors, open_page

ROWS = 500
# internal names that have words of their own: a model key, metric key or option key with an
# underscore is never a word a person would use
INTERNAL = sorted(
    {name for name in CATALOG if "_" in name}
    | {name for names in TASK_METRICS.values() for name in names if "_" in name}
    | {name for names in DEFAULT_METRICS.values() for name in names if "_" in name}
    | {name for name in METRICS if "_" in name}
    | {name for name in OPTIONS if "_" in name},
    key=len,
    reverse=True,
)
# an internal name as a whole word (``drift_share``), not inside a user's own column name
INTERNAL_NAME = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, INTERNAL)) + r")(?![\w])")
REPR = re.compile(r"\{'|\[\{'|\bnan\b|\bNaT\b")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# how Python and pandas write "nothing here": never a word a person reads for a missing value
NONE_CELL = {"None", "nan", "NaN", "<NA>"}
# a column format that shows decimals ("%.2f"): wrong for whole numbers (3.00)
DECIMALS = re.compile(r"%[0-9]*\.[1-9][0-9]*f")
# parts of a page that are for programs, not people: code to copy and JSON
FOR_PROGRAMS = {"code", "json"}
TABLES = {"arrow_data_frame", "dataframe", "table"}
# a figure's data and ranges: a time there is placed on a date axis and drawn by it
DATA_KEYS = {"x", "y", "x0", "x1", "base", "range", "customdata"}
FIGURE_PLUMBING = {
    *("template", "type", "mode", "uid", "xaxis", "yaxis", "colorscale", "hoverinfo"),
    *("bdata", "dtype", "shape", "xref", "yref", "anchor", "xanchor", "yanchor", "dash"),
}
# the parts of a proto that are never drawn as text
NOT_SHOWN = {"id", "form_id", "type", "element_type", "page", "url", "icon", "arrow_data", "spec"}


# -- the studio --------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, ROWS).round(2),
            "debt": rng.integers(0, 30, ROWS),
            "region": rng.choice(["north", "south", "east"], ROWS),
            "sex": rng.choice(["female", "male"], ROWS),
            "applied": pd.date_range("2025-01-01", periods=ROWS, freq="6h").strftime("%Y-%m-%d"),
        }
    )
    frame.loc[rng.choice(ROWS, 25, replace=False), "income"] = np.nan
    risk = -0.1 * (frame["income"].fillna(50) - 50) + 0.1 * (frame["debt"] - 15)
    frame["repaid"] = np.where(risk + rng.normal(size=ROWS) < 0.3, "yes", "no")
    return frame


def _log_traffic(home: Path, deployment_id: int, version_id: int, frame: pd.DataFrame) -> None:
    """An hour of answered requests on the deployment, each labelled with the true outcome."""
    from core.store import connect, deployments

    start = time.time() - 3600
    requests, labels = [], []
    for index, row in enumerate(frame.drop(columns=["repaid"]).to_dict("records")):
        request_id = f"words-{index}"
        inputs = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        if index > ROWS - 60 and index % 3 == 0:  # the last minutes refuse some: an alert
            requests.append(
                (deployment_id, version_id, request_id, start + index * 7.0, 3.0, 422, 0,
                 None, None, None, None, "bad input")
            )  # fmt: skip
            continue
        requests.append(
            (deployment_id, version_id, request_id, start + index * 7.0, 3.0, 200, 1,
             json.dumps([inputs]), json.dumps(["yes" if index % 3 else "no"]), None, None, None)
        )  # fmt: skip
        labels.append((request_id, 0, json.dumps(frame["repaid"].iloc[index])))
    with connect(home) as db:
        deployments.log_predictions(db, requests)
        deployments.record_labels(db, deployment_id, labels, time.time())


@pytest.fixture(scope="module")
def full_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A studio that has been through every step: a dataset with a saved recipe, tuned runs of
    two models, a reviewed, explained, approved champion deployed with an hour of labelled
    traffic (and the alerts it raised)."""
    from core.data.datasets import import_dataset
    from core.retrain.challenger import dry_run, start_retrain
    from core.retrain.policies import Triggers, add_policy
    from core.review.review import submit_explanation, submit_review
    from core.review.signoff import CHECKLIST, record_decision
    from core.serving import deployments
    from core.train.plan import ValidationPlan
    from core.train.registry import CHAMPION, register_run, set_alias
    from core.train.training import TrainRequest, submit_training

    home = tmp_path_factory.mktemp("plain_words") / "studio"
    frame = _frame()
    path = home.parent / "loans.csv"
    home.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    version = import_dataset(home, path=path, name="loans").version
    request = TrainRequest(
        version_id=version.id,
        target="repaid",
        models=("logistic_regression", "random_forest"),
        strategy="random",
        trials=2,
        plan=ValidationPlan(folds=2),
    )
    trained = wait_for_job(home, submit_training(home, request).id, timeout=240)
    assert trained.status == "done", trained
    registered = register_run(home, trained.result["best_run_id"], name="loans", onnx=False)
    for job in (
        submit_review(home, registered, sensitive=["sex"]),
        submit_explanation(home, registered),
    ):
        assert wait_for_job(home, job.id, timeout=240).status == "done", job
    record_decision(
        home,
        registered,
        reviewer="Ada",
        decision="approve",
        comment="Fine for the test.",
        checklist=dict.fromkeys(CHECKLIST, True),
        reason="Approved for the test whatever the gates say.",
    )
    set_alias(home, name="loans", version=registered.version, alias=CHAMPION)
    deployment, _ = deployments.deploy(home, "loans@champion")
    try:  # the service stops however the rest goes
        _log_traffic(home, deployment.id, registered.id, frame)
        add_policy(home, deployment.id, name="On drift", triggers=Triggers(drift_share=0.5))
        dry_run(home, deployment.id)
        retrain = start_retrain(home, deployment.id)
        assert retrain.job_id is not None
        assert wait_for_job(home, retrain.job_id, timeout=300).status == "done"
        yield home
    finally:
        for running in deployments.list_deployments(home, include_stopped=False):
            deployments.undeploy(home, running.id)


@pytest.fixture
def studio(full_studio: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(full_studio))
    return full_studio


# -- reading what a page shows -----------------------------------------------------------------


def _proto_texts(message: Any) -> Iterator[str]:
    """Every text field of a proto message a person could read, nested ones too."""
    for field, found in message.ListFields():
        if field.name in NOT_SHOWN:
            continue
        single = isinstance(found, str | bytes | int | float) or hasattr(found, "ListFields")
        values = [found] if single else found
        for item in values:
            if isinstance(item, str):
                yield item
            elif hasattr(item, "ListFields"):
                yield from _proto_texts(item)


def _figure_texts(spec: str) -> Iterator[tuple[str, str]]:
    """The texts a Plotly figure draws, each with its key: titles, axis labels and ticks,
    legends, hover text, and the data (a time there is drawn by the axis, not as text)."""
    figure = json.loads(spec)

    def walk(item: Any, key: str = "") -> Iterator[tuple[str, str]]:
        if key in FIGURE_PLUMBING:
            return
        if isinstance(item, str):
            if not item.startswith(("#", "rgb")):
                yield key, item
        elif isinstance(item, dict):
            for name, value in item.items():
                yield from walk(value, name)
        elif isinstance(item, list):
            for value in item:
                yield from walk(value, key)

    yield from walk(figure)


def _table_findings(where: str, element: Any) -> Iterator[str]:
    frame = element.value
    placeholder = getattr(element.proto, "placeholder", "")  # st.table has none
    config = json.loads(getattr(element.proto, "columns", "") or "{}")
    editor = bool(getattr(element.proto, "editing_mode", 0))
    for column in frame.columns:
        shown = config.get(str(column), {})
        header = str(shown.get("label") or column)
        yield from _text_findings(f"{where} header", header)
        values = frame[column]
        number_format = str(shown.get("type_config", {}).get("format", ""))
        if pd.api.types.is_integer_dtype(values) and DECIMALS.search(number_format):
            yield f"{where}: column {header!r} shows whole numbers with decimals"
        if values.dtype == bool:
            if not editor:  # an editor's checkbox is the way to set a flag
                yield f"{where}: column {header!r} is drawn as checkboxes"
            continue
        if values.isna().any() and not placeholder:
            yield f"{where}: column {header!r} shows grey None cells"
        for cell in values.dropna().unique()[:200]:
            if isinstance(cell, str):
                yield from _text_findings(f"{where} column {header!r}", cell)
            elif isinstance(cell, dict | list):
                yield f"{where}: column {header!r} holds a Python {type(cell).__name__}"


def _text_findings(where: str, text: str) -> Iterator[str]:
    plain = text.replace("\\", "")
    if plain.strip() in NONE_CELL:
        yield f"{where}: {plain.strip()!r} where a value should be"
    for pattern, what in ((INTERNAL_NAME, "internal name"), (REPR, "repr"), (ISO_TIME, "ISO")):
        if found := pattern.search(plain):
            yield f"{where}: {what} {found.group(0)!r} in {plain[:160]!r}"


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def findings(at: AppTest, page: str) -> list[str]:
    """What the rendered page shows that is not in the user's words."""
    found: list[str] = []
    for node in _nodes(at._tree):
        kind = getattr(node, "type", "")
        where = f"{page} {kind}"
        if kind in FOR_PROGRAMS:
            continue
        if kind in TABLES:
            found += _table_findings(where, node)
        elif kind == "plotly_chart":
            for key, text in _figure_texts(node.proto.spec):
                if not (key in DATA_KEYS and ISO_TIME.match(text)):
                    found += _text_findings(where, text)
        elif getattr(node, "proto", None) is not None and hasattr(node.proto, "ListFields"):
            for text in _proto_texts(node.proto):
                found += _text_findings(where, text)
    return sorted(set(found))


def page_with(name: str, settings: dict[str, Any] | None = None, **more: Any) -> AppTest:
    at = open_page(name, timeout=120, settings=settings, **more)
    no_errors(at)
    return at


# -- the pages -----------------------------------------------------------------------------------

RUNS = "runs"  # a setting filled in with the studio's run ids
VIEWS: dict[str, tuple[str, dict[str, Any]]] = {
    "explore overview": ("explore", {}),
    "explore columns": ("explore", {state.EXPLORE_SECTION: "Columns"}),
    "explore target": (
        "explore",
        {state.EXPLORE_SECTION: "Target", state.TARGET_BY_VERSION: {1: "repaid"}},
    ),
    "explore overview with a target": ("explore", {state.TARGET_BY_VERSION: {1: "repaid"}}),
    "explore quality": ("explore", {state.EXPLORE_SECTION: "Quality"}),
    "explore correlations": ("explore", {state.EXPLORE_SECTION: "Correlations"}),
    "explore missing": ("explore", {state.EXPLORE_SECTION: "Missing values"}),
    "explore relationships": (
        "explore",
        {state.EXPLORE_SECTION: "Relationships", state.TARGET_BY_VERSION: {1: "repaid"}},
    ),
    "prepare": ("prepare", {}),
    "train": ("train", {}),
    "experiments one run": ("experiments", {state.EXPERIMENTS_PICKED: RUNS + ":1"}),
    "experiments compared": ("experiments", {state.EXPERIMENTS_PICKED: RUNS + ":3"}),
    "review": ("review", {}),
    "deploy": ("deploy", {}),
    "monitor traffic": ("monitor", {state.MONITOR_ALERTS_OPEN: True}),
    "monitor drift": ("monitor", {state.MONITOR_LIVE_TAB: "Drift"}),
    "monitor timeline": ("monitor", {state.MONITOR_LIVE_TAB: "Timeline"}),
    "monitor rules": (
        "monitor",
        {state.MONITOR_ALERTS_OPEN: True, state.MONITOR_ALERTS_TAB: "Rules"},
    ),
    "monitor retrains": (
        "monitor",
        {
            state.DRY_RUNS: True,
            state.RETRAIN_HISTORY: True,
            state.RETRAIN_STEPS.format(retrain_id=2): True,
        },
    ),
    "monitor policies": ("monitor", {state.RETRAIN_TAB: "Policies"}),
}


def _settings(home: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The view's session settings, with RUNS:<n> replaced by the newest n runs' ids; every
    page opens on the dataset version trained on, not the one the retrain made."""
    from core.train.tracking import list_runs

    filled = {state.DATASET_VERSION_ID: 1, **settings}
    for key, value in settings.items():
        if isinstance(value, str) and value.startswith(RUNS + ":"):
            newest = sorted((run.id for run in list_runs(home)), reverse=True)
            filled[key] = newest[: int(value.split(":")[1])]
    return filled


@pytest.mark.parametrize("view", list(VIEWS))
def test_a_page_shows_only_the_users_words(studio: Path, view: str) -> None:
    page, settings = VIEWS[view]
    at = page_with(page, _settings(studio, settings))
    assert findings(at, view) == []


def test_the_scan_sees_what_it_looks_for() -> None:
    """The patterns catch the kinds of text the issue names, and pass the words."""
    caught = [
        "logistic_regression",
        "roc_auc = 0.8",
        "{'C': 0.01, 'class_weight': None}",
        "fill with most_frequent",
        "2026-12-07T03:04:05",
    ]
    for text in caught:
        assert list(_text_findings("test", text)), text
    for text in ["Logistic regression", "ROC AUC", "C = 0.01", "2026-12-07 03:04 UTC", "income_2"]:
        assert not list(_text_findings("test", text)), text


def test_the_scan_reads_a_table_as_it_is_drawn() -> None:
    """Checkboxes, grey None cells, whole numbers with decimals and reprs in a table are
    caught; the same table with text, a placeholder and whole-number formats passes."""
    frame = pd.DataFrame(
        {
            "prediction": [True, False],
            "score": [0.5, None],
            "rows": [3, 4],
            "params": ["{'C': 1.0}", "C = 1"],
        }
    )
    shown = json.dumps({"rows": {"type_config": {"type": "number", "format": "%.2f"}}})
    table = SimpleNamespace(
        value=frame, proto=SimpleNamespace(placeholder="", columns=shown, editing_mode=0)
    )
    found = " ".join(_table_findings("test", table))
    for what in ("checkboxes", "grey None", "whole numbers with decimals", "repr"):
        assert what in found, what
    fixed = frame.assign(prediction=["yes", "no"], params=["C = 1", "C = 1"])
    table = SimpleNamespace(value=fixed, proto=SimpleNamespace(placeholder="-", columns="{}"))
    assert list(_table_findings("test", table)) == []


PASSWORD = "correct horse battery"


# -- what a viewer may press ---------------------------------------------------------------------

# buttons that write nothing to the studio: they sign out, edit the tab's draft recipe, fetch a
# model file or ask the service (as any client with the key may), so every role may press them
NOT_WRITING = {
    "signin.sign_out",
    *(state.STEP_ADD, state.FEATURES_DEFAULTS, state.FEATURE_SAVE),
    *(state.EXPERIMENTS_RUN_FILE, state.EXPERIMENTS_FILE_SKOPS, state.EXPERIMENTS_FILE_ONNX),
    state.DEPLOY_PREDICT,
}
VIEWER_VIEWS = [
    "explore overview",
    "explore columns",
    "prepare",
    "train",
    "experiments one run",
    "review",
    "deploy",
    "monitor rules",
    "monitor retrains",
    "monitor policies",
]


@pytest.fixture(scope="module")
def team_studio(full_studio: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the full studio that has a team: the admin ada and the viewer vic."""
    import shutil

    from core.auth import Identity, acting_as
    from core.auth.accounts import add_user

    home = tmp_path_factory.mktemp("team") / "studio"
    shutil.copytree(full_studio, home)
    add_user(home, "ada", role="admin", password=PASSWORD)
    with acting_as(Identity("ada", "admin", "session")):
        add_user(home, "vic", role="viewer", password=PASSWORD)
    return home


@pytest.mark.parametrize("view", VIEWER_VIEWS)
def test_a_viewer_sees_every_write_action_greyed_out_with_the_role_it_needs(
    team_studio: Path, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    from app.people import signin
    from core.auth.sessions import sign_in

    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(team_studio))
    page, settings = VIEWS[view]
    session = sign_in(team_studio, "vic", PASSWORD)
    at = page_with(page, _settings(team_studio, settings), query={signin.SESSION_PARAM: session})
    buttons = list(at.button)
    pressable = sorted(f"{b.key}: {b.label}" for b in buttons if not b.proto.disabled)
    writing = [b for b in pressable if b.split(": ")[0] not in NOT_WRITING]
    assert writing == [], f"{view}: a viewer may press {writing}"
    greyed = [b for b in buttons if b.proto.disabled and "you are signed in as viewer" in b.help]
    assert greyed, f"{view}: no action says which role it needs"
