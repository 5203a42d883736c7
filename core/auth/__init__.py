"""People: accounts, roles and permissions, tokens and sessions; every write action's check."""

from core.auth.identity import Identity, acting_as, current, local_user, set_current, studio_itself
from core.auth.roles import ROLES, NotAllowed, Permission, check_role, require, roles_with

__all__ = [
    "ROLES",
    "Identity",
    "NotAllowed",
    "Permission",
    "acting_as",
    "check_role",
    "current",
    "local_user",
    "require",
    "roles_with",
    "set_current",
    "studio_itself",
]
