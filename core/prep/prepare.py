"""Saving recipes and applying them: a dataset version plus a recipe gives a new version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.auth import Permission
from core.auth.access import authorized_actor
from core.data.datasets import Lineage, get_version, load_frame, store_table
from core.data.schema import ColumnSchema, infer_schema, schema_to_json
from core.prep.recipe import Recipe, RecipeError, StepAccount, apply_cleaning, load_recipe_file
from core.store import audit, connect, recipes, required
from core.store.datasets import DatasetVersion
from core.store.recipes import StoredRecipe

if TYPE_CHECKING:  # listing and finding recipes needs neither
    import pandas as pd
    import pyarrow as pa

UNKNOWN_RECIPE = (
    "There is no recipe {ref!r}: give a recipe JSON file or a saved recipe as NAME or NAME@N "
    "(see `mlops-studio recipes`)."
)
UNSAVEABLE = (
    "The cleaned data cannot be saved: column {column!r} mixes types ({error}). "
    "Add a parse_numbers, parse_dates or parse_booleans step for it."
)


@dataclass(frozen=True)
class PrepareOutcome:
    """The version a recipe produced, the saved recipe, and the rows each step dropped."""

    version: DatasetVersion
    recipe: StoredRecipe
    accounts: tuple[StepAccount, ...]
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version.to_dict(),
            "reused": self.reused,
            "recipe": {
                "id": self.recipe.id,
                "name": self.recipe.name,
                "version": self.recipe.version,
            },
            "steps": [account.to_dict() for account in self.accounts],
            "schema": schema_to_json(self.version.schema),
        }


def save_recipe(
    home: Path, recipe: Recipe, *, source_version_id: int | None = None, actor: str = "studio"
) -> StoredRecipe:
    """Store a recipe as the next version of its name (identical content is reused)."""
    actor = authorized_actor(home, Permission.PREPARE, actor)
    with connect(home) as db:
        stored, created = recipes.save_version(
            db,
            name=recipe.name,
            content_hash=recipe.content_hash,
            recipe_json=recipe.dumps(),
            source_version_id=source_version_id,
            created_by=actor,
        )
        if created:
            audit.record(
                db,
                actor=actor,
                action="recipe.save",
                entity_type="recipe",
                entity_id=stored.id,
                details={"name": stored.label},
            )
    return stored


def list_recipes(home: Path) -> list[StoredRecipe]:
    with connect(home) as db:
        return recipes.versions(db)


def stored_recipe(home: Path, recipe_id: int) -> Recipe:
    with connect(home) as db:
        found = recipes.get(db, recipe_id)
    unknown = RecipeError(UNKNOWN_RECIPE.format(ref=f"id {recipe_id}"))
    return Recipe.loads(required(found, unknown).recipe_json)


def find_recipe(home: Path, ref: str) -> Recipe:
    """A recipe from a JSON file path, or a saved one as ``NAME`` or ``NAME@N``."""
    path = Path(ref)
    if path.suffix.lower() == ".json" or path.is_file():
        return load_recipe_file(path)
    name, _, number = ref.rpartition("@") if "@" in ref else (ref, "", "")
    with connect(home) as db:
        found = recipes.by_name(db, name, int(number) if number.isdigit() else None)
    return Recipe.loads(required(found, RecipeError(UNKNOWN_RECIPE.format(ref=ref))).recipe_json)


def find_stored_recipe(home: Path, ref: str, *, actor: str = "studio") -> StoredRecipe:
    """A saved recipe from its id, ``NAME`` or ``NAME@N`` (reading it needs no permission); a
    JSON file is saved first, a write that ``save_recipe`` checks (preparing datasets)."""
    path = Path(ref)
    if not ref.isdigit() and (path.suffix.lower() == ".json" or path.is_file()):
        return save_recipe(home, load_recipe_file(path), actor=actor)
    name, _, number = ref.rpartition("@") if "@" in ref else (ref, "", "")
    with connect(home) as db:
        if ref.isdigit():
            found = recipes.get(db, int(ref))
        else:
            found = recipes.by_name(db, name, int(number) if number.isdigit() else None)
    return required(found, RecipeError(UNKNOWN_RECIPE.format(ref=ref)))


def check_features(recipe: Recipe, schema: list[ColumnSchema]) -> None:
    """Raise FeatureSpecError when the feature spec does not fit the cleaned columns."""
    if recipe.features is None:
        return
    from core.prep.features import validate_feature_spec

    validate_feature_spec(recipe.features, schema=schema, target=recipe.target)


def cleaned_table(frame: pd.DataFrame) -> pa.Table:
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid) as error:
        column = next((c for c in frame.columns if str(c) in str(error)), "?")
        raise RecipeError(UNSAVEABLE.format(column=column, error=error)) from error


def prepare_dataset(
    home: Path, *, version_id: int, recipe: Recipe, actor: str = "studio", progress: Any = None
) -> PrepareOutcome:
    """Apply a recipe's cleaning to a version and save the result as the dataset's next version."""
    actor = authorized_actor(home, Permission.PREPARE, actor)
    source = get_version(home, version_id)
    report = progress or (lambda fraction, message: None)
    report(0.05, f"Loading {source.label}")
    result = apply_cleaning(load_frame(home, source), recipe)
    report(0.6, "Checking the feature spec against the cleaned columns")
    table = cleaned_table(result.frame)
    check_features(recipe, infer_schema(table))
    stored = save_recipe(home, recipe, source_version_id=source.id, actor=actor)
    report(0.8, "Saving the new dataset version")
    lineage = Lineage(
        source_file_name=source.source_file_name, parent_version_id=source.id, recipe_id=stored.id
    )
    version, reused = store_table(
        home, name=source.dataset_name, table=table, lineage=lineage, actor=actor
    )
    return PrepareOutcome(version=version, recipe=stored, accounts=result.accounts, reused=reused)


def prepare_job(home: Path, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Job: apply a recipe (given as JSON) to a dataset version."""
    outcome = prepare_dataset(
        home,
        version_id=int(params["version_id"]),
        recipe=Recipe.from_json(params["recipe"]),
        actor=params.get("actor", "studio"),
        progress=progress,
    )
    return outcome.to_dict()
