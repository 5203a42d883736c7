"""Import an uploaded CSV/TSV, Parquet or JSON-lines file (maybe gzipped) as an Arrow table.

The error and warning sentences live in ``core.data.ingest.messages``.
"""

from core.data.ingest.messages import IngestError
from core.data.ingest.read import read_table
from core.data.ingest.report import IngestReport, IngestResult, fix_column_names
from core.data.ingest.sources import DEFAULT_LIMITS, ImportLimits

__all__ = [
    "DEFAULT_LIMITS",
    "ImportLimits",
    "IngestError",
    "IngestReport",
    "IngestResult",
    "fix_column_names",
    "read_table",
]
