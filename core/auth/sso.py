"""Single sign-on settings: whether Streamlit's OIDC sign-in is configured, and which role an
identity provider's user gets (by group, then e-mail domain, else the configured default)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.auth.identity import Identity
from core.auth.roles import check_role

SECRETS_NAME = "secrets.toml"
ROLES_SECTION = "studio_roles"
NO_ROLE = (
    "Your single sign-on account ({email}) has no role in this studio. Ask an admin to map "
    "your group or e-mail domain to a role."
)


def secrets_files(home: Path) -> list[Path]:
    """Where Streamlit (as the studio starts it) reads secrets: the project's, the user's and
    the studio home's ``secrets.toml``, later ones winning."""
    return [
        Path.cwd() / ".streamlit" / SECRETS_NAME,
        Path.home() / ".streamlit" / SECRETS_NAME,
        home / SECRETS_NAME,
    ]


def sso_settings(home: Path) -> dict[str, Any]:
    """The merged secrets (only the sections the studio reads)."""
    merged: dict[str, Any] = {}
    for path in secrets_files(home):
        if path.is_file():
            with path.open("rb") as handle:
                found = tomllib.load(handle)
            for section in ("auth", ROLES_SECTION):
                if isinstance(found.get(section), dict):
                    merged[section] = {**merged.get(section, {}), **found[section]}
    return merged


def sso_configured(home: Path) -> bool:
    """Whether an OIDC provider is set up for ``st.login`` (``[auth]`` with a metadata URL)."""
    auth = sso_settings(home).get("auth", {})
    has_provider = "server_metadata_url" in auth or any(
        isinstance(value, dict) and "server_metadata_url" in value for value in auth.values()
    )
    return bool(has_provider and auth.get("redirect_uri") and auth.get("cookie_secret"))


def sso_role(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> str | None:
    """The role for a signed-in provider user: the first mapped group (``groups``), else their
    e-mail domain (``domains``), else ``unmapped`` (a role, or "refuse": None)."""
    groups = mapping.get("groups", {})
    for group in claims.get("groups") or []:
        if group in groups:
            return check_role(str(groups[group]))
    email = str(claims.get("email") or "")
    domain = email.rpartition("@")[2].lower()
    domains = {str(key).lower(): value for key, value in mapping.get("domains", {}).items()}
    if domain and domain in domains:
        return check_role(str(domains[domain]))
    unmapped = str(mapping.get("unmapped", "viewer"))
    return None if unmapped == "refuse" else check_role(unmapped)


def sso_identity(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> Identity:
    """The studio identity of a provider user; ValueError when their role is unmapped and the
    studio refuses such users."""
    role = sso_role(claims, mapping)
    email = str(claims.get("email") or claims.get("sub") or "")
    if role is None:
        raise ValueError(NO_ROLE.format(email=email))
    return Identity(name=email or str(claims.get("name") or "single sign-on user"), role=role,
                    source="sso")  # fmt: skip
