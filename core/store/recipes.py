"""Recipes: named, versioned cleaning steps and feature spec, stored as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.store import _rows
from core.store.connection import writing


@dataclass(frozen=True)
class StoredRecipe:
    """One saved version of a named recipe."""

    id: int
    name: str
    version: int
    content_hash: str
    recipe_json: str
    source_version_id: int | None
    created_by: str
    created_at: str

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["recipe"] = json.loads(data.pop("recipe_json"))
        return data


def _recipes(db: Database, equal: dict[str, Any], **options: Any) -> list[StoredRecipe]:
    where, params = _rows.where(equal)
    return [
        StoredRecipe(**{key: row[key] for key in StoredRecipe.__dataclass_fields__})
        for row in db.table("recipes").rows_where(where, params, **options)
    ]


def save_version(
    db: Database,
    *,
    name: str,
    content_hash: str,
    recipe_json: str,
    source_version_id: int | None,
    created_by: str,
) -> tuple[StoredRecipe, bool]:
    """Store the next version of a recipe; returns ``(recipe, created)``, reusing identical ones."""
    with writing(db):
        same = _recipes(db, {"name": name, "content_hash": content_hash})
        if same:
            return same[0], False
        # an aggregate: the next version number
        (latest,) = db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM recipes WHERE name = ?", [name]
        ).fetchone()
        recipe_id = _rows.insert(
            db,
            "recipes",
            {
                "name": name,
                "version": latest + 1,
                "content_hash": content_hash,
                "recipe_json": recipe_json,
                "source_version_id": source_version_id,
                "created_by": created_by,
                "created_at": _rows.now(),
            },
        )
    stored = get(db, recipe_id)
    assert stored is not None
    return stored, True


def get(db: Database, recipe_id: int) -> StoredRecipe | None:
    found = _recipes(db, {"id": recipe_id})
    return found[0] if found else None


def versions(db: Database) -> list[StoredRecipe]:
    """Every recipe version, newest first."""
    return _recipes(db, {}, order_by="id DESC")


def by_name(db: Database, name: str, version: int | None = None) -> StoredRecipe | None:
    """A recipe's given version, or its newest."""
    found = _recipes(db, {"name": name, "version": version}, order_by="version DESC", limit=1)
    return found[0] if found else None
