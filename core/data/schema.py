"""Column schema of a dataset version: each column's storage type and its role in modelling."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.data.booleans import WORD_PAIRS, labels_from_metadata

# pyarrow is imported inside the inference functions: the store reads and writes schemas (and
# every listing command with it) without needing pyarrow.
if TYPE_CHECKING:
    import pyarrow as pa

Role = Literal["numeric", "categorical", "datetime", "text", "id", "boolean", "target"]
ROLES: tuple[Role, ...] = ("numeric", "categorical", "datetime", "text", "id", "boolean", "target")


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its name, its Arrow type as text (``int64``, ``string``...) and its role;
    a yes/no column read from text keeps its ``labels`` (true, false) as the file wrote them."""

    name: str
    dtype: str
    role: Role
    labels: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        if self.labels is None:  # the stored form of every column without labels stays as it was
            del found["labels"]
        else:
            found["labels"] = list(self.labels)
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        labels = data.get("labels")
        return cls(
            name=data["name"],
            dtype=data["dtype"],
            role=data["role"],
            labels=(str(labels[0]), str(labels[1])) if labels else None,
        )


def schema_to_json(schema: list[ColumnSchema]) -> list[dict[str, Any]]:
    """Plain data for the store and for ``--json`` output."""
    return [column.to_dict() for column in schema]


def schema_from_json(data: list[dict[str, Any]]) -> list[ColumnSchema]:
    return [ColumnSchema.from_dict(item) for item in data]


_ID_TOKENS = frozenset({"id", "key", "uuid", "guid"})
_FLAG_PREFIXES = frozenset({"is", "has", "was", "can", "should", "did", "flag"})
_CODE_TOKENS = frozenset({"code", "type", "category", "class", "zip", "zipcode", "postcode"})
_NAME_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_BOOLEAN_WORDS = frozenset(word for pair in WORD_PAIRS for word in pair)
_TEXT_MEAN_LENGTH = 40
_TEXT_DISTINCT_RATIO = 0.5
_TEXT_MIN_DISTINCT = 50
_ID_MIN_ROWS = 50
_ID_MIN_DISTINCT_SHARE = 0.95
_ASCII_SPACE = re.compile(r"[\t\n\f\r ]")  # what \s means to Arrow's regex engine (RE2)


def infer_schema(table: pa.Table) -> list[ColumnSchema]:
    """Each column's Arrow type as text and a first guess at its modelling role.

    Rules, applied in order (the user can change any role later; ``target`` is never guessed):

    - ``boolean``: bool type; a numeric column holding only 0/1 whose name reads like a flag
      (``is_``, ``has_``, ``was_``, ``can_``, ``flag_`` ... prefixes, ``_flag`` suffix); or a
      string column holding only true/false, yes/no, y/n or t/f.
    - ``datetime``: timestamp, date and time types.
    - ``id``: an integer or string column whose name ends in id, key, uuid or guid
      (``customer_id``, ``userId``, ``order key``) and whose non-null values are at least 95%
      distinct (real tables carry a few duplicate rows); or a string column of 50+ all-distinct
      values without whitespace (codes, hashes, emails).
    - ``numeric``: integers and floats (counts and ratings keep their order; a low number of
      distinct integers is not enough to call a column categorical), except integers named
      like codes (``zip``, ``..._code``, ``..._type``, ``..._category``), which are
      ``categorical``.
    - ``text``: strings with a mean length above 40 characters, or with more than half of the
      values distinct and at least 50 distinct values (free text, not categories).
    - ``categorical``: every other string, dictionary and all-null column.
    - ``text`` also covers binary and nested (list/struct) columns, which need their own
      feature step before a model can use them.

    Only cheap vectorised kernels run (count_distinct, min_max, utf8_length), and the costlier
    ones only when a cheaper test leaves the role open.
    """
    return [
        column_schema(field, column)
        for field, column in zip(table.schema, table.columns, strict=True)
    ]


def column_schema(
    field: pa.Field,
    column: pa.ChunkedArray,
    *,
    distinct: int | None = None,
    counted: tuple[pa.Array, Any] | None = None,
) -> ColumnSchema:
    """One column's entry of :func:`infer_schema`. A caller that has already counted the column
    (the profile does) passes what it found, so nothing is counted twice: ``distinct``, the
    number of distinct non-missing values of an integer column, or ``counted``, a text
    column's distinct non-missing values and how often each occurs."""
    return ColumnSchema(
        name=field.name,
        dtype=str(column.type),
        role=_role(field.name, column, distinct=distinct, counted=counted),
        labels=_labels(field, column),
    )


def _labels(field: pa.Field, column: pa.ChunkedArray) -> tuple[str, str] | None:
    import pyarrow as pa

    return labels_from_metadata(field.metadata) if pa.types.is_boolean(column.type) else None


def _role(
    name: str,
    column: pa.ChunkedArray,
    *,
    distinct: int | None = None,
    counted: tuple[pa.Array, Any] | None = None,
) -> Role:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_temporal(kind) and not pa.types.is_duration(kind):
        return "datetime"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _numeric_role(name, column, distinct)
    if pa.types.is_duration(kind):
        return "numeric"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_role(name, column, counted)
    if pa.types.is_dictionary(kind) or pa.types.is_null(kind):
        return "categorical"
    return "text"


