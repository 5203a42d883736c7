"""`make run`'s sample project in a real browser: started with `mlops-studio ui --demo` on an
empty home, it comes alive on its own (a deployed champion with traffic, drift, an alert and a
challenger waiting for review), and each page's first render with it is timed. Then a newcomer
brings their own CSV and takes it through Prepare, Train and Review, the path where the
sample's recipe used to follow them."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.waiting import wait_until

from .conftest import RENDER_BUDGET_S, StudioPage, number_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.sample_project]

ALIVE_TIMEOUT_S = 420.0
PAGES = ("Prepare", "Train", "Experiments", "Review", "Deploy", "Monitor", "Explore")
RENDER_CEILING_S = 5 * RENDER_BUDGET_S


def wait_until_alive(home: Path) -> float:
    """Seconds until the sample project serves traffic and a challenger waits for review."""
    from core.retrain.challenger import awaiting_decision, retrains_of
    from core.serving.deployments import list_deployments

    def alive() -> bool:
        running = [d for d in _quietly(list_deployments, home) or [] if d.active]
        retrains = retrains_of(home, running[0].id) if running else []
        return any(awaiting_decision(retrain) for retrain in retrains)

    started = time.monotonic()
    wait_until(
        alive,
        timeout=ALIVE_TIMEOUT_S,
        every=2,
        message=f"The sample project did not come alive within {ALIVE_TIMEOUT_S:.0f} s",
    )
    return time.monotonic() - started


def _quietly(read, home):
    try:
        return read(home)
    except Exception:  # the store is still being created
        return None


@pytest.mark.timeout(1200)
def test_the_sample_project_is_alive_and_every_page_renders(
    studio_page: StudioPage, tmp_path: Path
) -> None:
    ui = studio_page
    ui.first_visit("Explore")
    seconds_to_alive = wait_until_alive(ui.studio.home)
    timings = {}
    for title in PAGES:
        timings[title] = round(ui.open(title), 3)
        if title == "Monitor":
            main = ui.main
            counter = main.get_by_text(re.compile(r"^[\d,]+ requests \([\d,]+ rows\) in the last"))
            assert number_in(counter.inner_text()) > 1_000
            expect(main.get_by_text(re.compile(r"waits for review")).first).to_be_visible()
            sidebar = ui.page.get_by_test_id("stSidebar")
            drift = re.compile(r"drift share is", re.IGNORECASE)  # "Drift share" in an alert
            expect(sidebar.get_by_text(drift).first).to_be_visible()
        if title == "Deploy":
            status = ui.main.get_by_test_id("stMetric").filter(has_text="Status")
            expect(status.first).to_contain_text("running")
    # opening the app again, as a person does the next day: a new session, scripts from the
    # browser's cache, but Streamlit's and plotly's JavaScript evaluated afresh
    app_load = round(ui.first_visit("Explore"), 3)
    report = {
        "seconds_to_alive": round(seconds_to_alive, 1),
        "pages": timings,
        "app_load": app_load,
    }
    (tmp_path / "sample_project_times.json").write_text(json.dumps(report, indent=2))
    print(
        f"\nSample project alive after {seconds_to_alive:.0f} s; first render (s): {timings}; "
        f"the app opened again in {app_load} s"
    )
    slow = {title: s for title, s in timings.items() if s > RENDER_CEILING_S}
    assert not slow, f"pages far over their {RENDER_BUDGET_S} s budget: {slow}"

    own = _own_csv(tmp_path)
    with ui.step("own data: import"):
        _import(ui, own)
    with ui.step("own data: prepare"):
        _prepare(ui)
    with ui.step("own data: train"):
        _train(ui)
    with ui.step("own data: review"):
        _review(ui)
    assert ui.dialogs == [] and ui.outside_requests == []


JOB_TIMEOUT_MS = 300_000
OWN_COLUMNS = ("tickets_last_month", "plan", "tenure_months", "churned")


def _own_csv(tmp_path: Path) -> Path:
    """A table nothing like the sample's: support tickets and a Yes/No churn outcome."""
    rng = np.random.default_rng(17)
    n = 600
    frame = pd.DataFrame(
        {
            "tickets_last_month": rng.poisson(2, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "tenure_months": rng.integers(1, 60, n),
        }
    )
    risk = 0.5 * frame["tickets_last_month"] - 0.05 * frame["tenure_months"]
    frame["churned"] = np.where(risk + rng.normal(0, 1, n) > 0, "Yes", "No")
    path = tmp_path / "tickets.csv"
    pd.concat([frame, frame.head(5)]).to_csv(path, index=False)  # five duplicate rows
    return path


def _pick(ui: StudioPage, label: str, option: str) -> None:
    """Choose in a select box by typing, as a person does in a long list; the sample project's
    jobs may redraw the page while a list is open, so it is opened again if it closed."""
    box = ui.main.get_by_label(label, exact=True)
    for _ in range(3):
        box.click()
        ui.page.keyboard.type(option[:12])
        choice = ui.page.get_by_role("option", name=option, exact=True)
        try:
            choice.click(timeout=10_000)
        except Exception:  # the list closed under the typing: open it again
            ui.page.keyboard.press("Escape")
            continue
        ui.settle()
        return
    pytest.fail(f"Could not choose {option!r} in {label!r}")


def _import(ui: StudioPage, path: Path) -> None:
    main = ui.main
    ui.open("Explore")
    main.get_by_text("Import data").first.click()
    main.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(path)
    expect(main.get_by_text(path.name)).to_be_visible()
    ui.type_into("Dataset name", "tickets")
    main.get_by_role("button", name="Import", exact=True).click()
    expect(main.get_by_text(re.compile(r"^tickets v1 · 605 rows"))).to_be_visible(
        timeout=JOB_TIMEOUT_MS
    )
    ui.settle()


def _prepare(ui: StudioPage) -> None:
    main = ui.main
    ui.open("Prepare")
    expect(main.get_by_label("Dataset", exact=True)).to_have_value("tickets")
    # the sample's recipe (opened on Prepare above) stays with the sample: this one starts empty
    expect(main.get_by_text("No cleaning steps yet")).to_be_visible()
    _pick(ui, "Target column (what models will predict)", "churned")
    expect(main.get_by_text("made for other data")).to_have_count(0)
    main.get_by_role("button", name="Add step").click()
    expect(main.get_by_text(re.compile(r"^1\. .*duplicate", re.IGNORECASE))).to_be_visible()
    ui.settle()
    main.get_by_role("button", name=re.compile(r"^Apply to tickets v1")).click()
    expect(main.get_by_text(re.compile(r"^Created tickets v2"))).to_be_visible(
        timeout=JOB_TIMEOUT_MS
    )
    ui.settle()


def _train(ui: StudioPage) -> None:
    main = ui.main
    ui.open("Train")
    # Train opens on the version just prepared, with its own recipe named, not a blank box
    expect(main.get_by_label("Dataset", exact=True)).to_have_value("tickets")
    expect(main.get_by_label("Version", exact=True)).to_have_value("v2")
    expect(main.get_by_label("Recipe", exact=True)).to_have_value("Use this version's recipe")
    main.get_by_text("Compare all models (ranked leaderboard)").click()
    ui.settle()
    picked = main.get_by_test_id("stMultiSelect").filter(has_text="Models")
    while (extra := picked.get_by_role("button", name=re.compile("^Remove "))).count():
        extra.first.click()
        ui.settle()
    main.get_by_label("Models", exact=True).click()
    ui.page.get_by_role("option", name="Logistic regression", exact=True).click()
    ui.page.keyboard.press("Escape")
    ui.settle()
    main.get_by_role("button", name="Train", exact=True).click()
    trained = main.get_by_text("Trained 2 model(s) for binary classification", exact=False)
    expect(trained).to_be_visible(timeout=JOB_TIMEOUT_MS)
    ui.settle()
    register = main.get_by_label(re.compile(r"^Register the best run \(#\d+\) as model$"))
    register.fill("churn")
    register.press("Enter")
    ui.settle()
    main.get_by_role("button", name="Register", exact=True).click()
    expect(main.get_by_text(re.compile(r"^Registered churn v1 from run"))).to_be_visible()
    ui.settle()


def _review(ui: StudioPage) -> None:
    main = ui.main
    ui.open("Review")
    _pick(ui, "Model version", "churn v1 — not reviewed, gates not run")
    main.get_by_role("button", name="Run the review").click()
    ui.settle()
    expect(main.get_by_role("tab", name="Gates")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    verdict = re.compile("passes every gate that was checked|fails")
    gates = main.get_by_role("tabpanel", name="Gates")
    expect(gates.get_by_text(verdict).first).to_be_visible(timeout=JOB_TIMEOUT_MS)
    main.get_by_role("tab", name="Threshold").click()
    threshold = main.get_by_role("tabpanel", name="Threshold")
    # the target keeps the file's own words: "Yes", not True
    expect(threshold.get_by_text(re.compile(r"called Yes")).first).to_be_visible()
    ui.settle()
