"""MLflow's scoring protocol on a real uvicorn: the requests MLflow's ScoringServerClient sends
(its ``dump_input_data`` body, /ping, /version), every payload orientation, CSV, content-type
parameters and the refusals of MLflow's own scoring-server tests, in MLflow's error shape."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import requests

from core.serving.app import create_app
from core.serving.keys import key_hash

KEY = "mlflow-protocol-key"
AUTH = {"X-API-Key": KEY}
FRAME = pd.DataFrame({"income": [30.0, 70.0, 50.5], "region": ["north", "south", "north"]})


@pytest.fixture(scope="module")
def served(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("mlflow") / "studio", rows=300, seed=8)


@pytest.fixture
def url(served, live_server):
    with live_server(create_app(served, "loans@1", api_key_hash=key_hash(KEY))) as base:
        yield base


def _invoke(url: str, data: str | bytes, content_type: str = "application/json", **headers):
    headers = {"Content-Type": content_type, **AUTH, **headers}
    return requests.post(f"{url}/invocations", data=data, headers=headers, timeout=30)


def _expected(url: str) -> list:
    records = FRAME.to_dict(orient="records")
    answer = requests.post(f"{url}/predict", json={"records": records}, headers=AUTH, timeout=30)
    assert answer.status_code == 200
    return answer.json()["probabilities"]


def test_what_mlflows_scoring_server_client_sends(url):
    # ScoringServerClient.wait_server_ready() and get_version() send no headers at all
    ping = requests.get(f"{url}/ping", timeout=10)
    assert ping.status_code == 200 and ping.text == "\n"
    version = requests.get(f"{url}/version", timeout=10)
    assert version.status_code == 200 and version.text.strip() and "{" not in version.text
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    # invoke(frame, params): dump_input_data writes dataframe_split (index included) with
    # json.dumps, so a missing value arrives as a bare NaN
    frame = FRAME.assign(income=[30.0, float("nan"), 50.5])
    body = json.dumps({"dataframe_split": frame.to_dict(orient="split"), "params": {"p": 1}})
    assert "NaN" in body
    answer = _invoke(url, body)
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert len(payload["predictions"]) == 3
    assert any("NaN was read as a missing value" in note for note in payload["warnings"])
    assert any("'params' was ignored" in note for note in payload["warnings"])
    # the key is still required where predictions are made
    refused = requests.post(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"


def _orientations() -> dict[str, dict]:
    rows = FRAME.to_dict(orient="records")
    lists = FRAME.to_numpy().tolist()
    return {
        "split": {"dataframe_split": FRAME.to_dict(orient="split")},
        "split_without_index": {"dataframe_split": {"columns": list(FRAME.columns), "data": lists}},
        "records": {"dataframe_records": rows},
        "instances_rows": {"instances": rows},
        "instances_lists": {"instances": lists},
        "inputs_rows": {"inputs": rows},
        "inputs_lists": {"inputs": lists},
        "inputs_columns": {"inputs": FRAME.to_dict(orient="list")},
        "instances_columns": {"instances": FRAME.to_dict(orient="list")},
        "with_params": {"dataframe_records": rows, "params": {"threshold": 0.3}},
    }


def test_every_json_orientation_gives_the_same_answers(url):
    expected = _expected(url)
    for name, payload in _orientations().items():
        answer = _invoke(url, json.dumps(payload))
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json()["probabilities"] == expected, name
    one_row = _invoke(url, json.dumps({"inputs": {"income": 30.0, "region": "north"}}))
    assert one_row.json()["probabilities"] == expected[:1]


def test_csv_bodies_and_content_type_parameters(url):
    expected = _expected(url)
    csv = FRAME.to_csv(index=False)
    for content_type in ("text/csv", "text/csv; charset=UTF-8"):
        answer = _invoke(url, csv, content_type)
        assert answer.status_code == 200, answer.text
        assert answer.json()["probabilities"] == expected
    body = json.dumps({"dataframe_records": FRAME.to_dict(orient="records")})
    assert _invoke(url, body, "application/json; charset=utf-8").status_code == 200
    for content_type in (
        "application/json; format=pandas-split",  # MLflow 1's header: refused since MLflow 2
        "application/json; something=something",
        "application/json; charset=latin-1",
        "not_a_supported_content_type",
        "text/plain",
    ):
        answer = _invoke(url, body, content_type)
        assert answer.status_code == 415, content_type
        assert answer.json()["error_code"] == "BAD_REQUEST" and answer.json()["message"]
    empty_cell = _invoke(url, "income,region\n,north\n", "text/csv")
    assert empty_cell.status_code == 200  # an empty cell is a missing value


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        ("this is,,,, not valid json", "application/json", "not valid JSON"),
        ("1", "application/json", "exactly one of the keys"),
        ('"1"', "application/json", "exactly one of the keys"),
        ("[1]", "application/json", "exactly one of the keys"),
        ('{"not": "a serialized dataframe"}', "application/json", "exactly one of the keys"),
        (
            '{"dataframe_records": [], "dataframe_split": {"data": []}}',
            "application/json",
            "exactly one of the keys",
        ),
        (
            json.dumps({"dataframe_records": FRAME.to_dict(orient="split")}),
            "application/json",
            "list of records",
        ),
        (
            json.dumps({"dataframe_split": FRAME.to_dict(orient="records")}),
            "application/json",
            "dataframe_split must be an object",
        ),
        ('{"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}}', None, "'index'"),
        ('{"inputs": {"income": [1, 2], "region": ["a"]}}', None, "same number of values"),
        ('{"dataframe_records": [{"income": "lots", "region": "north"}]}', None, "a number"),
        ('{"dataframe_records": [{"income": Infinity, "region": "north"}]}', None, "finite"),
        ('{"instances": [[1.0, "north", 3]]}', None, "3 values but there are 2 columns"),
        ("", "text/csv", "could not be read"),
        ("income,region\nlots,north\n", "text/csv", "csv[0].income"),
        (b"income,region\n1,\xff\n", "text/csv", "could not be read"),
    ],
)
def test_refused_input_answers_400_in_mlflows_shape(url, body, content_type, says):
    answer = _invoke(url, body, content_type or "application/json")
    assert answer.status_code == 400, answer.text
    payload = answer.json()
    assert set(payload) == {"error_code", "message"} and payload["error_code"] == "BAD_REQUEST"
    assert says in payload["message"]
    assert "Traceback" not in answer.text


def test_mlflows_coercions_are_made_and_said_only_on_invocations(url):
    expected = _expected(url)
    rows = [
        {"income": "30", "region": "north", "branch": "x"},
        {"income": "70.0", "region": "south", "branch": "y"},
        {"income": 50.5, "region": "north", "branch": "z"},
    ]
    answer = _invoke(url, json.dumps({"dataframe_records": rows}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["probabilities"] == expected
    warnings = answer.json()["warnings"]
    assert any("'branch'" in note and "Ignored columns" in note for note in warnings)
    assert any("'income': numbers sent as text" in note for note in warnings)
    ours = requests.post(f"{url}/predict", json={"records": rows}, headers=AUTH, timeout=30)
    assert ours.status_code == 422 and ours.json()["detail"][0]["loc"][-1] == "branch"
    plain = _invoke(url, json.dumps({"dataframe_records": FRAME.to_dict(orient="records")}))
    assert "warnings" not in plain.json()


def test_too_many_rows_are_refused_before_rows_are_built(url):
    many = 10_001
    bodies = [
        (json.dumps({"inputs": {"income": [1.0] * many, "region": ["north"] * many}}), None),
        (json.dumps({"instances": [[1.0, "north"]] * many}), None),
        (json.dumps({"dataframe_split": {"columns": ["income", "region"],
                                         "data": [[1.0, "north"]] * many}}), None),
        ("income,region\n" + "1.0,north\n" * many, "text/csv"),
    ]  # fmt: skip
    for body, content_type in bodies:
        answer = _invoke(url, body, content_type or "application/json")
        assert answer.status_code == 400, answer.text
        assert "at most 10,000 rows" in answer.json()["message"]
