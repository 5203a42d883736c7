"""The Monitor page in AppTest over a logged deployment (no service runs): nothing deployed,
KPIs and charts, drift, pausing, acknowledging an alert, rules, and alerts in the sidebar."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.monitor import alerts
from core.store import connect, deployments
from tests.pages.apptest import ENTRYPOINT, no_errors, open_page, table_with


def monitor_page() -> AppTest:
    return open_page("monitor")


MINUTES = 20  # of logged traffic before the tests start: four whole drift windows
ERRORS_FROM = 16  # the last minutes refuse a quarter of the requests


def _request(
    deployment_id: int, version_id: int, index: int, at: float, x: float, start: float
) -> tuple:
    refused = (at - start) / 60 >= ERRORS_FROM and index % 4 == 0
    region = "west" if index % 10 == 0 else ("north" if index % 2 else "south")
    prediction = int(x > 0)
    return (
        deployment_id, version_id, f"m{index}", at, 3.0 + index % 7, 422 if refused else 200,
        0 if refused else 1, None if refused else json.dumps([{"x": x, "region": region}]),
        None if refused else json.dumps([prediction]), None,
        None if refused or region != "west" else json.dumps([["region"]]),
        "bad input" if refused else None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory, deploy_frame) -> tuple[Path, int]:
    """A registered model, a running deployment row and 20 minutes of logged traffic whose
    inputs shift halfway, with a quarter of the rows labelled."""
    home = tmp_path_factory.mktemp("monitor_page") / "studio"
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=200), "region": rng.choice(["north", "south"], 200)})
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    model_version, deployment_id = deploy_frame(home, frame, name="tiny", target="y")
    count = MINUTES * 30
    start = time.time() - MINUTES * 60  # at fixture time: collection may be minutes earlier
    xs = np.concatenate([rng.normal(size=count // 2), rng.normal(3, 1, count - count // 2)])
    with connect(home) as db:
        rows = [
            _request(deployment_id, model_version.id, i, start + i * 2.0, float(x), start)
            for i, x in enumerate(xs)
        ]
        deployments.log_predictions(db, rows)
        # every fourth answered row gets its label: the prediction, wrong one time in three
        answered = [(row[2], json.loads(row[8])[0]) for row in rows if row[5] == 200][1::4]
        labels = [
            (request_id, 0, str(prediction if i % 3 else 1 - prediction))
            for i, (request_id, prediction) in enumerate(answered)
        ]
        assert deployments.record_labels(db, deployment_id, labels, time.time()) == []
    return home, deployment_id


@pytest.fixture
def studio(monitored: tuple[Path, int], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(monitored[0]))
    return monitored


def test_nothing_deployed_points_to_deploy(studio_home: Path) -> None:
    at = monitor_page()
    no_errors(at)
    assert any("Nothing has been deployed yet" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_kpis_charts_and_drift_render(studio: tuple[Path, int]) -> None:
    home, deployment_id = studio
    at = monitor_page()
    no_errors(at)
    assert at.selectbox(key=state.MONITOR_DEPLOYMENT).value == deployment_id
    metrics = {metric.label: metric.value for metric in at.metric}
    assert float(metrics["Requests / min"]) == pytest.approx(MINUTES * 30 / 60, rel=0.05)
    assert metrics["p50 latency"].endswith(" ms") and metrics["p99 latency"].endswith(" ms")
    assert 0 < float(metrics["Error rate"].rstrip("%")) < 25
    assert int(metrics["Labelled rows"]) > 0 and 0 <= float(metrics["Accuracy"]) <= 1
    assert len(at.get("plotly_chart")) == 5  # requests, latency, errors, predictions, performance
    assert any("refreshing every" in caption.value for caption in at.caption)

    at.session_state[state.MONITOR_LIVE_TAB] = "Drift"  # a person opens the Drift tab
    at.run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == 2  # drift share, feature x window
    drift = table_with(at, "drift score")
    assert set(drift["feature"]) == {"x", "region"}
    assert drift["drift score"].is_monotonic_decreasing
    shifted = drift.set_index("feature").loc["x"]
    assert shifted["drifted"] == "yes" and shifted["drift score"] >= 1
    assert "importance" not in drift.columns
    assert any("ranked by drift alone" in caption.value for caption in at.caption)

    at.session_state[state.MONITOR_LIVE_TAB] = "Timeline"
    at.run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == 1  # alerts, retrains and the deployment over time

    at.radio(key=state.MONITOR_RANGE).set_value(15).run()
    no_errors(at)
    assert float(at.metric[0].value) > 0


def test_pausing_stops_the_refresh(studio: tuple[Path, int]) -> None:
    at = monitor_page()
    at.toggle(key=state.MONITOR_PAUSED).set_value(True).run()
    no_errors(at)
    assert any("paused" in caption.value for caption in at.caption)
    assert not any("refreshing every" in caption.value for caption in at.caption)
    assert at.get("plotly_chart")  # still drawn, just not redrawn


def test_an_alert_is_acknowledged_and_shown_in_the_sidebar(studio: tuple[Path, int]) -> None:
    home, deployment_id = studio
    at = monitor_page()  # the page evaluates the rules itself: no scheduler runs
    no_errors(at)
    fired = {a.metric: a for a in alerts.open_alerts(home) if a.deployment_id == deployment_id}
    assert "error_rate" in fired
    alert = fired["error_rate"]
    assert any(alert.message in md.value.replace("\\", "") for md in at.markdown)

    sidebar = "\n".join(e.value for e in [*at.sidebar.error, *at.sidebar.warning]).replace("\\", "")
    assert alert.message in sidebar
    assert any(f"{len(fired)} open alert(s)" in c.value for c in at.sidebar.caption)

    at.button(key=state.MONITOR_ACKNOWLEDGE.format(alert_id=alert.id)).click().run()
    no_errors(at)
    acknowledged = next(a for a in alerts.open_alerts(home) if a.id == alert.id)
    assert acknowledged.acknowledged_by == "ui"
    assert any("Acknowledged" in s.value for s in at.success)
    assert at.button(key=state.MONITOR_ACKNOWLEDGE.format(alert_id=alert.id)).disabled
    at.session_state[state.MONITOR_ALERTS_OPEN] = True  # a person opens "Alert log and rules"
    at.run()
    log = table_with(at, "acknowledged by")  # the Alert log tab, open by default
    assert "ui" in set(log["acknowledged by"])

    other = AppTest.from_file(ENTRYPOINT, default_timeout=90)
    other.run()  # the sidebar of another page (Explore) lists it too
    assert any(alert.message in e.value.replace("\\", "") for e in other.sidebar.error)


def test_a_refused_rule_shows_why_and_a_good_one_is_added(studio: tuple[Path, int]) -> None:
    home, deployment_id = studio
    before = len(alerts.rules_of(home, deployment_id))
    at = monitor_page()
    at.session_state[state.MONITOR_ALERTS_OPEN] = True  # a person opens "Alert log and rules"
    at.session_state[state.MONITOR_ALERTS_TAB] = "Rules"  # and its Rules tab
    at.run()
    at.number_input(key=state.MONITOR_RULE_WINDOW).set_value(0)
    at.button(key=state.MONITOR_RULE_ADD).click().run()
    no_errors(at)
    assert any("whole number of minutes" in e.value for e in at.error)
    assert len(alerts.rules_of(home, deployment_id)) == before

    at.selectbox(key=state.MONITOR_RULE_METRIC).set_value("requests_per_minute")
    at.selectbox(key=state.MONITOR_RULE_COMPARISON).set_value("below")
    at.number_input(key=state.MONITOR_RULE_THRESHOLD).set_value(1.0)
    at.number_input(key=state.MONITOR_RULE_WINDOW).set_value(30)
    at.button(key=state.MONITOR_RULE_ADD).click().run()
    no_errors(at)
    added = alerts.rules_of(home, deployment_id)[-1]
    assert (added.metric, added.comparison, added.threshold) == ("requests_per_minute", "below", 1)
    assert any("Added" in s.value for s in at.success)

    at.toggle(key=state.MONITOR_RULE_ENABLED.format(rule_id=added.id)).set_value(False).run()
    no_errors(at)
    assert not alerts.rules_of(home, deployment_id)[-1].enabled
