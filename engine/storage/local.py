"""The local-folder artifact store (the default): files under one folder, locations are absolute paths."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from engine.errors import OutputError
from engine.pipeline.naming import unique_target
from engine.storage.base import StoredFile


class LocalStore:
    """Files in `folder`; a file is moved in with one rename, so a reader never sees it half-written."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def ensure_ready(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write to the export folder {self.folder}: {exc.strerror or exc}") from exc

    def put(self, source: Path, name: str) -> StoredFile:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = unique_target(self.folder, name)
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            partial = target.with_name(f".{target.name}.partial")  # another file system: copy, then rename
            shutil.copyfile(source, partial)
            os.replace(partial, target)
            source.unlink()
        return StoredFile(str(target), target.name, target.stat().st_size)

    def open(self, location: str, offset: int = 0) -> BinaryIO:
        handle = Path(location).open("rb")  # noqa: SIM115 - returned open, the caller closes it
        if offset:
            handle.seek(offset)
        return handle

    def size(self, location: str) -> int | None:
        try:
            path = Path(location)
            return path.stat().st_size if path.is_file() else None
        except OSError:
            return None

    def delete(self, location: str) -> bool:
        with contextlib.suppress(FileNotFoundError):
            Path(location).unlink()
            return True
        return False

    def local_path(self, location: str) -> Path | None:
        return Path(location)
