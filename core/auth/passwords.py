"""Password hashing: argon2id only (a slow, memory-hard hash; never a plain or fast one)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type

MIN_LENGTH = 8
TOO_SHORT = f"A password needs at least {MIN_LENGTH} characters."

# argon2-cffi's defaults (RFC 9106 low-memory profile), with the variant spelled out
_hasher = PasswordHasher(type=Type.ID)


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(TOO_SHORT)
    return password


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (its own salt and parameters inside)."""
    return _hasher.hash(check_password(password))


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# a hash of nothing anyone knows: verified against when the user does not exist, so an unknown
# name takes as long as a wrong password and the two cannot be told apart
DECOY_HASH = _hasher.hash("no account has this password, it only costs the same time")
