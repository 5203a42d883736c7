"""Recipes: JSON round trip, row accounting, clear refusals, saving versions, replaying."""

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data.datasets import dataset_versions, import_dataset, list_datasets, load_frame
from core.prep.prepare import find_recipe, list_recipes, prepare_dataset, save_recipe
from core.prep.recipe import NOT_A_RECIPE, Recipe, RecipeError, apply_cleaning

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_RECIPE = ROOT / "sample_data" / "credit_recipe.json"
STEPS = (
    {"step": "drop_duplicates"},
    {"step": "drop_missing", "columns": ["income"]},
    {"step": "filter_rows", "column": "region", "operator": "in", "value": ["north", "south"]},
)


@pytest.fixture
def frame(small_frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([small_frame, small_frame.head(3)], ignore_index=True)


def test_json_round_trip_gives_identical_output(frame: pd.DataFrame) -> None:
    recipe = Recipe(name="r", target="target", cleaning=STEPS)
    again = Recipe.loads(recipe.dumps())
    assert again == recipe and again.content_hash == recipe.content_hash
    pd.testing.assert_frame_equal(
        apply_cleaning(frame, recipe).frame, apply_cleaning(frame, again).frame
    )


def test_each_step_is_accounted_for(frame: pd.DataFrame) -> None:
    result = apply_cleaning(frame, Recipe(cleaning=STEPS))
    dropped = [account.rows_dropped for account in result.accounts]
    assert dropped[0] == 3 and dropped[1] == 40
    assert sum(dropped) == len(frame) - len(result.frame)
    assert set(result.frame["region"]) == {"north", "south"}


def test_a_missing_column_names_the_step(frame: pd.DataFrame) -> None:
    recipe = Recipe(cleaning=(STEPS[0], {"step": "drop_missing", "columns": ["salary"]}))
    with pytest.raises(RecipeError, match=r"^Step 2 \(.*\) cannot run: .*salary"):
        apply_cleaning(frame, recipe)


def test_a_step_that_drops_every_row_is_refused(frame: pd.DataFrame) -> None:
    recipe = Recipe(
        cleaning=({"step": "filter_rows", "column": "age", "operator": ">", "value": 1000},)
    )
    with pytest.raises(RecipeError, match="would remove all"):
        apply_cleaning(frame, recipe)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", NOT_A_RECIPE),
        ('{"cleaning": "drop"}', "must be a list of steps"),
        ('{"format": "other/9", "cleaning": []}', "this studio reads"),
    ],
)
def test_broken_recipe_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RecipeError) as caught:
        Recipe.loads(text)
    assert message in str(caught.value)


def test_saving_versions_a_recipe_and_reuses_identical_content(studio_home: Path) -> None:
    first = save_recipe(studio_home, Recipe(name="clean", cleaning=STEPS[:1]))
    same = save_recipe(studio_home, Recipe(name="clean", cleaning=STEPS[:1], notes="again"))
    second = save_recipe(studio_home, Recipe(name="clean", cleaning=STEPS))
    assert (first.version, same.id, second.version) == (1, first.id, 2)
    assert find_recipe(studio_home, "clean").cleaning == STEPS
    assert find_recipe(studio_home, "clean@1").cleaning == STEPS[:1]
    assert [r.label for r in list_recipes(studio_home)] == ["clean v2", "clean v1"]


def test_prepare_records_lineage_and_replays_on_a_newer_version(
    studio_home: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    source = import_dataset(studio_home, path=path, name="small").version
    recipe = Recipe(name="clean", target="target", cleaning=STEPS)
    outcome = prepare_dataset(studio_home, version_id=source.id, recipe=recipe)
    assert outcome.version.parent_version_id == source.id
    assert outcome.version.recipe_id == outcome.recipe.id
    assert [a.rows_dropped for a in outcome.accounts][:2] == [3, 40]
    assert load_frame(studio_home, outcome.version).shape[0] == outcome.version.row_count
    again = prepare_dataset(studio_home, version_id=source.id, recipe=recipe)
    assert again.reused and again.version.id == outcome.version.id
    newer = tmp_path / "newer.csv"
    pd.concat([frame, frame.tail(20).assign(age=lambda d: d.age + 100)]).to_csv(newer, index=False)
    new_source = import_dataset(studio_home, path=newer, name="small").version
    replayed = prepare_dataset(studio_home, version_id=new_source.id, recipe=recipe)
    assert replayed.version.parent_version_id == new_source.id
    assert replayed.recipe.id == outcome.recipe.id, "the same recipe version is replayed"
    assert len(dataset_versions(studio_home, list_datasets(studio_home)[0].id)) == 4


def test_a_failed_prepare_saves_nothing(studio_home: Path, frame: pd.DataFrame, tmp_path: Path):
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    source = import_dataset(studio_home, path=path, name="small").version
    bad = Recipe(cleaning=({"step": "drop_columns", "columns": ["nope"]},))
    with pytest.raises(RecipeError):
        prepare_dataset(studio_home, version_id=source.id, recipe=bad)
    assert list_recipes(studio_home) == []
    assert list_datasets(studio_home)[0].version_count == 1


def test_the_sample_recipe_prepares_the_sample_credit_table(studio_home: Path) -> None:
    source = import_dataset(
        studio_home, path=ROOT / "sample_data" / "credit.csv", name="credit"
    ).version
    recipe = Recipe.loads(SAMPLE_RECIPE.read_text())
    outcome = prepare_dataset(studio_home, version_id=source.id, recipe=recipe)
    assert outcome.accounts[0].rows_dropped == 360
    assert "applicant_id" not in {c.name for c in outcome.version.schema}
    assert json.loads(SAMPLE_RECIPE.read_text())["features"] == recipe.features
