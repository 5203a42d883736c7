"""Which file a path named when the studio read it, so a worker on another machine (or after a
change) can tell it sees that same file before it reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileStamp:
    """A file's path, size and modification time as the studio found them."""

    path: str
    size: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileStamp:
        found = os.stat(path)
        return cls(str(path), found.st_size, found.st_mtime_ns)

    def seen_here(self) -> bool:
        """Whether this process sees the same file at the path (none, or another: False)."""
        try:
            found = os.stat(self.path)
        except OSError:
            return False
        return (found.st_size, found.st_mtime_ns) == (self.size, self.modified_ns)
