"""Where a studio keeps its store and files, and the limits its user can configure."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MLOPS_STUDIO_HOME"
DEFAULT_HOME = ".studio"
MAX_IMPORT_MB_ENV = "MLOPS_STUDIO_MAX_IMPORT_MB"
MAX_COLUMNS_ENV = "MLOPS_STUDIO_MAX_COLUMNS"
DEFAULT_MAX_IMPORT_MB = 1024
DEFAULT_MAX_COLUMNS = 20_000


def studio_home(home: str | Path | None = None) -> Path:
    """The studio home: ``home`` if given, else ``$MLOPS_STUDIO_HOME``, else ``./.studio``."""
    value = home or os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(value).expanduser().resolve()


def database_path(home: Path) -> Path:
    return home / "studio.db"


def artifacts_dir(home: Path) -> Path:
    return home / "artifacts"


def _positive_int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a whole number, got {raw!r}.") from error
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero, got {value}.")
    return value


def max_import_mb() -> int:
    """The import size cap in MiB (``$MLOPS_STUDIO_MAX_IMPORT_MB``, default 1024)."""
    return _positive_int_from_env(MAX_IMPORT_MB_ENV, DEFAULT_MAX_IMPORT_MB)


def max_columns() -> int:
    """The most columns an import may have (``$MLOPS_STUDIO_MAX_COLUMNS``, default 20,000)."""
    return _positive_int_from_env(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS)


TRAIN_THREADS_ENV = "MLOPS_STUDIO_TRAIN_THREADS"


def train_threads() -> int:
    """Threads one training job may use (``$MLOPS_STUDIO_TRAIN_THREADS``).

    Default: half the cores, at least one. OpenMP and BLAS threads that outnumber free cores
    spin against each other (a 1.5 s gradient-boosting fit took 45 s with other work running),
    so a job leaves room for the UI and a second job.
    """
    return _positive_int_from_env(TRAIN_THREADS_ENV, max(1, (os.cpu_count() or 2) // 2))
