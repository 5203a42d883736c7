"""The Deploy page in AppTest against real services: refusals, deploy with the key shown once,
the playground, snippets, batch scoring and stop."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.jobs import wait_for_job
from core.serving import deployments
from core.store.deployments import Deployment
from tests.pages.apptest import no_errors, open_page, table_with


def deploy_page() -> AppTest:
    return open_page("deploy")


REASON = "exercised by the page tests"


def field(deployment: Deployment, name: str) -> str:
    return state.DEPLOY_FIELD.format(deployment_id=deployment.id, name=name)


@pytest.fixture(scope="module")
def deploy_home(tmp_path_factory: pytest.TempPathFactory, loans_studio):
    """A store with loans v1 (a logistic regression, not approved); every service it starts is
    stopped at the end."""
    home = loans_studio(tmp_path_factory.mktemp("deploy_page") / "studio", rows=300, seed=3)
    yield home
    for deployment in deployments.list_deployments(home, include_stopped=False):
        deployments.undeploy(home, deployment.id)


@pytest.fixture(scope="module")
def live(deploy_home: Path) -> tuple[Deployment, str]:
    return deployments.deploy(deploy_home, "loans@1", override_reason=REASON)


@pytest.fixture
def studio(deploy_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(deploy_home))
    return deploy_home


def test_an_unapproved_version_is_refused_without_a_reason(studio: Path) -> None:
    at = deploy_page()
    no_errors(at)
    assert any("loans v1 is not reviewed" in w.value.replace("\\", "") for w in at.warning)
    at.button(key=state.DEPLOY_BUTTON).click().run()
    no_errors(at)
    assert any("only an approved version is deployed" in e.value for e in at.error)
    at.text_input(key=state.DEPLOY_OVERRIDE).input("why not").run()
    at.button(key=state.DEPLOY_BUTTON).click().run()
    no_errors(at)
    assert any("at least 10 characters" in e.value for e in at.error)


def test_deploy_shows_the_key_once_runs_and_stops(studio: Path) -> None:
    before = {d.id for d in deployments.list_deployments(studio)}
    at = deploy_page()
    at.text_input(key=state.DEPLOY_OVERRIDE).input(REASON).run()
    at.button(key=state.DEPLOY_BUTTON).click().run()
    no_errors(at)
    (new,) = [d for d in deployments.list_deployments(studio) if d.id not in before]
    keys = [code.value for code in at.code if code.value.endswith(new.key_hint)]
    assert len(keys) == 1 and len(keys[0]) > 20
    assert any("stored hashed and never shown again" in w.value for w in at.warning)

    deployments.wait_until_ready(studio, new.id)
    at.run()
    no_errors(at)
    assert any("is live at" in s.value for s in at.success)
    table = table_with(at, "answering").set_index("id")
    assert table.loc[new.id, "status"] == "running" and table.loc[new.id, "answering"] == "yes"
    assert at.selectbox(key=state.DEPLOY_PICKED).value == new.id
    assert at.button(key=state.DEPLOY_ROLLBACK).disabled  # it has served only one version

    at.button(key=state.DEPLOY_HIDE_KEY).click().run()
    assert not [code for code in at.code if keys[0] in code.value]  # never shown again
    at.button(key=state.DEPLOY_STOP).click().run()
    no_errors(at)
    assert deployments.get_deployment(studio, new.id).status == "stopped"
    assert table_with(at, "answering").set_index("id").loc[new.id, "status"] == "stopped"


def test_the_playground_predicts_and_logs(studio: Path, live: tuple[Deployment, str]) -> None:
    deployment, api_key = live
    at = deploy_page()
    at.selectbox(key=state.DEPLOY_PICKED).set_value(deployment.id).run()
    at.number_input(key=field(deployment, "income")).set_value(30.0)
    at.selectbox(key=field(deployment, "region")).set_value("north")
    at.text_input(key=state.DEPLOY_API_KEY.format(deployment_id=deployment.id)).input("wrong")
    at.button(key=state.DEPLOY_PREDICT).click().run()
    no_errors(at)
    assert any("refused the key (401" in e.value for e in at.error)

    at.text_input(key=state.DEPLOY_API_KEY.format(deployment_id=deployment.id)).input(api_key)
    at.button(key=state.DEPLOY_PREDICT).click().run()
    no_errors(at)
    (prediction,) = [m for m in at.metric if m.label == "Prediction"]
    assert prediction.value in {"0", "1"}
    assert at.get("plotly_chart")
    assert any("loans v1" in caption.value for caption in at.caption)
    logged = table_with(at, "latency ms")
    assert logged["status"].iloc[0] == 200 and logged["prediction"].iloc[0] == prediction.value


def test_the_sample_deployment_can_be_tried_at_once_with_its_kept_key(studio: Path) -> None:
    """The seeding job made the sample's key and showed it to nobody: the page fills it in."""
    from app.deploy.playground import KEY_UNKNOWN, SAMPLE_KEY
    from core.demo import keep_sample_key

    sample, api_key = deployments.deploy(studio, "loans@1", override_reason=REASON)
    keep_sample_key(studio, sample.id, api_key)  # as the seeding job does
    try:
        at = deploy_page()
        at.selectbox(key=state.DEPLOY_PICKED).set_value(sample.id).run()
        no_errors(at)
        assert SAMPLE_KEY in [caption.value for caption in at.caption]
        assert api_key in [code.value for code in at.code]  # there to copy, for the sample only
        at.number_input(key=field(sample, "income")).set_value(30.0)
        at.selectbox(key=field(sample, "region")).set_value("north")
        at.button(key=state.DEPLOY_PREDICT).click().run()  # no key typed
        no_errors(at)
        (prediction,) = [m for m in at.metric if m.label == "Prediction"]
        assert prediction.value in {"0", "1"}

        deployments.rotate_key(studio, sample.id)  # then the kept key is no way in: say which is
        at = deploy_page()
        at.selectbox(key=state.DEPLOY_PICKED).set_value(sample.id).run()
        no_errors(at)
        captions = [caption.value for caption in at.caption]
        assert KEY_UNKNOWN in captions and SAMPLE_KEY not in captions
        assert api_key not in [code.value for code in at.code]
    finally:
        deployments.undeploy(studio, sample.id)


