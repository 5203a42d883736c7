"""What an import produces (table and report) and the checks every format shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from core.data.ingest.messages import (
    INCONSISTENT_DELIMITER,
    NO_DATA_ROWS,
    RENAMED_COLUMNS_WARNING,
    TOO_MANY_COLUMNS,
    IngestError,
)
from core.data.ingest.sources import ImportLimits


@dataclass(frozen=True)
class IngestReport:
    """What the import found and changed, for the user and for the dataset record.

    ``format`` is "csv" (also TSV and other delimiters), "parquet" or "jsonl". ``encoding`` and
    ``delimiter`` are None where they do not apply. ``skipped_row_lines`` holds the first 20 CSV
    record numbers of skipped ragged rows (header = 1); they equal line numbers unless a quoted
    value spans lines. ``renamed_columns`` pairs are ``(original, new)``. ``literal_quote_lines``
    are the CSV lines whose quote mark never closed and was read as a plain character.
    """

    format: str
    compression: str | None
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: int
    skipped_rows: int
    skipped_row_lines: tuple[int, ...]
    renamed_columns: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    literal_quote_lines: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; each rename becomes ``{"original": ..., "new": ...}``."""
        return {
            "format": self.format,
            "compression": self.compression,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "columns": self.columns,
            "skipped_rows": self.skipped_rows,
            "skipped_row_lines": list(self.skipped_row_lines),
            "renamed_columns": [{"original": o, "new": n} for o, n in self.renamed_columns],
            "warnings": list(self.warnings),
            "literal_quote_lines": list(self.literal_quote_lines),
        }


@dataclass(frozen=True)
class IngestResult:
    """The imported table and the report on how it was read."""

    table: pa.Table
    report: IngestReport


def fix_column_names(names: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Strip names, name blanks ``column_<n>`` and number duplicates ``name_2``, ``name_3``.

    Returns the new names and the ``(original, new)`` pairs that changed.
    """
    stripped = [name.strip() or f"column_{index}" for index, name in enumerate(names, 1)]
    taken = set(stripped)
    seen: set[str] = set()
    fixed: list[str] = []
    for name in stripped:
        new = name
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in seen:
                suffix += 1
            new = f"{name}_{suffix}"
        seen.add(new)
        fixed.append(new)
    renames = [(old, new) for old, new in zip(names, fixed, strict=True) if old != new]
    return fixed, renames


def _check_rows(rows: int, skipped: int) -> None:
    total = rows + skipped
    if total == 0:
        raise IngestError(NO_DATA_ROWS)
    if skipped * 2 > total:
        raise IngestError(INCONSISTENT_DELIMITER.format(skipped=skipped, total=total))


def _renamed_warning(renames: Sequence[tuple[str, str]]) -> str:
    pairs = ", ".join(f"{_quoted(old)} to '{new}'" for old, new in renames[:10])
    more = f" and {len(renames) - 10:,} more" if len(renames) > 10 else ""
    return RENAMED_COLUMNS_WARNING.format(count=len(renames), pairs=pairs + more)


def _quoted(name: str) -> str:
    """A column name in a sentence: in quotes, or "a blank name" when there is nothing to quote."""
    return f"'{name}'" if name.strip() else "a blank name"


def _check_columns(columns: int, limits: ImportLimits) -> None:
    if columns > limits.max_columns:
        limit = limits.max_columns
        raise IngestError(TOO_MANY_COLUMNS.format(columns=columns, limit=limit))
