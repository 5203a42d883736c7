"""Reading payloads: the typed decoder takes only clean records bodies and then reads exactly
what the general path reads (the same checked values, the same text for the log); every other
body goes the general way, so its answer or refusal is the general path's own."""

from __future__ import annotations

import json

import orjson
import pytest

from core.serving import mlflow_protocol as mlflow
from core.serving.bodies import BodyError, parse_json, payload_text
from core.serving.inputs import (
    BOOLEAN,
    DATETIME,
    NUMBER,
    TEXT,
    CheckedValues,
    InputColumn,
    PayloadError,
    check_rows,
)
from core.serving.numpy_engine import _array
from core.serving.payloads import invocations_payload, predict_payload, read_records

COLUMNS = [
    InputColumn("income", NUMBER, "float64"),
    InputColumn("region", TEXT, "string"),
    InputColumn("member", BOOLEAN, "bool"),
    InputColumn("opened", DATETIME, "timestamp"),
    InputColumn("loan amount", NUMBER, "int64"),  # not a Python name
]
ROW = {"income": 1.5, "region": "north", "member": True, "opened": "2024-01-02", "loan amount": 7}


def _general(raw: bytes, key: str) -> tuple[dict, str | None]:
    body, strict = parse_json(raw)
    found, rows, _ = mlflow.json_rows(body, COLUMNS, max_rows=100, strict=key == mlflow.OURS)
    values = check_rows(rows, COLUMNS, key=found, max_rows=100, finite=strict)
    return dict(values), payload_text(raw, body, found, rows) if strict else None


def _body(rows: list, key: str = "records") -> bytes:
    return orjson.dumps({key: rows})


CLEAN = [
    [ROW],
    [ROW, {**ROW, "income": None, "region": None, "member": None, "opened": None}],
    [{**ROW, "income": 3, "region": 3, "loan amount": 2**62}],  # whole numbers, text as number
    [{**ROW, "region": 2.5}, {**ROW, "region": False}, {**ROW, "income": -0.0}],
    [{**ROW, "region": "sm\u00f8rrebr\u00f8d \U0001f600", "opened": "2024-02-29T10:00:00+02:00"}],
    [dict(reversed(ROW.items()))],  # any key order
]


@pytest.mark.parametrize("rows", CLEAN)
@pytest.mark.parametrize("key", ["records", "dataframe_records"])
def test_a_clean_records_body_reads_as_the_general_path_reads_it(rows, key):
    raw = _body(rows, key)
    fast = read_records(raw, COLUMNS, key, max_rows=100)
    assert fast is not None and isinstance(fast.values, CheckedValues)
    values, sent = _general(raw, key)
    assert dict(fast.values) == values and fast.sent == sent
    for name, column in values.items():  # the same types, value by value (True is not 1)
        assert list(map(type, fast.values[name])) == list(map(type, column))
        assert set(map(type, column)) <= fast.values.types[name]
    assert len(fast.rows) == len(rows)


@pytest.mark.parametrize("rows", CLEAN)
@pytest.mark.parametrize("copies", [3, 64])  # below 64 rows the plan reads row by row
def test_a_text_columns_distinct_values_array_and_levels_are_what_the_engine_builds(rows, copies):
    """Reading factorizes each text column of 64 rows or more once: its distinct values are
    ``set(column)``, and where it holds only text and nulls, its array is the engine's and the
    levels are that array's (so the engine and the unseen count need no second pass)."""
    fast = read_records(_body(rows * copies), COLUMNS, "records", max_rows=200)
    assert fast is not None
    column = fast.values["region"]
    assert fast.values.distinct["region"] == set(column)
    assert fast.values.types["region"] == frozenset(map(type, column))
    if copies < 64:
        assert not fast.values.arrays and not fast.values.levels
    elif fast.values.types["region"] <= {str, type(None)}:
        array = fast.values.arrays["region"]
        assert array.tolist() == _array(column, COLUMNS[1]).tolist()
        levels = fast.values.levels["region"]
        assert [
            levels.levels[c] if c < len(levels.levels) else None for c in levels.codes
        ] == column
    else:  # numbers among the text are turned into words when the engine builds the array
        assert "region" not in fast.values.arrays and "region" not in fast.values.levels


LEVELS = {"region": frozenset({"north", "south", "3"})}  # the text input's training levels


def _reader():
    from core.serving.payloads import _decoder, _known

    return _decoder(tuple(COLUMNS), _known(COLUMNS, LEVELS))


@pytest.mark.parametrize("rows", CLEAN)
def test_a_body_read_with_the_training_levels_reads_as_the_general_path(rows):
    """Given the training levels, the decoder reads each known level as the very string the
    levels hold (no new string per row); a level training never saw makes it read the body
    again as any text (and a few more after it): the same values either way."""
    reader = _reader()
    reader.plain_for = 0
    raw = _body(rows * 3)
    fast = read_records(raw, COLUMNS, "records", max_rows=100, levels=LEVELS)
    assert fast is not None
    values, sent = _general(raw, "records")
    assert dict(fast.values) == values and fast.sent == sent
    for name, column in values.items():
        assert list(map(type, fast.values[name])) == list(map(type, column))
    known = {level: level for level in LEVELS["region"]}
    texts = [value for value in fast.values["region"] if isinstance(value, str)]
    if all(value in known for value in texts):
        assert all(value is known[value] for value in texts)  # shared, not made per row
        assert reader.plain_for == 0
    else:
        assert reader.plain_for > 0


