"""Prepare: build a recipe of cleaning steps and a feature spec, preview it, save and apply it."""

import streamlit as st

from app import cache
from app.cache import VersionKey
from app.components import dataset_picker, home, suggest_target
from app.navigation import page
from app.prepare import sections
from app.prepare.features import feature_editor, features_preview, fitted_to, with_defaults
from app.prepare.steps import step_form

st.title("Prepare")
version = dataset_picker(follow=False)
if version is None:
    st.info("No datasets yet. Import one on the Explore page, then come back to clean it.")
    st.page_link(page("explore"), label="Go to Explore")
    st.stop()

key = VersionKey.of(home(), version)
recipe = sections.working_recipe(version.dataset_id)
sections.load_or_import(recipe)

st.subheader("1. Clean the rows")
steps_area, form_area = st.container(), st.container()
result = sections.preview(key, recipe)
if result is not None:
    with form_area:
        new_step = step_form([str(c) for c in result.frame.columns], sections.numeric(result))
    # The new step is checked and previewed in this same run, so adding it costs one step.
    if new_step is not None and (added := sections.add_step(key, recipe, new_step)):
        recipe, result = added
with steps_area:
    sections.step_list(recipe, result)
if result is None:
    st.stop()

original = cache.cleaned(key, "[]").frame
sections.row_accounting(original, result)
sections.before_after(key, recipe, result)

st.subheader("2. Engineer the features")
st.caption(
    "The feature spec is fitted on training data only and travels inside every model, so "
    "serving and retraining transform raw input exactly the same way."
)
schema = cache.cleaned_schema(key, sections.steps_key(recipe.cleaning))
if (refitted := fitted_to(recipe, schema)) is not None:
    sections.keep(refitted)
    st.rerun()
started = with_defaults(recipe, schema, suggested_target=suggest_target(version))
if started is not recipe:
    recipe = started
    sections.keep(recipe)
changed = feature_editor(recipe, schema)
if changed is not None:
    sections.keep(changed)
    st.rerun()
features_preview(recipe, result, schema)

st.subheader("3. Save and apply")
sections.save_and_apply(version, recipe)
