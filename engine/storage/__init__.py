"""Artifact stores: where finished export files live, behind one interface (see base.ArtifactStore)."""

from engine.storage.base import ArtifactStore, StoredFile
from engine.storage.registry import open_store

__all__ = ["ArtifactStore", "StoredFile", "open_store"]
