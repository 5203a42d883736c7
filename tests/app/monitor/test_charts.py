"""Monitor's traffic charts: a minute of traffic still draws, and errors share a chart with
unseen categories."""

from __future__ import annotations

from app.monitor import charts
from core.monitor.dashboard import MonitorSummary, WindowStats

START = 1_800_000_000.0


def window(minute: int, *, rows: int = 10) -> WindowStats:
    return WindowStats(
        start=START + 60 * minute,
        requests=rows,
        rows=rows,
        error_rate=0.1,
        p50_ms=2.0,
        p95_ms=4.0,
        p99_ms=8.0,
        predictions={"0": rows - 2, "1": 2},
        unseen_rate=0.05,
        labelled=0,
        performance=None,
    )


def summary(windows: list[WindowStats]) -> MonitorSummary:
    return MonitorSummary(
        deployment_id=1,
        start=START - 3600,
        end=START + 60 * len(windows),
        windows=windows,
        requests=sum(w.requests for w in windows),
        rows=sum(w.rows for w in windows),
        error_rate=0.1,
        p50_ms=2.0,
        p95_ms=4.0,
        p99_ms=8.0,
        requests_per_minute=10.0,
        labelled=0,
        performance=None,
        performance_name="accuracy",
    )


def test_one_minute_of_traffic_draws_points() -> None:
    one = summary([window(0)])
    for figure in (
        charts.latency_figure(one),
        charts.problems_figure(one),
        charts.prediction_mix_figure(one),
    ):
        assert figure.data and all("markers" in trace.mode for trace in figure.data)


def test_an_hour_of_traffic_draws_lines() -> None:
    hour = summary([window(minute) for minute in range(60)])
    figure = charts.latency_figure(hour)
    assert [trace.mode for trace in figure.data] == ["lines"] * 3


def test_errors_and_unseen_categories_share_a_chart() -> None:
    figure = charts.problems_figure(summary([window(minute) for minute in range(5)]))
    names = [trace.name for trace in figure.data]
    assert names == ["error rate (of requests)", "unseen categories (of rows)"]
    assert figure.layout.yaxis.tickformat == ".0%"
    quiet = summary([window(0, rows=0)])
    assert [trace.name for trace in charts.problems_figure(quiet).data] == [
        "error rate (of requests)"
    ]


def _drift_window(start: float, hours: float = 1.0, score: float = 2.0):
    from core.monitor.dashboard import DriftWindow, FeatureDrift

    cell = FeatureDrift("income", "psi", 0.3, None, 0.2, score >= 1, score, 0.0, 0.0)
    return DriftWindow(start, start + hours * 3600, 1.0, 0.5, True, 400, {"income": cell})


def test_one_drift_window_fills_a_heatmap_cell_of_its_own_width():
    from core.monitor.dashboard import DriftHistory

    start = 1_700_000_000.0
    history = DriftHistory(1, start - 6 * 3600, start + 3600, [_drift_window(start)])
    (heat,) = charts.drift_heatmap_figure(history, (history.start, history.end)).data
    assert len(heat.x) == 2 and [list(row) for row in heat.z] == [[2.0]]  # edges, not a centre


def test_a_gap_between_drift_windows_stays_empty():
    from core.monitor.dashboard import DriftHistory

    start = 1_700_000_000.0
    windows = [_drift_window(start), _drift_window(start + 3 * 3600, score=0.5)]
    history = DriftHistory(1, start, start + 4 * 3600, windows)
    (heat,) = charts.drift_heatmap_figure(history, (history.start, history.end)).data
    assert len(heat.x) == 4  # window, gap, window
    row = list(heat.z[0])
    assert row[0] == 2.0 and row[1] != row[1] and row[2] == 0.5  # the gap is NaN
