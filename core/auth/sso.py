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


PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
DEFAULT_PROVIDER = "default"


def sso_providers(home: Path) -> list[str]:
    """The identity providers ``st.login`` can use: "default" for one set up directly in
    ``[auth]``, else each ``[auth.NAME]`` section with a client id, secret and metadata URL."""
    auth = sso_settings(home).get("auth", {})
    if not (auth.get("redirect_uri") and auth.get("cookie_secret")):
        return []
    found = [DEFAULT_PROVIDER] if all(auth.get(key) for key in PROVIDER_KEYS) else []
    for name, section in auth.items():
        if isinstance(section, dict) and all(section.get(key) for key in PROVIDER_KEYS):
            found.append(str(name))
    return found


def provider_label(name: str) -> str:
    """What the sign-in button calls a provider: its section name, or "single sign-on"."""
    return "single sign-on" if name == DEFAULT_PROVIDER else name[:1].upper() + name[1:]


def sso_configured(home: Path) -> bool:
    """Whether an OIDC provider is set up for ``st.login`` (a redirect, a cookie secret and a
    provider with client id, secret and metadata URL, as Streamlit requires)."""
    return bool(sso_providers(home))


NEEDS_AUTHLIB = (
    "Single sign-on is set up in secrets.toml, but Streamlit's sign-in needs the Authlib "
    "package, which is not installed. Install it (`pip install 'Authlib>=1.3.2'`) and start "
    "the studio again."
)


def check_sso_library() -> None:
    """Refuse to start a studio whose single sign-on could not work (``st.login`` needs
    Authlib): every person would see an error instead of the provider."""
    try:
        import authlib  # noqa: F401
    except ImportError as error:
        raise ValueError(NEEDS_AUTHLIB) from error


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
