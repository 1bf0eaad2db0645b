"""The notify job kind: send one recorded Notification by email (smtp integrations) and as signed webhook events,
on the maintenance queue, so that a slow mail server never delays an export.

Each email or webhook is recorded on the notification as it goes: a retry (with backoff, after a transient
failure) sends only what did not go yet, and a webhook keeps its event id so a receiver drops a duplicate. An
integration deleted (or changed to another kind) since the policy was saved fails that channel, logged; the job
it notifies is never affected.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.destinations.connections import open_connection
from engine.errors import ExportsError, FatalError, RetryableError
from engine.jobs.notices import summary_html, summary_text
from engine.jobs.runner import JobContext, JobOutcome, start
from engine.models import ExportJob, Notification
from engine.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_KINDS = {"email": "smtp", "webhook": "webhook"}  # channel -> the integration kind it needs


def start_notify(settings: Settings, notification_id: int, *, inline: bool) -> int:
    """A notify job for the notification, queued on the maintenance queue (or run now when `inline`)."""
    notification = Notification.get_by_id(notification_id)
    job = ExportJob.get_or_none(ExportJob.id == notification.job_id)
    task = ExportJob.create(
        kind="notify",
        template_name=notification.template_name,
        template_version=job.template_version if job else None,
        spec={"notification_id": notification.id, "export_job": notification.job_id, "event": notification.event},
        status="queued",
        phase="queued",
        requested_by=job.requested_by if job else "notify",
    )
    Notification.update(task=task.id).where(Notification.id == notification.id).execute()
    start(settings, task.id, "notify", inline=inline)
    return int(task.id)


def event_id(notification: Notification, integration: str) -> str:
    """The webhook id of this notification to this webhook: the same on every retry, new for a new database."""
    identity = f"{notification.key}|{notification.created_at.isoformat()}|{integration}"
    return "evt_" + hashlib.sha256(identity.encode()).hexdigest()[:32]


class NotifyKind:
    name: ClassVar[str] = "notify"
    queue: ClassVar[str] = "maintenance"
    limited: ClassVar[bool] = False
    retry_intervals: ClassVar[list[int]] = [60, 300, 900, 3600, 21600]

    def resume_from(self, spec: Mapping[str, Any], checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None  # what was sent is recorded on the notification: a restart sends the rest

    def run(self, ctx: JobContext) -> JobOutcome:
        notification = Notification.get_by_id(ctx.spec["notification_id"])
        channels = [dict(c) for c in notification.channels or ()]
        retryable: list[RetryableError] = []
        failed: list[str] = []
        for channel in channels:
            if channel["status"] == "sent":
                continue
            try:
                channel["detail"] = self._send(ctx.settings, notification, channel)
                channel["status"] = "sent"
            except RetryableError as exc:
                will_retry = ctx.can_retry()
                channel["status"], channel["detail"] = ("pending" if will_retry else "failed"), str(exc)
                retryable.append(exc)
            except ExportsError as exc:
                channel["status"], channel["detail"] = "failed", str(exc)
                failed.append(str(exc))
            if channel["status"] == "failed":
                log.warning(
                    "notification not sent",
                    extra={"notification": notification.id, "job_id": notification.job_id, "error": channel["detail"]},
                )
            Notification.update(channels=channels).where(Notification.id == notification.id).execute()
        sent = sum(1 for c in channels if c["status"] == "sent")
        if retryable:
            reasons = "; ".join(str(e) for e in retryable + [FatalError(f) for f in failed])
            raise RetryableError(f"notification {notification.id}: {reasons}", max(e.seconds for e in retryable))
        if failed:
            not_sent = f"{len(failed)} of {len(channels)} not sent"
            raise FatalError(f"notification {notification.id}: {not_sent}: " + "; ".join(failed))
        return JobOutcome(files=[], total=len(channels), processed=len(channels), exported=sent)

    def finished(self, ctx: JobContext, outcome: JobOutcome) -> None:
        return None

    def _send(self, settings: Settings, notification: Notification, channel: Mapping[str, Any]) -> str:
        """Send one email or webhook event; the receipt's detail. Engine errors name the integration."""
        name, kind = str(channel["integration"]), CHANNEL_KINDS[str(channel["channel"])]
        what = f"{channel['channel']} via {name}"
        try:
            integration, destination = open_connection(settings, name)
        except ExportsError as exc:
            raise FatalError(f"{what}: {exc}") from None
        if integration.kind != kind:
            raise FatalError(f"{what}: the integration is now a {integration.kind} integration, not {kind}")
        try:
            if kind == "smtp":
                receipt = destination.send_message(  # type: ignore[attr-defined]
                    list(channel["to"]), notification.title, summary_text(notification), html=summary_html(notification)
                )
            else:
                data = {"title": notification.title, **dict(notification.summary or {})}
                receipt = destination.send_event(  # type: ignore[attr-defined]
                    notification.event, data, event_id=event_id(notification, name)
                )
        except RetryableError as exc:
            raise RetryableError(f"{what}: {exc}", exc.seconds) from None
        except ExportsError as exc:
            raise FatalError(f"{what}: {exc}") from None
        return str(receipt.detail)
