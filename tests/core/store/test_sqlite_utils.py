"""sqlite-utils comes in without pandas or NumPy (core/store/_sqlite_utils.py): a fresh process."""

import subprocess
import sys

PROBE = """
import sys
import core.store
import sqlite_utils.db
print(sorted(name for name in ("pandas", "numpy") if name in sys.modules))
"""


def test_importing_the_store_loads_neither_pandas_nor_numpy() -> None:
    found = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]", found.stderr
