"""The artifact store of the settings: the export folder (default) or S3-compatible storage (s3://bucket/prefix)."""

from __future__ import annotations

from pathlib import Path

from engine.settings import Settings
from engine.storage.base import ArtifactStore
from engine.storage.local import LocalStore


def open_store(settings: Settings, folder: Path | None = None) -> ArtifactStore:
    """The store export files go to: `folder` when a caller names one (CLI `--out`), else the configured store."""
    if folder is None and settings.artifact_store.startswith("s3://"):
        from engine.storage.s3 import S3Store

        return S3Store(settings)
    return LocalStore(folder or settings.export_dir)
