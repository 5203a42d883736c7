"""Import an uploaded CSV/TSV, Parquet or JSON-lines file (maybe gzipped) as an Arrow table.

The error and warning sentences live in ``core.data.ingest.messages``.
"""

from core.data.ingest.messages import IngestError
from core.data.ingest.read import import_file, read_table
from core.data.ingest.report import IngestReport, IngestResult, fix_column_names
from core.data.ingest.sources import DEFAULT_LIMITS, ImportLimits
from core.data.ingest.stream import ImportedFile

__all__ = [
    "DEFAULT_LIMITS",
    "ImportLimits",
    "ImportedFile",
    "IngestError",
    "IngestReport",
    "IngestResult",
    "fix_column_names",
    "import_file",
    "read_table",
]
