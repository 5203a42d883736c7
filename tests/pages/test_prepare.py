"""The Prepare page in AppTest: steps with previews, refusals, features, save, apply, import."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import state
from core.data.datasets import dataset_versions, import_dataset, list_datasets
from core.jobs import wait_for_job
from core.jobs.runner import list_recent_jobs
from core.prep.prepare import list_recipes
from tests.pages.apptest import ROOT, no_errors, open_page


def prepare_page() -> AppTest:
    return open_page("prepare", timeout=60)


def working(at: AppTest) -> dict:
    """The working recipe of the dataset on screen."""
    return at.session_state[state.WORKING_RECIPE][at.session_state[state.PREPARE_DATASET]]


def add_step(at: AppTest, label: str, **params: object) -> AppTest:
    at.selectbox(key=state.STEP_KIND).set_value(label).run()
    for name, value in params.items():
        widget = at.get("multiselect") + at.get("selectbox") + at.get("text_input")
        match = [w for w in widget if w.key == name]
        match[0].set_value(value)
    return at.button(key=state.STEP_ADD).click().run()


@pytest.fixture
def small_home(studio_home: Path, small_frame: pd.DataFrame, import_frame) -> Path:
    frame = pd.concat([small_frame, small_frame.head(5)], ignore_index=True)
    import_frame(studio_home, frame, name="small")
    return studio_home


def test_a_step_shows_its_effect_at_once(small_home: Path) -> None:
    at = prepare_page()
    add_step(at, "Drop duplicate rows")
    no_errors(at)
    table = at.dataframe[0].value
    assert table["rows dropped"].tolist() == [5]
    assert any("Dropped 5 duplicate rows" in m.value for m in at.markdown)
    assert at.get("plotly_chart"), "a before/after chart is shown"


def test_a_failing_step_is_refused_and_the_recipe_kept(small_home: Path) -> None:
    at = prepare_page()
    add_step(at, "Drop duplicate rows")
    param = state.STEP_PARAM.format(step="parse_dates", param="format")
    at.selectbox(key=state.STEP_KIND).set_value("Parse dates from text").run()
    at.selectbox(key=state.STEP_PARAM.format(step="parse_dates", param="column")).set_value(
        "region"
    )
    at.text_input(key=param).set_value("%d/%m/%Y")
    at.button(key=state.STEP_ADD).click().run()
    no_errors(at)
    shown = [e.value.replace("\\", "") for e in at.error]  # errors are Markdown-escaped
    assert any(text.startswith("Step 2 (") and "region" in text for text in shown)
    assert len(working(at)["cleaning"]) == 1


def test_features_default_save_and_apply_make_a_new_version(small_home: Path) -> None:
    at = prepare_page()
    add_step(at, "Drop duplicate rows")
    at.selectbox(key=state.RECIPE_TARGET).set_value("target").run()
    no_errors(at)
    assert working(at)["features"]["columns"], "defaults by role"
    at.text_input(key=state.RECIPE_NAME).set_value("dedupe")
    at.button(key=state.RECIPE_SAVE).click().run()
    no_errors(at)
    assert [r.label for r in list_recipes(small_home)] == ["dedupe v1"]
    at.button(key=state.RECIPE_APPLY).click().run()
    for job in list_recent_jobs(small_home):
        assert wait_for_job(small_home, job.id, timeout=120).status == "done"
    at.run()
    no_errors(at)
    versions = dataset_versions(small_home, list_datasets(small_home)[0].id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].parent_version_id == versions[0].id and versions[1].row_count == 500
    assert versions[1].recipe_id == list_recipes(small_home)[0].id
    assert any("Created small v2" in s.value for s in at.success)


def test_imported_recipe_missing_a_column_says_which_step(small_home: Path) -> None:
    at = prepare_page()
    recipe = (ROOT / "sample_data" / "credit_recipe.json").read_bytes()
    at.file_uploader(key=state.RECIPE_UPLOAD).set_value(("credit_recipe.json", recipe, "x"))
    at.run()
    at.button(key="prepare.upload_use").click().run()
    no_errors(at)
    shown = [e.value.replace("\\", "") for e in at.error]  # errors are Markdown-escaped
    assert any("Step 2" in text and "applicant_id" in text for text in shown)


def test_broken_recipe_json_is_a_clear_error(small_home: Path) -> None:
    at = prepare_page()
    at.file_uploader(key=state.RECIPE_UPLOAD).set_value(("r.json", b"{not json", "x"))
    at.run()
    at.button(key="prepare.upload_use").click().run()
    no_errors(at)
    assert any("not valid JSON" in e.value for e in at.error)
    assert working(at)["cleaning"] == [], "the recipe is untouched"


def test_each_dataset_keeps_its_own_recipe(small_home: Path, tmp_path: Path) -> None:
    other = pd.DataFrame({"height": [1.0, 2.0, 3.0] * 10, "kind": ["a", "b", "c"] * 10})
    other.to_csv(tmp_path / "other.csv", index=False)
    import_dataset(small_home, path=tmp_path / "other.csv", name="other")
    at = prepare_page()
    at.selectbox(key=state.DATASET_PICKER).set_value(list_datasets(small_home)[1].id).run()
    add_step(at, "Drop duplicate rows")
    at.selectbox(key=state.RECIPE_TARGET).set_value("target").run()
    assert working(at)["target"] == "target" and len(working(at)["cleaning"]) == 1

    other_id = next(d.id for d in list_datasets(small_home) if d.name == "other")
    at.selectbox(key=state.DATASET_PICKER).set_value(other_id).run()
    no_errors(at)
    assert working(at)["cleaning"] == [] and working(at)["target"] is None
    assert set(working(at)["features"]["columns"]) <= {"height", "kind"}
    assert not at.warning, [w.value for w in at.warning]

    small_id = next(d.id for d in list_datasets(small_home) if d.name == "small")
    at.selectbox(key=state.DATASET_PICKER).set_value(small_id).run()
    assert working(at)["target"] == "target" and len(working(at)["cleaning"]) == 1


def test_a_recipe_for_other_data_says_so_and_resets_to_the_defaults(
    small_home: Path, tmp_path: Path
) -> None:
    from core.prep.prepare import save_recipe
    from core.prep.recipe import Recipe

    features = {"columns": {"height": {"impute": "median"}}}
    save_recipe(small_home, Recipe("elsewhere", "kind", (), features), actor="test")
    at = prepare_page()
    at.selectbox(key=state.RECIPE_LOAD).set_value(list_recipes(small_home)[0].id)
    at.button(key=state.RECIPE_LOAD_BUTTON).click().run()
    no_errors(at)
    shown = [w.value.replace("\\", "") for w in at.warning]
    assert any("'height' is not in the dataset" in text and "Reset" in text for text in shown)
    at.button(key=state.FEATURES_REFIT).click().run()
    no_errors(at)
    assert not at.warning
    assert "height" not in working(at)["features"]["columns"]


def test_after_apply_train_and_explore_open_on_the_new_version(small_home: Path) -> None:
    at = prepare_page()
    add_step(at, "Drop duplicate rows")
    at.selectbox(key=state.RECIPE_TARGET).set_value("target").run()
    at.button(key=state.RECIPE_APPLY).click().run()
    for job in list_recent_jobs(small_home):
        assert wait_for_job(small_home, job.id, timeout=120).status == "done"
    at.run()
    no_errors(at)
    v1, v2 = dataset_versions(small_home, list_datasets(small_home)[0].id)
    assert at.session_state[state.DATASET_VERSION_ID] == v1.id  # Prepare stays on its source

    at.switch_page("../pages/train.py").run()
    no_errors(at)
    assert at.session_state[state.DATASET_VERSION_ID] == v2.id
    recipe = at.selectbox(key=state.TRAIN_RECIPE)
    assert recipe.value == 0 and "this version's recipe" in recipe.format_func(recipe.value)

    at.switch_page("../pages/explore.py").run()
    no_errors(at)
    assert at.session_state[state.DATASET_VERSION_ID] == v2.id
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "prepared from small v1 with recipe" in caption
    assert at.selectbox(key=f"{state.EXPLORE_TARGET}.{v2.id}").value == "target"
