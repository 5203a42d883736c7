"""Alert rules: defaults, firing and clearing on the windows, acknowledgement, the webhook."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core.monitor import alerts
from core.monitor.alerts import RuleSpec
from core.monitor.windows import aggregate


@pytest.fixture
def receiver():
    """A local webhook receiver on a free loopback port; keeps every JSON body it gets."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def _traffic(log_rows, deployment, *, errors: int, start: float):
    home, deployment_id, version_id = deployment
    rows = [
        (f"q{start}-{i}", 0, start + i * 0.5, 5.0, 422 if i < errors else 200, 1, None)
        for i in range(40)
    ]
    log_rows(home, deployment_id, version_id, rows)
    aggregate(home, deployment_id)


def test_error_rate_alert_fires_posts_and_clears(deployment, log_rows, receiver, monkeypatch):
    home, deployment_id, _ = deployment
    url, received = receiver
    monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
    rules = alerts.rules_of(home, deployment_id)
    assert {rule.metric for rule in rules} >= {"error_rate", "latency_p99_ms", "drift_share"}
    assert alerts.evaluate(home, deployment_id) == []  # no traffic: nothing to say

    _traffic(log_rows, deployment, errors=10, start=time.time() - 60)
    fired = alerts.evaluate(home, deployment_id)
    assert [(a.metric, a.status, a.severity) for a in fired] == [("error_rate", "open", "critical")]
    assert "Error rate is 0.25" in fired[0].message
    assert alerts.evaluate(home, deployment_id) == []  # still open, not raised twice
    assert [a.id for a in alerts.open_alerts(home)] == [fired[0].id]
    assert received[0]["event"] == "alert.open" and received[0]["metric"] == "error_rate"

    alerts.acknowledge(home, fired[0].id, actor="ana")
    assert alerts.open_alerts(home)[0].acknowledged_by == "ana"

    # the 5-minute window moves past the bad minute and fills with good traffic
    later = time.time() + 400
    version_id = deployment[2]
    log_rows(
        home,
        deployment_id,
        version_id,
        [(f"ok{i}", 0, later - 60 + i, 5.0, 200, 1, None) for i in range(40)],
    )
    aggregate(home, deployment_id)
    monkeypatch.setattr(alerts, "summarise", _shifted(alerts.summarise, later))
    cleared = alerts.evaluate(home, deployment_id)
    assert [(a.id, a.status) for a in cleared] == [(fired[0].id, "cleared")]
    assert alerts.open_alerts(home) == [] and received[-1]["event"] == "alert.cleared"


def _shifted(summarise, end):
    return lambda *args, **kwargs: summarise(*args, **{**kwargs, "end": end})


def test_rules_refuse_what_no_one_could_mean(deployment):
    home, deployment_id, _ = deployment
    with pytest.raises(ValueError, match="no alert metric 'speed'"):
        alerts.add_rule(home, deployment_id, RuleSpec("speed", "above", 1, 5, "info"))
    with pytest.raises(ValueError, match="'above' or 'below'"):
        alerts.add_rule(home, deployment_id, RuleSpec("error_rate", "over", 1, 5, "info"))
    with pytest.raises(ValueError, match="whole number of minutes"):
        alerts.add_rule(home, deployment_id, RuleSpec("error_rate", "above", 1, 0, "info"))
    with pytest.raises(ValueError, match="finite number"):
        alerts.add_rule(
            home, deployment_id, RuleSpec("error_rate", "above", float("nan"), 5, "info")
        )
    added = alerts.add_rule(
        home, deployment_id, RuleSpec("requests_per_minute", "below", 1, 10, "warning")
    )
    assert added.metric == "requests_per_minute"
    with pytest.raises(ValueError, match="no alert 999"):
        alerts.acknowledge(home, 999)
