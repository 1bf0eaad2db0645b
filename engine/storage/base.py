"""The artifact store interface: put a finished file in, read it back from an offset, size it, delete it.

An artifact's `location` (recorded on its row) is the store's own reference to the file; only the store that
wrote it reads it. Nothing else in the engine treats a location as a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredFile:
    location: str  # the store's reference, recorded as Artifact.location
    name: str  # the file name under which it was stored (unique in the store)
    size: int


class ArtifactStore(Protocol):
    """Where export files live once finished."""

    def ensure_ready(self) -> None:
        """Check, before any work, that files can be stored; raise OutputError saying why not."""
        ...

    def put(self, source: Path, name: str) -> StoredFile:
        """Move a finished local file into the store under `name` (`name-2.ext`... when taken)."""
        ...

    def open(self, location: str, offset: int = 0) -> BinaryIO:
        """The stored file for reading, positioned at `offset`; FileNotFoundError when it is gone."""
        ...

    def size(self, location: str) -> int | None:
        """The stored file's size, or None when it is gone."""
        ...

    def delete(self, location: str) -> bool:
        """Delete the stored file; False when it was already gone."""
        ...

    def local_path(self, location: str) -> Path | None:
        """The file on this machine's disk when the store keeps it there (None for remote stores)."""
        ...
