"""API keys of prediction services: made at random, shown once, kept only as a SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "mls_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_matches(api_key: str, expected_hash: str) -> bool:
    """Constant-time comparison of a presented key with the stored hash."""
    return bool(api_key) and hmac.compare_digest(key_hash(api_key), expected_hash)
