"""Large requests on a real uvicorn: the prediction log keeps a records body's rows as the client
sent them (no second encoding), and every reader of the log sees the same rows as before."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import httpx
import orjson
import pytest

from core.serving.app import SERVING_GC_THRESHOLD, create_app
from core.serving.bodies import payload_text
from core.serving.keys import key_hash
from core.store import connect, deployments, monitoring
from core.train.registry import find_model_version

KEY = "mls_large-requests-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
SPACED = (
    b' \n{ "records" :\t[ {"income": 1E2, "region": "nor\\u0074h"},\n'
    b'{"region": "south", "income": 70} ] }\n '
)


def _payload(raw: bytes, key: str) -> str | None:
    body = orjson.loads(raw)
    return payload_text(raw, body, key, body.get(key))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"records":[{"income":1.0,"region":"north"}]}',
        SPACED,
        b'{"dataframe_records": []}',
        b'{"records": [{"note": "a ] } in text"}]}',
    ],
)
def test_the_payload_text_is_the_list_as_sent(raw):
    text = _payload(raw, "records" if b'"records"' in raw else "dataframe_records")
    assert text is not None and text.startswith("[") and text.endswith("]")
    assert json.loads(text) == next(iter(orjson.loads(raw).values()))


@pytest.mark.parametrize(
    "raw, key",
    [
        (b'{"records": [{"income": 1.0}], "params": {}}', "records"),  # two keys
        (b'{"dataframe_split": {"data": [[1.0]]}}', "dataframe_split"),  # not a list
        (b'{"\\u0072ecords": [{"income": 1.0}]}', "records"),  # the key written with escapes
        (b'{"records": [{"income": 1.0}]}' + b" " * 2000, "records"),  # a long tail
    ],
)
def test_other_bodies_have_no_payload_text(raw, key):
    assert _payload(raw, key) is None


@pytest.fixture(scope="module")
def home(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("large") / "studio", rows=400, seed=6)


def test_logged_rows_read_back_as_sent_on_every_endpoint(home, add_deployment, live_server):
    version = find_model_version(home, "loans@1")
    deployment_id = add_deployment(home, version.id, status="running", api_key_hash=key_hash(KEY))
    many = [{"income": float(i % 90), "region": ("north", "south")[i % 2]} for i in range(3000)]
    extra = b'{"dataframe_records": [{"income": 5.0, "region": "north", "color": "red"}]}'
    sent = [
        ("/predict", SPACED),
        ("/invocations", b'{"dataframe_records":' + orjson.dumps(many) + b"}"),
        ("/invocations", extra),  # an ignored column: ignored by the model, logged as sent
        ("/invocations", b'{"dataframe_split": {"columns": ["income"], "data": [[3.0]]}}'),
        ("/predict", b'{"records": [{"income": NaN, "region": "north"}]}'),  # refused: 422
    ]
    app = create_app(home, deployment_id=deployment_id)
    with live_server(app) as url, httpx.Client(base_url=url, headers=HEADERS) as client:
        assert gc.get_threshold()[0] == SERVING_GC_THRESHOLD
        statuses = [client.post(path, content=body).status_code for path, body in sent]
    assert statuses == [200, 200, 200, 400, 422]  # the split body omits region
    assert gc.get_threshold()[0] != SERVING_GC_THRESHOLD  # put back when the service stops
    expected = [
        [{"income": 100.0, "region": "north"}, {"region": "south", "income": 70}],
        many,
        [{"income": 5.0, "region": "north", "color": "red"}],
    ]
    with connect(home) as db:
        logged = deployments.predictions(db, deployment_id, limit=10_000)
        window = monitoring.window_inputs(db, deployment_id, 0, 2e9, limit=10_000)
    newest_first = [row for rows in reversed(expected) for row in rows]
    assert [row["inputs"] for row in logged if row["status"] == 200] == newest_first
    assert window == newest_first


def test_the_log_writer_checkpoints_after_its_commits_not_inside_them(tmp_path):
    from core.serving.prediction_log import CHECKPOINT_BYTES, PredictionLog
    from core.settings import database_path

    home = tmp_path / "studio"
    with connect(home):
        pass
    store = database_path(home)
    before = store.stat().st_size
    inputs = json.dumps([{"text": "x" * 1000}] * (CHECKPOINT_BYTES // 1000 + 100))
    writer = PredictionLog(home)
    try:
        row = (None, None, "big-request", 1.0, 1.0, 200, 1, inputs, "[0]", None, None, None)
        assert writer.append([row]).result(30) == 1
        deadline = time.monotonic() + 30
        # the writer's own connection stays open, so only its checkpoint grows the store file
        while store.stat().st_size < before + CHECKPOINT_BYTES and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.stat().st_size >= before + CHECKPOINT_BYTES
    finally:
        writer.close()
    with connect(home) as db:
        assert deployments.answered_sizes(db, None, ["big-request"]) == {"big-request": 1}
