"""The sample datasets shipped in sample_data/, and importing them into a studio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.auth import Permission
from core.auth.access import authorized_actor
from core.data.datasets import import_dataset

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
SAMPLES: dict[str, str] = {
    "credit": "credit.csv",
    "credit_production": "credit_production.csv",
    "credit_production_labels": "credit_production_labels.csv",
    "houses": "houses.csv",
}
MISSING_SAMPLES = (
    "The sample data folder {folder} is missing {file}. Reinstall from a full clone "
    "of the repository, or run `python sample_data/generate.py`."
)


def sample_path(name: str) -> Path:
    path = SAMPLE_DIR / SAMPLES[name]
    if not path.is_file():
        raise FileNotFoundError(MISSING_SAMPLES.format(folder=SAMPLE_DIR, file=SAMPLES[name]))
    return path


def import_samples(home: Path, *, actor: str = "studio", progress: Any = None) -> list[int]:
    """Import every sample dataset (identical content is reused); returns the version ids."""
    actor = authorized_actor(home, Permission.IMPORT, actor)
    version_ids = []
    for index, name in enumerate(SAMPLES):
        if progress:
            progress(index / len(SAMPLES), f"Importing sample dataset {name}")
        outcome = import_dataset(home, path=sample_path(name), name=name, actor=actor)
        version_ids.append(outcome.version.id)
    return version_ids
