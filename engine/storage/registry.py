"""The artifact store of the settings (a local folder today; S3-compatible storage comes with deliveries)."""

from __future__ import annotations

from pathlib import Path

from engine.settings import Settings
from engine.storage.base import ArtifactStore
from engine.storage.local import LocalStore


def open_store(settings: Settings, folder: Path | None = None) -> ArtifactStore:
    """The store export files go to: `folder` when a caller names one (CLI `--out`), else the export folder."""
    return LocalStore(folder or settings.export_dir)
