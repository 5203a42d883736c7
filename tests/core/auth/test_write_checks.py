"""The last write actions checked in core: stopping the studio (an operator's), saving a recipe
from a file while looking one up (a data scientist's; reading needs nothing), and the automatic
opening of alerts (anyone who may read, and the studio itself; no one signed out)."""

import pytest

from core.auth import NotAllowed, acting_as, studio_itself
from core.monitor.alerts import evaluate
from core.prep.prepare import find_stored_recipe, save_recipe
from core.prep.recipe import Recipe
from core.shutdown import stop_studio
from core.store import connect, recipes

STEPS = ({"step": "drop_duplicates"},)


def test_stopping_the_studio_needs_an_operator(team, as_role) -> None:
    for role in ("viewer", "data scientist", "reviewer"):
        with as_role(role), pytest.raises(NotAllowed, match="operator"):
            stop_studio(team, deployments=True)
    with as_role("operator"):
        assert stop_studio(team, deployments=True).deployments == []


def test_a_recipe_file_is_saved_by_a_data_scientist_and_read_by_anyone(
    team, as_role, tmp_path
) -> None:
    path = tmp_path / "clean.json"
    path.write_text(Recipe(name="clean", cleaning=STEPS).dumps())
    with as_role("viewer"), pytest.raises(NotAllowed, match="data scientist"):
        find_stored_recipe(team, str(path))
    with connect(team) as db:
        assert recipes.by_name(db, "clean") is None  # the refused save stored nothing
    with as_role("data scientist"):
        saved = find_stored_recipe(team, str(path))
    assert saved.created_by == "dan"
    with as_role("viewer"):
        assert find_stored_recipe(team, "clean").id == saved.id
        assert find_stored_recipe(team, "clean@1").id == saved.id
        assert find_stored_recipe(team, str(saved.id)).id == saved.id
        with pytest.raises(ValueError, match="clean@7"):
            find_stored_recipe(team, "clean@7")


def test_alerts_open_for_readers_and_the_studio_itself_not_for_the_signed_out(
    team, as_role, loans_studio, add_deployment
) -> None:
    with as_role("data scientist"):
        save_recipe(team, Recipe(name="unused", cleaning=STEPS))  # the studio is in use
        loans_studio(team, rows=200, seed=2)
    with connect(team) as db:
        version_id = db.execute("SELECT id FROM model_versions").fetchone()[0]
    service = add_deployment(team, version_id, status="stopped", desired="stopped")
    with acting_as(None), pytest.raises(NotAllowed):
        evaluate(team, service)
    with as_role("viewer"):
        assert evaluate(team, service) == []  # no traffic yet: nothing to open
    with acting_as(studio_itself()):
        assert evaluate(team, service) == []
