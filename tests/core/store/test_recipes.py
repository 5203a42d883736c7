"""Recipes: identical content is reused, new content numbers up, lookups by name and version."""

import json

from core.store import recipes


def _save(db, name: str, content: str):
    return recipes.save_version(
        db,
        name=name,
        content_hash=f"hash-{content}",
        recipe_json=json.dumps({"steps": [content]}),
        source_version_id=None,
        created_by="ana",
    )


def test_versions_number_up_and_identical_content_is_reused(db) -> None:
    first, created = _save(db, "clean", "dedupe")
    same, created_same = _save(db, "clean", "dedupe")
    second, _ = _save(db, "clean", "impute")
    other, _ = _save(db, "other", "dedupe")
    assert created and not created_same and same.id == first.id
    assert isinstance(first, recipes.StoredRecipe) and first.label == "clean v1"
    assert (second.version, other.version) == (2, 1)
    assert first.to_dict()["recipe"] == {"steps": ["dedupe"]}
    assert recipes.get(db, second.id) == second and recipes.get(db, 999) is None
    assert [r.id for r in recipes.versions(db)] == [other.id, second.id, first.id]
    assert recipes.by_name(db, "clean") == second
    assert recipes.by_name(db, "clean", 1) == first
    assert recipes.by_name(db, "clean", 7) is None and recipes.by_name(db, "nope") is None
