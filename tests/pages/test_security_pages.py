"""The security review and serving hardening in AppTest: Review's Security tab and card
section, Monitor's out-of-distribution chart, and the Deploy page's hardening settings."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs import wait_for_job
from core.review.card import build_card
from core.review.review import submit_review
from core.review.security.report import cached_security, submit_security
from core.serving import deployments as deploying
from core.store import connect, deployments
from core.train.registry import find_model_version, register_run
from tests.pages.apptest import no_errors, open_page


def page(name: str) -> AppTest:
    return open_page(name, timeout=120)


def chart_specs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, train_frame):
    """A deep tree on noisy labels (it remembers its rows), registered, reviewed, with its
    security review; deployed as a real service giving full probabilities with no rate limit,
    which answered 40 requests of 2 rows, 10 rows of them far outside the training range."""
    home = tmp_path_factory.mktemp("security_pages") / "studio"
    rng = np.random.default_rng(8)
    n = 800
    frame = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    frame["y"] = ((frame["x"] > 0) ^ (rng.random(n) < 0.3)).astype(int)
    outcome = train_frame(
        home,
        frame,
        name="noisy",
        target="y",
        models=("decision_tree",),
        params={"max_depth": 20, "min_samples_leaf": 1},  # grown to purity: it remembers rows
    )
    version = register_run(home, outcome.best.id, name="noisy", onnx=False)
    for job in (submit_security(home, version), submit_review(home, version)):
        assert wait_for_job(home, job.id, timeout=240).status == "done"
    deployment, api_key = deploying.deploy(home, "noisy@1", override_reason="security tests")
    usual, far = {"x": 0.1, "kind": "a"}, {"x": 100.0, "kind": "a"}
    with httpx.Client(base_url=deployment.url, headers={"X-API-Key": api_key}) as client:
        for i in range(40):  # every fourth request has one row far outside training
            rows = [far if i % 4 == 0 else usual, usual]
            assert client.post("/predict", json={"records": rows}).status_code == 200
    yield home, version.id, deployment.id
    deploying.undeploy(home, deployment.id)


@pytest.fixture
def studio(secured, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(secured[0]))
    return secured


def test_the_security_tab_shows_the_attack_the_perturbations_and_the_exposure(studio) -> None:
    home, _, deployment_id = studio
    at = page("review")
    no_errors(at)
    specs = chart_specs(at)
    assert any("Membership attack: advantage" in spec for spec in specs)
    assert any("Decisions flipped by small changes" in spec for spec in specs)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert float(metrics["Membership advantage"]) > 0.15  # the tree remembers its rows
    assert metrics["Extraction exposure"] == "high"
    assert any("remembers" in e.value or "advantage" in e.value for e in at.error)
    assert any("rate limit per API key" in warning.value for warning in at.warning)
    gates = at.table[0].value
    assert "❌" in gates.loc["Security: membership inference", "verdict"]
    integrity = next(t.value for t in at.table if t.value.index.name == "check")
    assert "✅" in integrity.loc["Model file hash verified", "verdict"]
    assert "Allowlisted types only" in integrity.index
    assert any(button.key == state.REVIEW_SECURITY_RUN for button in at.button)


def test_the_card_has_a_security_section(studio) -> None:
    home, version_id, _ = studio
    version = find_model_version(home, "noisy@1")
    card = build_card(home, version)
    text = card.to_markdown()
    assert "## Security" in text and "Membership inference" in text and "FAIL" in text
    # the review's own Security gate fails the leaking tree too
    assert "Security: membership inference" in text
    assert "<h2>Security</h2>" in card.to_html()
    report = cached_security(home, version)
    assert report is not None and not report.passed and report.version_id == version_id


def test_hardening_a_deployment_lowers_its_exposure(studio) -> None:
    home, _, deployment_id = studio
    at = page("deploy")
    no_errors(at)
    at.text_input(key=f"{state.DEPLOY_HARDENING_RATE}.{deployment_id}").set_value("10/s")
    at.selectbox(key=f"{state.DEPLOY_HARDENING_LABELS}.{deployment_id}").set_value("labels")
    at.button(key=state.DEPLOY_HARDENING_SAVE).click().run()
    no_errors(at)
    with connect(home) as db:
        saved = deployments.get(db, deployment_id)
    assert saved is not None and saved.rate_limit == 10.0 and saved.labels_only
    assert saved.status == "running"  # changed live: no restart
    report = cached_security(home, find_model_version(home, "noisy@1"))
    assert report is not None and report.exposure.level == "low"
    at.text_input(key=f"{state.DEPLOY_HARDENING_RATE}.{deployment_id}").set_value("fast").run()
    assert any("A rate limit reads like" in error.value for error in at.error)
    assert at.button(key=state.DEPLOY_HARDENING_SAVE).disabled
    from core.serving.deployments import set_hardening
    from core.store.deployments import ServingSettings

    set_hardening(home, deployment_id, ServingSettings())  # as the other tests expect it


def test_monitor_charts_the_out_of_distribution_share(studio) -> None:
    at = page("monitor")
    no_errors(at)
    (spec,) = [spec for spec in chart_specs(at) if "Out of distribution" in spec]
    assert "12.5% of rows" in spec  # 10 of 80 rows
