"""Reading a request body safely: a size cap and a time limit while it arrives, then JSON that
cannot make the service throw (depth bounded, invalid Unicode refused)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import numpy as np
import orjson
from fastapi import Request

MAX_DEPTH = 64  # a payload is at most 5 deep; anything deeper is refused before it is parsed
BODY_SECONDS = 15.0  # a body still arriving after this is cut off (408)
TOO_LARGE = "The body is larger than {most:,} bytes; send fewer rows per request."
TOO_SLOW = "The body took longer than {seconds:g} s to arrive; send it at once."
GONE = "The client closed the connection before its body arrived."
BAD_JSON = "The body is not valid JSON ({error})."
TOO_DEEP = "The body nests deeper than {most} levels; a prediction request is at most 5 deep."
BAD_TEXT = "The body holds text that is not valid Unicode (a lone surrogate such as \\udc80)."
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIGGEST_INT = 2**64 - 1
# the whole body is one key holding a list, {"dataframe_records": [...]}, with JSON's spacing
_LIST_HEAD = re.compile(rb'\A[ \t\n\r]*\{[ \t\n\r]*"([a-z_]+)"[ \t\n\r]*:[ \t\n\r]*(?=\[)')
_LIST_TAIL = re.compile(rb"\][ \t\n\r]*\}[ \t\n\r]*\Z")
_TAIL_BYTES = 1024  # only the last few bytes can close the list and the body


class BodyError(Exception):
    """A body refused before its payload is looked at: the status and what to say."""

    def __init__(self, status: int, message: str, *, json_invalid: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.json_invalid = json_invalid  # FastAPI's 422 {"loc": ["body"]} shape on /predict


async def read_body(request: Request, most: int, seconds: float = BODY_SECONDS) -> bytes:
    """The whole body, or BodyError 413 as soon as it is larger than ``most`` bytes (declared
    or counted) and 408 when it has not arrived within ``seconds``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise BodyError(413, TOO_LARGE.format(most=most))
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > most:
                    raise BodyError(413, TOO_LARGE.format(most=most))
                chunks.append(chunk)
    except TimeoutError as error:
        raise BodyError(408, TOO_SLOW.format(seconds=seconds)) from error
    except BodyError:
        raise
    except Exception as error:  # Starlette's ClientDisconnect: nobody is left to answer
        raise BodyError(400, GONE) from error
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """(the parsed body, whether it was strict JSON). orjson parses in C with its own depth
    limit and refuses invalid UTF-8 and lone surrogates, so a strict body needs no second look.
    Only a body orjson refuses for another reason (NaN, Infinity, 1e999: read so the 422 can
    name the field holding them) goes to Python's parser, after its depth is measured, and its
    strings are checked after."""
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError as error:
        reason = str(error)
    if "depth" in reason or "recursion" in reason:
        raise BodyError(422, TOO_DEEP.format(most=MAX_DEPTH), json_invalid=True)
    if "surrogate" in reason or "UTF-8" in reason:
        raise BodyError(422, BAD_TEXT, json_invalid=True)
    if _depth(raw) > MAX_DEPTH:
        raise BodyError(422, TOO_DEEP.format(most=MAX_DEPTH), json_invalid=True)
    try:
        return _plain_text(json.loads(raw)), False
    except (ValueError, RecursionError) as error:  # the depth was measured; this is a backstop
        raise BodyError(422, BAD_JSON.format(error=error), json_invalid=True) from error


def _depth(raw: bytes) -> int:
    """How deep brackets nest outside strings, counted with numpy (the rare, non-strict path)."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(unescaped, dtype=np.uint8)
    if not len(codes):
        return 0
    inside = np.cumsum(codes == ord('"')) % 2 == 1
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    steps = np.where(inside, 0, opens.astype(np.int64) - closes.astype(np.int64))
    return int(np.cumsum(steps).max())


def _plain_text(value: Any) -> Any:
    """``value`` with every string (keys too) checked for lone surrogates, which Python's parser
    lets through and which would make writing the prediction log throw; integers too large
    for the log become floats (the model reads them as floats anyway)."""
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise BodyError(422, BAD_TEXT, json_invalid=True)
        return value
    if isinstance(value, dict):
        return {_plain_text(key): _plain_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_text(item) for item in value]
    if type(value) is int and abs(value) > _BIGGEST_INT:
        try:
            return float(value)
        except OverflowError:
            return value  # refused as not finite where a number is expected
    return value


def payload_text(raw: bytes, body: Any, key: str, rows: list[Any]) -> str | None:
    """The text of ``body[key]`` exactly as the client sent it, when the strict JSON body
    ``raw`` holds only that key and under it the list ``rows`` itself; None otherwise. The
    prediction log keeps it as it came rather than encoding 10,000 parsed rows again."""
    if not (isinstance(body, dict) and len(body) == 1 and body.get(key) is rows):
        return None
    return records_text(raw, key)


def records_text(raw: bytes, key: str) -> str | None:
    """The text of the list under ``key`` in ``raw``, a strict JSON body holding only that key
    (as its reader found); None when the key is written with escapes or the shape differs."""
    if raw.count(b'"%s"' % key.encode()) != 1:  # the key twice: readers keep the last list
        return None
    span = list_span(raw, key)
    return None if span is None else raw[span[0] : span[1]].decode()


def list_span(raw: bytes, key: str) -> tuple[int, int] | None:
    """Where the list under ``key`` may be in ``raw``, read as ``{"key": [...]}`` with JSON
    whitespace: (its ``[``, one past the ``]`` before the closing brace), or None for any other
    shape. The caller must parse exactly that span as one list: a body giving the key twice
    spans ``[A], "key": [B]``, which is no list."""
    head = _LIST_HEAD.match(raw)
    if head is None or head.group(1) != key.encode():
        return None  # another key, or the key written with escapes
    tail = _LIST_TAIL.search(raw, max(head.end(), len(raw) - _TAIL_BYTES))
    return None if tail is None else (head.end(), tail.start() + 1)
