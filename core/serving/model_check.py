"""Checking a version's model files in the studio before a service process is started for it:
present, unchanged since saved (SHA-256), and holding only types the studio trusts."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from core.store.models import ModelVersion

MISSING = (
    "Cannot deploy {label}: its model file is missing from the studio's artifacts folder. "
    "Restore it from a backup, or train and register the model again."
)
TAMPERED = (
    "Cannot deploy {label}: its {kind} file has changed since the studio saved it (its SHA-256 "
    "no longer matches). Restore it from a backup, or train and register the model again."
)
UNTRUSTED = (
    "Cannot deploy {label}: its model file holds types the studio does not trust ({types}). "
    "Only files the studio wrote itself are served; train and register the model again."
)
UNREADABLE = (
    "Cannot deploy {label}: its model file cannot be read ({error}). "
    "Train and register the model again."
)
# What a .skops file of ours may name besides the allowlist: skops' own trusted families. Any
# other module (os, subprocess, pickle, a script's __main__) is refused here at once, without
# importing scikit-learn; skops' exact check follows for whatever passes.
_BUILTIN_TYPES = frozenset(
    f"builtins.{name}"
    for name in [
        "dict",
        "list",
        "tuple",
        "str",
        "int",
        "float",
        "bool",
        "slice",
        "set",
        "frozenset",
        "bytes",
        "bytearray",
        "complex",
        "NoneType",
        "type",
    ]
)
_TRUSTED_FAMILIES = ("numpy.", "sklearn.", "scipy.")


class ModelCheckError(ValueError):
    """A model file that must not be served; the message is one line saying what to do."""


def check_model_files(home: Path, version: ModelVersion) -> None:
    """ModelCheckError unless the version's files can be served: both hashes, then the types."""
    import hashlib

    from core.artifacts import resolve, sha256_of

    label = version.label
    path = resolve(home, version.artifact_path)
    if not path.is_file():
        raise ModelCheckError(MISSING.format(label=label))
    data = path.read_bytes()  # read once: hashed here, then its types checked
    if hashlib.sha256(data).hexdigest() != version.artifact_sha256:
        raise ModelCheckError(TAMPERED.format(label=label, kind="model"))
    if version.onnx_path and version.onnx_sha256:
        onnx = resolve(home, version.onnx_path)
        if not onnx.is_file() or sha256_of(onnx) != version.onnx_sha256:
            raise ModelCheckError(TAMPERED.format(label=label, kind="ONNX"))
    _check_named_types(data, label)
    _check_with_skops(data, label)


def _check_named_types(data: bytes, label: str) -> None:
    from core.train.model_files import TRUSTED_TYPES

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelCheckError(UNREADABLE.format(label=label, error=_short(error))) from error
    trusted = set(TRUSTED_TYPES) | _BUILTIN_TYPES
    foreign = sorted(
        name
        for name in _named_types(schema)
        if name not in trusted and not name.startswith(_TRUSTED_FAMILIES)
    )
    if foreign:
        raise ModelCheckError(UNTRUSTED.format(label=label, types=", ".join(foreign[:5])))


def _check_with_skops(data: bytes, label: str) -> None:
    import skops.io as sio

    from core.train.model_files import TRUSTED_TYPES

    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except Exception as error:  # any parse failure means a file the studio did not write
        raise ModelCheckError(UNREADABLE.format(label=label, error=_short(error))) from error
    if untrusted:
        raise ModelCheckError(UNTRUSTED.format(label=label, types=", ".join(untrusted[:5])))


def _named_types(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:  # no recursion: the schema's depth is the file's to choose
        item = stack.pop()
        if isinstance(item, dict):
            module, name = item.get("__module__"), item.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                found.add(f"{module}.{name}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _short(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