def test_snippets_use_the_real_url_and_no_key(studio: Path, live: tuple[Deployment, str]) -> None:
    deployment, api_key = live
    at = deploy_page()
    at.selectbox(key=state.DEPLOY_PICKED).set_value(deployment.id).run()
    no_errors(at)
    snippets = "\n".join(code.value for code in at.code)
    for path in ("/predict", "/invocations", "/feedback"):
        assert f"{deployment.url}{path}" in snippets
    assert "$MLOPS_STUDIO_API_KEY" in snippets and "dataframe_split" in snippets
    assert api_key not in snippets


def test_batch_scoring_runs_as_a_job(studio: Path, live: tuple[Deployment, str]) -> None:
    deployment, _ = live
    at = deploy_page()
    at.selectbox(key=state.DEPLOY_PICKED).set_value(deployment.id).run()
    rows = b"income,region\n30,north\n70,south\n=1+1,north\n"
    at.file_uploader(key=state.DEPLOY_BATCH_FILE).set_value(("new.csv", rows, "text/csv")).run()
    at.button(key=state.DEPLOY_BATCH_BUTTON).click().run()
    job_id = at.session_state[state.DEPLOY_BATCH_JOBS][deployment.id]
    assert wait_for_job(studio, job_id, timeout=120).status == "failed"
    at.run()
    no_errors(at)
    assert any("'income' should hold numbers" in e.value.replace("\\", "") for e in at.error)

    rows = b"income,region,note\n30,north,=HYPERLINK()\n70,south,ok\n"
    at.file_uploader(key=state.DEPLOY_BATCH_FILE).set_value(("new.csv", rows, "text/csv")).run()
    at.button(key=state.DEPLOY_BATCH_BUTTON).click().run()
    job_id = at.session_state[state.DEPLOY_BATCH_JOBS][deployment.id]
    assert wait_for_job(studio, job_id, timeout=120).status == "done"
    at.run()
    no_errors(at)
    scored = table_with(at, "probability_1")
    assert len(scored) == 2 and {"prediction", "probability_1"} <= set(scored.columns)
    assert any("Scored 2 rows of new.csv" in s.value.replace("\\", "") for s in at.success)
    assert at.get("download_button")


def test_a_tampered_model_is_refused_in_one_line_with_nothing_left(
    tmp_path: Path, loans_studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.artifacts import resolve
    from core.train.registry import find_model_version

    home = loans_studio(tmp_path / "studio", rows=200, seed=4)
    monkeypatch.setenv("MLOPS_STUDIO_HOME", str(home))
    path = resolve(home, find_model_version(home, "loans@1").artifact_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    at = deploy_page()
    at.text_input(key=state.DEPLOY_OVERRIDE).input(REASON).run()
    at.button(key=state.DEPLOY_BUTTON).click().run()
    no_errors(at)
    (error,) = [e.value for e in at.error if "Cannot deploy" in e.value]
    assert "changed since the studio saved it" in error and "Traceback" not in error
    assert "\n" not in error.strip()
    assert deployments.list_deployments(home) == []
