"""What a run was made with: package versions, Python, platform and the git commit when known."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("mlops-studio", "scikit-learn", "pandas", "numpy", "pyarrow", "skops", "optuna")
REPO = Path(__file__).resolve().parents[2]


@functools.cache
def environment() -> dict[str, Any]:
    """Recorded with every run so a result can be reproduced."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": git_commit(),
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The checkout's commit, or None outside a git checkout or without git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None
