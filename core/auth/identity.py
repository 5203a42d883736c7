"""Who is acting: the identity a sign-in, token or job established for this unit of work."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# how an identity was established; only the first two are not a signed-in person
LOCAL = "local"  # no accounts exist: whoever runs the studio on this machine, as admin
SYSTEM = "system"  # the studio's own automation (the retraining scheduler)
SIGNED_IN = frozenset({"password", "session", "token", "sso", "job"})


@dataclass(frozen=True)
class Identity:
    """A person (or the studio itself) and the role they act with."""

    name: str
    role: str
    source: str

    @property
    def authenticated(self) -> bool:
        """Whether this is a signed-in account (its name is what the audit trail records)."""
        return self.source in SIGNED_IN

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "source": self.source}


_current: ContextVar[Identity | None] = ContextVar("mlops_studio_identity", default=None)


def local_user() -> Identity:
    """The person running the studio on their own machine, with no accounts set up: admin."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local user"
    return Identity(name=name, role="admin", source=LOCAL)


def studio_itself(name: str = "studio scheduler") -> Identity:
    """The studio's own automation, which acts on rules people with permission set up."""
    return Identity(name=name, role="admin", source=SYSTEM)


def current() -> Identity | None:
    """The identity acting in this context, or None when none was established."""
    return _current.get()


@contextmanager
def acting_as(identity: Identity | None) -> Iterator[Identity | None]:
    """Act as ``identity`` inside the block (None: as no one in particular)."""
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)


def set_current(identity: Identity | None) -> None:
    """Act as ``identity`` from now on in this context (a CLI command, a Streamlit script run)."""
    _current.set(identity)
