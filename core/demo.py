"""The sample project a newcomer sees first, seeded through the same functions the pages use."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.data.datasets import list_datasets
from core.samples import import_samples
from core.settings import database_path

NOT_A_STUDIO = (
    "{home} exists but holds no studio.db, so it is not a studio home; refusing to delete it. "
    "Choose another --home."
)


def seed_demo(home: Path, *, reset: bool = False) -> dict[str, Any]:
    """Import the sample datasets into ``home``; repeat runs reuse them, ``reset`` starts over."""
    if reset and home.exists():
        if not database_path(home).exists():
            raise ValueError(NOT_A_STUDIO.format(home=home))
        shutil.rmtree(home)
    import_samples(home, actor="demo")
    return {"home": str(home), "datasets": [summary.name for summary in list_datasets(home)]}
