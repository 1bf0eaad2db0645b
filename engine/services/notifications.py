"""Notifications: the policies' integrations checked on save, a schedule's own events, the in-app list (newest
first, unread filter) and marking it read. What a job's end notifies, and how, is engine.jobs.notices (below the
services: the job runner and the deliver kind call it); its names are re-exported here for the services' callers."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from engine.catalog.models import utcnow
from engine.errors import InvalidRequest
from engine.jobs import notices
from engine.jobs.notices import SCHEDULE_EVENTS, build_summary, delivery_failed, job_ended, summary_text
from engine.models import ExportJob, Integration, Notification
from engine.services.paging import decode_token, encode_token
from engine.services.views import NotificationView
from engine.settings import Settings

log = logging.getLogger(__name__)
__all__ = [
    "build_summary", "check_policy_integrations", "delivery_failed", "job_ended", "list_notifications", "mark_read",
    "page_token_after", "schedule_event", "summary_text", "unread_count",
]  # fmt: skip

MAX_PAGE_SIZE = 200
MAX_MARK_IDS = 1_000  # notifications marked read in one call (beyond: mark them all)


# --- policies -----------------------------------------------------------------------------------------------


def check_policy_integrations(notifications: Mapping[str, Any] | None) -> None:
    """The integrations a (validated) policy names exist and are of the right kind: smtp for `email`, webhook for
    `webhooks`. InvalidRequest naming the field otherwise (when a template is saved or an export requested)."""
    if not notifications:
        return
    emails = notifications.get("email") or []
    webhooks = notifications.get("webhooks") or []
    wanted = [(e["integration"], "smtp", f"notifications.email[{n}].integration") for n, e in enumerate(emails)]
    wanted += [(name, "webhook", f"notifications.webhooks[{n}]") for n, name in enumerate(webhooks)]
    names = [name for name, _kind, _where in wanted]
    kinds = {row.name: row.kind for row in Integration.select().where(Integration.name.in_(names))}
    for name, kind, where in wanted:
        if name not in kinds:
            raise InvalidRequest(f"no integration named {name!r}", where)
        if kinds[name] != kind:
            raise InvalidRequest(f"integration {name!r} is of kind {kinds[name]}, not {kind}", where)


# --- schedules ---------------------------------------------------------------------------------------------


def schedule_event(
    settings: Settings,
    *,
    schedule: str,
    template: str,
    event: str,
    reason: str,
    due_at: str,
    last_job_id: int | None,
) -> NotificationView | None:
    """A schedule's own event (a skipped due time, a pause): always in the in-app list, and sent to the emails and
    webhooks of its template's notification policy (a deleted template has none). Recorded once per due time."""
    if event not in SCHEDULE_EVENTS:
        raise InvalidRequest(f"unknown schedule event {event!r}", "event")
    from engine.models import Template  # the template as it is now: its policy names who hears about its schedules

    template_row = Template.get_or_none(Template.name == template)
    policy = dict((template_row.spec or {}).get("notifications") or {}) if template_row is not None else {}
    summary = {"schedule": schedule, "template": template, "reason": reason, "due_at": due_at,
               "last_job_id": last_job_id}  # fmt: skip
    word = "skipped a due time" if event == "schedule.skipped" else "paused itself"
    row = notices.record(
        settings,
        key=f"schedule:{schedule}:{event}:{due_at}",
        event=event,
        job_id=last_job_id if last_job_id and ExportJob.get_or_none(ExportJob.id == last_job_id) else None,
        template_name=template,
        status="paused" if event == "schedule.paused" else "skipped",
        title=f"[PM Exports] schedule {schedule[:100]}: {word}",
        summary=summary,
        policy=policy,
        in_app=True,
        inline=False,
    )
    if row is None:
        return None
    log.warning("schedule %s: %s", schedule, reason, extra={"schedule": schedule, "event": event})
    return NotificationView.of(row)


# --- the in-app list ----------------------------------------------------------------------------------------


def page_token_after(notification_id: int) -> str:
    """The page token of the notifications older than `notification_id` (for a caller that ends a page early)."""
    return encode_token(notification_id)


def list_notifications(
    *, unread_only: bool = False, page_size: int = 50, page_token: str | None = None
) -> tuple[list[NotificationView], str]:
    """In-app notifications, newest first; returns (notifications, next_page_token or "")."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"must be between 1 and {MAX_PAGE_SIZE}", "page_size")
    query = Notification.select().where(Notification.in_app == True).order_by(Notification.id.desc())  # noqa: E712
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    if page_token:
        query = query.where(Notification.id < decode_token(page_token))
    rows = list(query.limit(page_size + 1))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return [NotificationView.of(r) for r in rows], encode_token(rows[-1].id) if more else ""


def unread_count() -> int:
    return int(Notification.select().where((Notification.in_app == True) & Notification.read_at.is_null()).count())  # noqa: E712


def mark_read(ids: Iterable[int] = (), *, everything: bool = False) -> int:
    """Mark the in-app notifications `ids` (or, with `everything`, all of them) read; returns how many changed.
    Unknown ids are ignored (another reader may have marked and the purge removed them meanwhile)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not everything and not wanted:
        raise InvalidRequest("name the notifications to mark read, or mark them all", "ids")
    if len(wanted) > MAX_MARK_IDS:
        raise InvalidRequest(f"at most {MAX_MARK_IDS:,} ids at once (mark them all instead)", "ids")
    unread = Notification.read_at.is_null() & (Notification.in_app == True)  # noqa: E712
    query = Notification.update(read_at=utcnow()).where(unread)
    if not everything:
        query = query.where(Notification.id.in_(wanted))
    return int(query.execute())
