"""Train: pick data, target, recipe, models and tuning; watch the search live; get a leaderboard."""

import streamlit as st

from app import state
from app.components import dataset_picker, suggest_target
from app.navigation import page
from app.people.permits import guarded
from app.train import sections
from core.auth import Permission
from core.train.training import TrainRequest

st.title("Train")
version = dataset_picker()
if version is None:
    st.info("No datasets yet. Import one on the Explore page, then come back to train on it.")
    st.page_link(page("explore"), label="Go to Explore")
    st.stop()

left, right = st.columns(2)
with left:
    target = sections.choose_target(version, suggest_target(version))
    drop_missing = sections.missing_target_choice(version, target)
with right:
    task = sections.choose_task(sections.detected_task(version, target))
    recipe_id = sections.choose_recipe(version)

st.subheader("Models and tuning")
models = sections.choose_models(task)
strategy, trials, seconds = sections.choose_tuning()
plan = sections.choose_plan(version, target)
left, middle, right = st.columns([2, 2, 3])
experiment = left.text_input("Experiment", value=version.dataset_name, key=state.TRAIN_EXPERIMENT)
tags = middle.text_input("Tags (comma-separated)", key=state.TRAIN_TAGS)
notes = right.text_input("Notes", key=state.TRAIN_NOTES)

request = TrainRequest(
    version_id=version.id,
    target=target,
    task=task,
    recipe_id=recipe_id,
    models=models,
    strategy=strategy,
    trials=trials,
    seconds=seconds,
    plan=plan,
    drop_missing_target=drop_missing,
    experiment=experiment.strip() or version.dataset_name,
    tags=tuple(tag.strip() for tag in tags.split(",") if tag.strip()),
    notes=notes.strip(),
)
ready = sections.check(version, request)
if st.button(
    "Train",
    type="primary",
    key=state.TRAIN_START,
    **guarded(Permission.TRAIN, disabled=not ready),
):
    sections.start(request)

if (job_id := sections.training_job(version)) is not None:
    st.subheader("Progress and leaderboard")
    sections.show_training(job_id)
