"""The content-addressed cache of processed images, its URL index, and the maintenance prune.

Layout under `cache_dir` (the pipeline passes `var/cache/images`):

    processed/<ab>/<key>.<ext> + <key>.json   key = sha256(source sha256 + processing options)
    urls/<ab>/<sha256(url)>.json               ETag / Last-Modified / source sha256 of a URL (conditional GET)
    tmp/run-*/                                 downloads in progress, removed when the run closes

so a second product pointing at the same bytes, or the same URL in a later export, is never decoded again,
and an unchanged URL answers 304 without a download. Every cache file is written atomically (temp + rename);
several processes may share the folder. Nothing evicts it during a run: `prune_image_cache` (daily
maintenance) deletes files by mtime, and a cache hit refreshes the mtime of the processed file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.pipeline.images.fetch import FetchedImage
from engine.pipeline.images.render import OUTPUT_FORMATS, Rendered


@dataclass(frozen=True)
class ProcessedImage:
    """A processed file in the cache; read it, never move or change it."""

    path: Path
    format: str  # a key of OUTPUT_FORMATS
    width: int
    height: int
    size: int
    sha256: str
    cached: bool  # found in the cache rather than processed just now


class ImageCache:
    """The cache folder for one processing fingerprint (see ImageOptions.fingerprint)."""

    def __init__(self, cache_dir: Path, fingerprint: str) -> None:
        self.cache_dir = Path(cache_dir)
        self._fingerprint = fingerprint

    def new_run_folder(self) -> Path:
        """A fresh folder for one run's downloads in progress (the caller removes it)."""
        (self.cache_dir / "tmp").mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="run-", dir=self.cache_dir / "tmp"))

    def load(self, source_sha256: str) -> ProcessedImage | None:
        """The processed file for these source bytes, when it is cached and complete."""
        key = self._key(source_sha256)
        meta = _read_json(self._processed_dir(key) / f"{key}.json")
        if meta is None or meta.get("format") not in OUTPUT_FORMATS:
            return None
        path = self._processed_dir(key) / f"{key}.{OUTPUT_FORMATS[meta['format']][1]}"
        try:
            if path.stat().st_size != meta.get("size"):
                return None
            os.utime(path)  # recently used: a maintenance job evicting by mtime keeps it
        except OSError:
            return None
        return ProcessedImage(path, meta["format"], meta["width"], meta["height"], meta["size"], meta["sha256"], True)

    def store(self, source_sha256: str, data: bytes | memoryview, rendered: Rendered) -> ProcessedImage:
        """Write a processed file and its metadata; raises OSError when the cache cannot be written."""
        digest = hashlib.sha256(data).hexdigest()
        key = self._key(source_sha256)
        ext = OUTPUT_FORMATS[rendered.format][1]
        path = self._processed_dir(key) / f"{key}.{ext}"
        meta = {
            "format": rendered.format,
            "width": rendered.width,
            "height": rendered.height,
            "size": len(data),
            "sha256": digest,
            "source_sha256": source_sha256,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        _atomic_write(path, data)
        _atomic_write(path.with_suffix(".json"), json.dumps(meta).encode())
        return ProcessedImage(path, rendered.format, rendered.width, rendered.height, len(data), digest, cached=False)

    def url_validators(self, url: str) -> tuple[str | None, dict[str, str]]:
        """The source sha256 last downloaded from `url` and the conditional-request headers to revalidate it,
        when its processed file is still cached; else (None or the stale sha256, {})."""
        index = _read_json(self._url_index_path(url))
        known = index.get("source_sha256") if index else None
        source = known if isinstance(known, str) else None
        validators: dict[str, str] = {}
        if index and source is not None and self.load(source) is not None:
            if isinstance(index.get("etag"), str):
                validators["If-None-Match"] = index["etag"]
            if isinstance(index.get("last_modified"), str):
                validators["If-Modified-Since"] = index["last_modified"]
        return source, validators

    def remember_url(self, url: str, fetched: FetchedImage) -> None:
        """Record a download's validators for the next run's conditional request (when the server gave any)."""
        if not (fetched.etag or fetched.last_modified):
            return
        entry = {
            "url": url,
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "source_sha256": fetched.sha256,
        }
        with contextlib.suppress(OSError):  # only an optimisation for the next run
            _atomic_write(self._url_index_path(url), json.dumps(entry).encode())

    def _key(self, source_sha256: str) -> str:
        return hashlib.sha256(f"{source_sha256}:{self._fingerprint}".encode()).hexdigest()

    def _processed_dir(self, key: str) -> Path:
        return self.cache_dir / "processed" / key[:2]

    def _url_index_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / "urls" / digest[:2] / f"{digest}.json"


def prune_image_cache(cache_dir: Path, days: int) -> int:
    """Delete cached images (and their metadata) not used for `days` days; a cache hit refreshes the mtime."""
    cutoff = time.time() - days * 24 * 3600
    removed = 0
    if not cache_dir.is_dir():
        return 0
    for path in cache_dir.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
