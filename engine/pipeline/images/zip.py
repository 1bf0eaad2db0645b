"""ZIP mode: the processed images of an export in one archive beside the file, written entry by entry."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
import zipfile
from pathlib import Path
from types import TracebackType

from engine.pipeline.images.processor import ImageResult
from engine.pipeline.naming import safe_file_name

_CHUNK = 64 * 1024


class ImageZip:
    """A ZIP of processed images beside the export file, written entry by entry (files are copied from the
    cache in chunks; only the entry names are kept in memory). Entries are stored, not deflated: JPEG, PNG
    and WebP are compressed already. Names are unique, case-insensitively. The file appears at `path` on
    `close()` only; `abort()` (or an exception in a `with` block) removes the partial file."""

    def __init__(self, path: Path, *, when: dt.datetime | None = None) -> None:
        self.path = Path(path)
        self.count = 0
        stamp = when or dt.datetime.now()
        self._date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        self._partial = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.part")
        self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self._partial, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._names: set[str] = set()

    def add(self, result: ImageResult, name: str | None = None) -> str | None:
        """Add a processed image under `name` (default its `file_name`); returns the entry name actually used
        (`-2`, `-3`... added on a clash), or None for a failed result."""
        if self._zip is None:
            raise ValueError("the image ZIP is closed")
        if not result.ok or result.path is None:
            return None
        entry = self._unique(safe_file_name(name or result.file_name or result.path.name))
        info = zipfile.ZipInfo(entry, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with result.path.open("rb") as source, self._zip.open(info, "w") as target:
            shutil.copyfileobj(source, target, _CHUNK)
        self.count += 1
        return entry

    def _unique(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 2
        while candidate.casefold() in self._names:
            candidate = f"{stem}-{n}.{ext}" if dot else f"{stem}-{n}"
            n += 1
        self._names.add(candidate.casefold())
        return candidate

    def close(self) -> tuple[Path, int]:
        """Finish the ZIP and move it into place; returns (path, number of entries)."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
            os.replace(self._partial, self.path)
        return self.path, self.count

    def abort(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> ImageZip:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
