"""Presigned download links to stored artifacts, for the stores that give them (S3)."""

from __future__ import annotations

import datetime as dt

from engine.catalog.models import utcnow
from engine.storage.base import ArtifactStore


def presigned_link(
    store: ArtifactStore, location: str, *, link_days: int, not_after: dt.datetime
) -> tuple[str, dt.datetime] | None:
    """A link to the stored file valid `link_days` (PM_EXPORTS_LINK_DAYS) but never after `not_after` (the
    artifact's own expiry), and when it expires; None when the store gives no links (a local folder)."""
    link = getattr(store, "link", None)
    if link is None:
        return None
    now = utcnow()
    expires = min(now + dt.timedelta(days=link_days), not_after)
    seconds = max(1, int((expires - now).total_seconds()))
    return str(link(location, seconds)), expires
