"""Never a 5xx from input, on a real uvicorn: hostile bodies (invalid Unicode, deep nesting,
huge numbers, slow or oversized bodies) sent beside valid requests, which all get their 200; a
request its model cannot score fails alone; the service log rotates under a size cap."""

from __future__ import annotations

import logging
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from core.serving import batcher
from core.serving.app import create_app
from core.serving.keys import key_hash
from core.serving.supervisor import older_log, rotate_log

KEY = "hostile-input-key"
JSON = {"Content-Type": "application/json", "X-API-Key": KEY}
CSV = {"Content-Type": "text/csv", "X-API-Key": KEY}
MOST_BYTES = 64_000
DEEP = b"[" * 1100 + b"]" * 1100  # 2.2 KB, past orjson's depth limit
NESTED = b"[" * 1000 + b"]" * 1000  # within it: parsed, then refused by shape
VALID = [
    ("/predict", b'{"records": [{"income": 41.0, "region": "north"}]}', JSON),
    ("/invocations", b'{"dataframe_split": {"columns": ["income", "region"], '
     b'"data": [[55.5, "south"]]}}', JSON),
    ("/invocations", b"income,region\n48.0,north\n", CSV),
]  # fmt: skip
HOSTILE = [
    ("/predict", b'{"records": [{"income": 1.0, "region": "\\udc80"}]}', JSON),
    ("/predict", b'{"records": [{"income": 1.0, "\\udc80": "north"}]}', JSON),
    ("/predict", b'{"records": [{"income": NaN, "region": "\\udc80"}]}', JSON),
    ("/invocations", b'{"dataframe_records": [{"income": NaN, "region": "\\ud800"}]}', JSON),
    ("/invocations", b'{"inputs": {"income": [1], "\\udfff": [2]}}', JSON),
    ("/predict", b'{"records": [{"income": 1.0, "region": "\xed\xb2\x80"}]}', JSON),
    ("/invocations", b"income,region\n1,\xed\xb2\x80\n", CSV),
    ("/feedback", b'{"request_id": "\\udc80", "label": 1}', JSON),
    ("/feedback", b'{"request_id": "\\udc80", "label": NaN}', JSON),
    ("/feedback", b'{"request_id": "x", "row": 18446744073709551615, "label": 1}', JSON),
    ("/predict", DEEP, JSON),
    ("/invocations", DEEP, JSON),
    ("/feedback", DEEP, JSON),
    ("/predict", b'{"records": ' + NESTED + b"}", JSON),
    ("/invocations", b'{"inputs": {"income": ' + NESTED + b"}}", JSON),
    ("/predict", b'{"records": [{"income": NaN}], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON),
    ("/predict", b'{"records": [{"income": 1e999, "region": "north"}]}', JSON),
    ("/predict", b'{"records": [{"income": 1' + b"0" * 400 + b', "region": NaN}]}', JSON),
    ("/predict", b'{"records": [{}]}', JSON),
    ("/invocations", b'{"dataframe_records": [{}]}', JSON),
    ("/predict", b'{"records": [' + b'{"income": 1, "region": "a"},' * 3000 + b"{}]}", JSON),
    ("/invocations", b"\x00\xff" * 100, CSV),
    ("/invocations", b"income,region\n1e999,north\n", CSV),
    ("/predict", b"{" * 50, JSON),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory, loans_studio) -> Path:
    return loans_studio(tmp_path_factory.mktemp("hostile") / "studio", rows=300, seed=9)


@pytest.fixture
def url(served, live_server):
    app = create_app(
        served, "loans@1", api_key_hash=key_hash(KEY), max_body_bytes=MOST_BYTES, body_seconds=1.0
    )
    with live_server(app) as base:
        yield base


def _post(url: str, item: tuple[str, bytes, dict[str, str]]) -> int:
    path, body, headers = item
    return requests.post(f"{url}{path}", data=body, headers=headers, timeout=30).status_code


def test_hostile_bodies_beside_valid_ones_never_cost_a_valid_answer(url, caplog):
    work = [("valid", item) for item in VALID * 20] + [("hostile", item) for item in HOSTILE * 3]
    random.Random(16).shuffle(work)
    with (
        caplog.at_level(logging.WARNING, logger="mlops_studio.serving"),
        ThreadPoolExecutor(8) as pool,
    ):
        statuses = list(pool.map(lambda job: _post(url, job[1]), work))
    answered = list(zip(work, statuses, strict=True))
    failed_valid = [(item[0], status) for (kind, item), status in answered if kind == "valid"]
    assert {status for _, status in failed_valid} == {200}
    hostile = [(item[0], item[1][:60], s) for (kind, item), s in answered if kind == "hostile"]
    assert all(400 <= status < 500 for *_, status in hostile), hostile
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert _post(url, VALID[0]) == 200


def test_a_row_the_model_cannot_score_fails_only_its_own_request(url, monkeypatch):
    real_score = batcher.score
    batch_sizes: list[int] = []

    def fussy_score(model, values):
        batch_sizes.append(len(values["region"]))
        time.sleep(0.05)  # so that concurrent requests queue up and are scored together
        if "boom" in values["region"]:
            raise ValueError("this model cannot score 'boom'")
        return real_score(model, values)

    monkeypatch.setattr(batcher, "score", fussy_score)
    good = ("/predict", b'{"records": [{"income": 41.0, "region": "north"}]}', JSON)
    bad = ("/predict", b'{"records": [{"income": 41.0, "region": "boom"}]}', JSON)
    mlflow_bad = ("/invocations", b'{"dataframe_records": [{"income": 1, "region": "boom"}]}', JSON)
    work = [good] * 14 + [bad, mlflow_bad]
    random.Random(3).shuffle(work)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda item: _post(url, item), work))
    by_request = list(zip(work, statuses, strict=True))
    assert [s for item, s in by_request if item is good] == [200] * 14
    assert sorted(s for item, s in by_request if item is not good) == [400, 422]
    assert max(batch_sizes) > 1  # they were scored together before the bad one was isolated


def _raw_request(url: str, head: bytes, body_parts: list[bytes], *, pause: float = 0.0) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
            time.sleep(pause)
        return sock.recv(4096)


def test_a_slow_body_is_cut_off_with_408_while_others_are_answered(url):
    head = (
        b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + KEY.encode() + b"\r\nContent-Length: 200\r\n\r\n"
    )
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        slow = pool.submit(_raw_request, url, head, [b'{"records": [', b"{"], pause=0.2)
        assert _post(url, VALID[0]) == 200  # the service goes on answering meanwhile
        answer = slow.result(timeout=20)
    assert answer.startswith(b"HTTP/1.1 408") and b"longer than 1 s" in answer
    assert time.monotonic() - started < 5


def test_an_oversized_body_without_a_length_is_refused_as_it_arrives(url):
    head = (
        b"POST /invocations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + KEY.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 8_000
    chunks = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 9  # 72 KB > 64 KB
    answer = _raw_request(url, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413") and b"REQUEST_LIMIT_EXCEEDED" in answer


def test_the_service_log_rotates_under_a_size_cap(tmp_path):
    log = tmp_path / "service.log"
    with log.open("ab") as writer:  # as the service writes: an inherited, appending descriptor
        writer.write(b"old line\n" * 200)
        writer.flush()
        assert not rotate_log(log, most=10_000)
        writer.write(b"x" * 10_000 + b"\n")
        writer.flush()
        assert rotate_log(log, most=10_000)
        writer.write(b"after rotation\n")
        writer.flush()
    assert log.read_bytes() == b"after rotation\n"
    assert older_log(log).read_bytes().startswith(b"old line\n")
