"""A recipe: ordered cleaning steps plus a feature spec, as versioned, replayable JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only named in annotations: reading and listing recipes needs no pandas
    import pandas as pd

RECIPE_FORMAT = "mlops-studio.recipe/1"
NOT_JSON = "The recipe file is not valid JSON ({error}). Fix it or export the recipe again."
NOT_A_RECIPE = (
    'This JSON is not a recipe: it needs an object with a "cleaning" list and/or a '
    '"features" object (see docs/recipes.md).'
)
WRONG_FORMAT = "The recipe format is {found!r}; this studio reads {expected!r}."
BAD_FIELD = "The recipe's {field!r} must be {kind}; got {found}."
STEP_FAILED = "Step {number} ({description}) cannot run: {reason}"
NAME_MAX = 100


class RecipeError(ValueError):
    """A recipe that cannot be read or applied; the message says which step and why."""


@dataclass(frozen=True)
class Recipe:
    """Cleaning steps (row level, applied once) and a feature spec (fitted inside each model)."""

    name: str = "recipe"
    target: str | None = None
    cleaning: tuple[dict[str, Any], ...] = ()
    features: dict[str, Any] | None = None
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECIPE_FORMAT,
            "name": self.name,
            "target": self.target,
            "cleaning": [dict(step) for step in self.cleaning],
            "features": self.features,
            "notes": self.notes,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of what the recipe does (its name and notes do not count)."""
        body = {"target": self.target, "cleaning": list(self.cleaning), "features": self.features}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def with_steps(self, cleaning: list[dict[str, Any]]) -> Recipe:
        return Recipe(self.name, self.target, tuple(cleaning), self.features, self.notes)

    def with_features(self, features: dict[str, Any] | None) -> Recipe:
        return Recipe(self.name, self.target, self.cleaning, features, self.notes)

    @classmethod
    def from_json(cls, data: Any) -> Recipe:
        """Read a recipe object, checking its shape (steps are checked when applied)."""
        if not isinstance(data, dict) or not ({"cleaning", "features"} & set(data)):
            raise RecipeError(NOT_A_RECIPE)
        found = data.get("format", RECIPE_FORMAT)
        if found != RECIPE_FORMAT:
            raise RecipeError(WRONG_FORMAT.format(found=found, expected=RECIPE_FORMAT))
        cleaning = _typed(data, "cleaning", list, "a list of steps", [])
        if not all(isinstance(step, dict) and "step" in step for step in cleaning):
            raise RecipeError(
                BAD_FIELD.format(
                    field="cleaning",
                    kind='a list of step objects each with a "step" name',
                    found=cleaning,
                )
            )
        return cls(
            name=str(data.get("name") or "recipe")[:NAME_MAX],
            target=_typed(data, "target", str, "a column name or null", None),
            cleaning=tuple(cleaning),
            features=_typed(data, "features", dict, "an object or null", None),
            notes=str(data.get("notes") or ""),
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Recipe:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RecipeError(NOT_JSON.format(error=error)) from error
        return cls.from_json(data)


def _typed(data: dict[str, Any], key: str, kind: type, words: str, default: Any) -> Any:
    value = data.get(key, default)
    if value is None or isinstance(value, kind):
        return default if value is None else value
    raise RecipeError(BAD_FIELD.format(field=key, kind=words, found=type(value).__name__))


def load_recipe_file(path: Path) -> Recipe:
    if not path.is_file():
        raise RecipeError(f"There is no recipe file at {path}. Check the path.")
    return Recipe.loads(path.read_bytes())


@dataclass(frozen=True)
class StepAccount:
    """What one cleaning step did to the rows."""

    number: int
    description: str
    rows_before: int
    rows_after: int
    note: str

    @property
    def rows_dropped(self) -> int:
        return self.rows_before - self.rows_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "description": self.description,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "rows_dropped": self.rows_dropped,
            "note": self.note,
        }


@dataclass(frozen=True)
class CleaningResult:
    """The cleaned frame and the row accounting of every step."""

    frame: pd.DataFrame
    accounts: tuple[StepAccount, ...] = field(default_factory=tuple)


def apply_cleaning(frame: pd.DataFrame, recipe: Recipe) -> CleaningResult:
    """Run the cleaning steps in order; a failing step raises RecipeError naming it."""
    result = CleaningResult(frame=frame)
    for step in recipe.cleaning:
        result = continue_cleaning(result, step)
    return result


def continue_cleaning(previous: CleaningResult, step: dict[str, Any]) -> CleaningResult:
    """Apply one more step to an earlier result, so a preview re-runs only the newest step."""
    from core.prep.steps import StepError, apply_step, describe_step

    number = len(previous.accounts) + 1
    description = _describe(step, describe_step)
    try:
        outcome = apply_step(previous.frame, step)
    except StepError as error:
        raise RecipeError(
            STEP_FAILED.format(number=number, description=description, reason=error)
        ) from error
    account = StepAccount(
        number, description, outcome.rows_before, outcome.rows_after, outcome.note
    )
    return CleaningResult(frame=outcome.frame, accounts=(*previous.accounts, account))


def _describe(step: dict[str, Any], describe: Any) -> str:
    try:
        return str(describe(step))
    except Exception:  # noqa: BLE001 - an unreadable step is reported by apply_step itself
        return str(step.get("step", "unknown step"))