def test_a_new_level_reads_the_body_as_any_text_then_the_levels_again():
    reader = _reader()
    reader.plain_for = 0
    new = _body([{**ROW, "region": "east"}, ROW])
    read = read_records(new, COLUMNS, "records", max_rows=100, levels=LEVELS)
    assert read is not None and read.values["region"] == ["east", "north"]
    assert reader.plain_for > 0  # the next requests skip the levels
    for _ in range(reader.plain_for):
        read = read_records(_body([ROW]), COLUMNS, "records", max_rows=100, levels=LEVELS)
        assert read is not None and read.values["region"] == ["north"]
    assert reader.plain_for == 0
    read = read_records(_body([ROW]), COLUMNS, "records", max_rows=100, levels=LEVELS)
    north = next(level for level in LEVELS["region"] if level == "north")
    assert read is not None and read.values["region"][0] is north


def test_spacing_and_escapes_in_values_read_alike():
    raw = b' {\n "records" : [ {"income": 1E2, "region": "nor\\u0074h", "member": false,\n'
    raw += b' "opened": null, "loan amount": 5} ] }\n'
    fast = read_records(raw, COLUMNS, "records", max_rows=100)
    assert fast is not None
    assert (dict(fast.values), fast.sent) == _general(raw, "records")


OTHERS = [
    _body([]),  # no rows
    _body([{k: v for k, v in ROW.items() if k != "region"}]),  # a missing input
    _body([{**ROW, "color": "red"}]),  # an unknown column
    _body([{**ROW, "member": "yes"}]),  # a yes/no word: read by the general path
    _body([{**ROW, "member": 1}]),
    _body([{**ROW, "income": "12"}]),  # a number as text
    _body([{**ROW, "income": [1]}]),
    _body([{**ROW, "loan amount": 2**64 - 1}]),  # 64 bits unsigned: orjson's integer
    b'{"records": [{"income": 1e999, "region": "a", "member": true, "opened": null,'
    b' "loan amount": 1}]}',  # not finite
    b'{"records": [{"income": NaN, "region": "a", "member": true, "opened": null,'
    b' "loan amount": 1}]}',
    b'{"records": [{"income": 1, "region": "\\ud800", "member": true, "opened": null,'
    b' "loan amount": 1}]}',  # a lone surrogate
    b'{"records": [{"income": 1, "region": "\xff", "member": true, "opened": null,'
    b' "loan amount": 1}]}',  # not UTF-8
    orjson.dumps({"records": [ROW], "params": {}}),  # another key
    b'{"\\u0072ecords": ' + orjson.dumps([ROW]) + b"}",  # the key written with escapes
    b'{"records": ' + orjson.dumps([ROW]) + b', "records": ' + orjson.dumps([ROW, ROW]) + b"}",
    b'{"records": ' + orjson.dumps([ROW]) + b"} trailing",
    b'{"records":\x0c' + orjson.dumps([ROW]) + b"}",  # a form feed is no JSON whitespace
    b"[" * 100 + b"]" * 100,
    _body([ROW] * 101),  # more rows than allowed
]


@pytest.mark.parametrize("raw", OTHERS)
def test_every_other_body_goes_the_general_way(raw):
    assert read_records(raw, COLUMNS, "records", max_rows=100) is None


@pytest.mark.parametrize("raw", OTHERS)
def test_every_other_body_goes_the_general_way_with_training_levels_too(raw):
    assert read_records(raw, COLUMNS, "records", max_rows=100, levels=LEVELS) is None


@pytest.mark.parametrize("raw", OTHERS)
def test_bodies_the_decoder_leaves_get_the_general_paths_answer(raw):
    try:
        general: object = _general(raw, "records")
    except (BodyError, PayloadError) as error:
        general = (type(error), str(error))
    try:
        read = predict_payload(raw, COLUMNS, max_rows=100)
        found: object = (dict(read.values), read.sent)
    except (BodyError, PayloadError) as error:
        found = (type(error), str(error))
    assert found == general


def test_a_key_given_twice_logs_the_rows_that_were_scored():
    raw = b'{"records": ' + orjson.dumps([ROW]) + b', "records": ' + orjson.dumps([ROW, ROW]) + b"}"
    read = predict_payload(raw, COLUMNS, max_rows=100)
    assert len(read.rows) == 2 and read.sent is None  # the log encodes the rows read
    mlflow_read = invocations_payload(raw.replace(b"records", b"dataframe_records"), COLUMNS,
                                      max_rows=100)  # fmt: skip
    assert len(mlflow_read.rows) == 2 and mlflow_read.sent is None


def test_invocations_keeps_mlflows_notes_on_the_general_path():
    raw = json.dumps({"dataframe_records": [{**ROW, "color": "red"}], "params": {}}).encode()
    read = invocations_payload(raw, COLUMNS, max_rows=100)
    assert read.sent is None and any("Ignored columns" in note for note in read.notes)
    assert any("params" in note for note in read.notes)