def _tokens(name: str) -> list[str]:
    return [token.lower() for token in _NAME_TOKEN.findall(name)]


def role_of_values(
    name: str,
    column_type: pa.DataType,
    *,
    present: int,
    values: Sequence[Any],
    counts: Sequence[int],
    distinct: int | None = None,
) -> Role:
    """The role :func:`infer_schema` gives a column, from its distinct non-missing ``values``
    (Python values) and their ``counts``, so a column read in parts gets the role it would get
    read whole (Arrow's whitespace is ASCII; Python's lower and strip stand in for Arrow's).

    ``present`` is the number of non-missing values; ``distinct`` the number of distinct ones
    when ``values`` holds a summary of them rather than all of them.
    """
    import pyarrow as pa

    if pa.types.is_string(column_type) or pa.types.is_large_string(column_type):
        return _string_role_of(
            name,
            present=present,
            distinct=len(values),
            words=lambda: {str(value).strip().lower() for value in values},
            spaced=lambda: any(_ASCII_SPACE.search(str(value)) for value in values),
            length=lambda: sum(len(str(v)) * int(c) for v, c in zip(values, counts, strict=True)),
        )
    if pa.types.is_integer(column_type) or pa.types.is_floating(column_type):
        found = len(values) if distinct is None else distinct
        return _numeric_role_of(
            name,
            column_type,
            present,
            lambda: bool(len(values)) and set(values) <= {0, 1},
            lambda: found,
        )
    return "categorical" if pa.types.is_dictionary(column_type) else "text"


def _numeric_role(name: str, column: pa.ChunkedArray, distinct: int | None = None) -> Role:
    import pyarrow.compute as pc

    present = len(column) - column.null_count
    return _numeric_role_of(
        name,
        column.type,
        present,
        lambda: _only_zero_one(column),
        lambda: pc.count_distinct(column).as_py() if distinct is None else distinct,
    )


def _numeric_role_of(
    name: str,
    column_type: pa.DataType,
    present: int,
    only_zero_one: Callable[[], bool],
    distinct: Callable[[], int],
) -> Role:
    """The costlier facts are callables, asked for only when the cheaper rules leave it open."""
    import pyarrow as pa

    tokens = _tokens(name)
    if _named_like_flag(tokens) and present and only_zero_one():
        return "boolean"
    if not pa.types.is_integer(column_type):
        return "numeric"
    if (
        tokens
        and tokens[-1] in _ID_TOKENS
        and present
        and distinct() >= _ID_MIN_DISTINCT_SHARE * present
    ):
        return "id"
    if tokens and tokens[-1] in _CODE_TOKENS:
        return "categorical"
    return "numeric"


def _named_like_flag(tokens: list[str]) -> bool:
    return bool(tokens) and (tokens[0] in _FLAG_PREFIXES or tokens[-1] == "flag")


def _only_zero_one(column: pa.ChunkedArray | pa.Array) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.drop_null(column)
    allowed = pa.array([0, 1]).cast(column.type)
    return len(values) > 0 and bool(pc.all(pc.is_in(values, value_set=allowed)).as_py())


def _string_role(
    name: str, column: pa.ChunkedArray, counted: tuple[pa.Array, Any] | None = None
) -> Role:
    import pyarrow as pa
    import pyarrow.compute as pc

    present = len(column) - column.null_count
    if present == 0:
        return "categorical"
    # Every rule reads the distinct values (with their counts for the mean length), so the
    # column is hashed once and the string kernels run on the distinct values only.
    values, counts = counted or _present_value_counts(column)
    return _string_role_of(
        name,
        present=present,
        distinct=len(values),
        words=lambda: set(
            pc.unique(pc.utf8_lower(pc.utf8_trim_whitespace(values))).drop_null().to_pylist()
        ),
        spaced=lambda: bool(pc.any(pc.match_substring_regex(values, r"\s")).as_py()),
        length=lambda: pc.sum(pc.multiply(pc.utf8_length(values).cast(pa.int64()), counts)).as_py(),
    )


def _present_value_counts(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    import pyarrow.compute as pc

    counted = pc.value_counts(column)
    values = counted.field("values")
    valid = values.is_valid()
    return values.filter(valid), counted.field("counts").filter(valid)


def _string_role_of(
    name: str,
    *,
    present: int,
    distinct: int,
    words: Callable[[], set[str]],
    spaced: Callable[[], bool],
    length: Callable[[], int],
) -> Role:
    """The rules for text, from facts about its distinct values: the words they hold trimmed
    and lower-cased, whether any holds whitespace, and the total length of all values."""
    if present == 0:
        return "categorical"
    if distinct <= 2 and words() <= _BOOLEAN_WORDS:
        return "boolean"
    if _id_like_strings(name, present=present, distinct=distinct, spaced=spaced):
        return "id"
    if length() / present > _TEXT_MEAN_LENGTH:
        return "text"
    if distinct >= _TEXT_MIN_DISTINCT and distinct > _TEXT_DISTINCT_RATIO * present:
        return "text"
    return "categorical"


def _id_like_strings(name: str, *, present: int, distinct: int, spaced: Callable[[], bool]) -> bool:
    tokens = _tokens(name)
    if tokens and tokens[-1] in _ID_TOKENS:
        return distinct >= _ID_MIN_DISTINCT_SHARE * present
    if present < _ID_MIN_ROWS or distinct != present:
        return False
    return not spaced()
