"""A studio with one account per role, and a way to act as any of them."""

from collections.abc import Callable
from pathlib import Path

import pytest

from core.auth import Identity, acting_as
from core.auth.accounts import add_user

PASSWORD = "correct horse battery"
ROLE_NAMES = ("viewer", "data scientist", "reviewer", "operator", "admin")


@pytest.fixture
def team(studio_home: Path) -> Path:
    """A studio whose first account is the admin ``ada``, then one person per other role."""
    add_user(studio_home, "ada", role="admin", password=PASSWORD)
    with acting_as(Identity("ada", "admin", "session")):
        for name, role in (("vic", "viewer"), ("dan", "data scientist"), ("rui", "reviewer"),
                           ("opal", "operator")):  # fmt: skip
            add_user(studio_home, name, role=role, password=PASSWORD)
    return studio_home


@pytest.fixture
def as_role() -> Callable[[str], object]:
    names = {"viewer": "vic", "data scientist": "dan", "reviewer": "rui", "operator": "opal",
             "admin": "ada"}  # fmt: skip

    def acting(role: str) -> object:
        return acting_as(Identity(names[role], role, "session"))

    return acting
