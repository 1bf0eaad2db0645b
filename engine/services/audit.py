"""The audit log: who created, changed, ran, cancelled or deleted what, when, with the before/after of the object
(secret values replaced by a mask before they are stored); listed newest first, a page at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.errors import InvalidRequest
from engine.models import AuditEntry
from engine.services.views import MASK, AuditView

ACTIONS = (
    "create", "update", "delete", "run", "cancel", "retry", "copy", "restore", "revoke", "login", "test",
    "pause", "resume", "release",
)  # fmt: skip
KINDS = ("api_key", "delivery", "integration", "job", "schedule", "template", "user")  # what the callers record
CONSOLE_PREFIX = "console:"  # a console user's actions (and, since issue 12, logins) are recorded as console:<name>
MAX_PAGE_SIZE = 200
_SECRET_WORDS = ("secret", "password", "token", "api_key", "private_key", "passphrase")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def without_secrets(value: Any) -> Any:
    """`value` with every secret-looking key's value replaced by a mask, at any depth."""
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if v not in (None, "", {}) else v) if _is_secret(str(k)) else without_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return value


def record(
    actor: str,
    action: str,
    object_type: str,
    object_name: str,
    *,
    before: Any = None,
    after: Any = None,
    message: str = "",
) -> AuditView:
    """Write one audit entry; before/after are stored without secrets."""
    if action not in ACTIONS:
        raise InvalidRequest(f"unknown action {action!r} (known: {', '.join(ACTIONS)})", "action")
    entry = AuditEntry.create(
        actor=actor[:128],
        action=action,
        object_type=object_type[:32],
        object_name=str(object_name)[:255],
        before=without_secrets(before),
        after=without_secrets(after),
        message=message[:2000],
    )
    return AuditView.of(entry)


def list_audit(
    *,
    before_id: int | None = None,
    page_size: int = 50,
    actor: str | None = None,
    object_type: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[AuditView], int | None]:
    """Entries newest first (those older than `before_id`), filtered by actor, object type, action and a time
    range [since, until) in UTC; returns (entries, the before_id of the next page)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"must be between 1 and {MAX_PAGE_SIZE}", "page_size")
    query = AuditEntry.select().order_by(AuditEntry.id.desc())
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if actor:
        same = AuditEntry.actor == actor
        if actor.startswith(CONSOLE_PREFIX):  # logins recorded before issue 12 carry the bare user name
            legacy = (AuditEntry.actor == actor.removeprefix(CONSOLE_PREFIX)) & (AuditEntry.action == "login")
            same = same | legacy
        query = query.where(same)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if action:
        if action not in ACTIONS:
            raise InvalidRequest(f"unknown action {action!r} (known: {', '.join(ACTIONS)})", "action")
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    rows = list(query.limit(page_size + 1))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return [AuditView.of(r) for r in rows], rows[-1].id if more else None
