"""Notices: when a job ends (or one of its deliveries fails for good), what its spec's `notifications` policy
asks for: a Notification row recorded once (the in-app list reads it), and for emails and webhook events a `notify`
job on the maintenance queue that sends them (never inline in the export). Also what a notification says: its
summary (rows, exclusions by rule, files with links, deliveries), its title, and its email's text and HTML bodies.
Called by the job runner and the deliver kind; the services (engine.services.notifications) keep the in-app list
and a schedule's own events."""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from peewee import IntegrityError

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.models import Artifact, Delivery, ExportJob, Notification
from engine.settings import Settings
from engine.storage import open_store
from engine.storage.links import presigned_link

log = logging.getLogger(__name__)

MAX_SUMMARY_FILES = 100  # files listed in one summary (a split export can have many parts)
MAX_SUMMARY_RULES = 50  # exclusion rules listed, most frequent first
MAX_SUMMARY_DELIVERIES = 50
MAX_ERROR_CHARS = 1_000
PENDING_DELIVERIES = ("queued", "running")
EVENT_OF_STATUS = {"succeeded": "export.completed", "partial": "export.partial", "failed": "export.failed"}
WORD_OF_STATUS = {"succeeded": "completed", "partial": "partial", "failed": "failed"}
SCHEDULE_EVENTS = ("schedule.skipped", "schedule.paused")
PURGE_BATCH = 5_000  # notifications deleted per statement (short write locks, bounded id lists)


def _excluded_percent(job: ExportJob) -> float:
    return round(100.0 * job.excluded / job.total, 2) if job.total else 0.0


def _export_event(job: ExportJob, policy: Mapping[str, Any]) -> str | None:
    """The event a job's end is notified as under `policy`, or None when the policy does not ask for it."""
    event = EVENT_OF_STATUS.get(job.status)
    if event is None:
        return None  # cancelled: the one who cancelled it knows
    on = set(policy.get("on") or ())
    if WORD_OF_STATUS[job.status] in on:
        return event
    warned = job.status != "failed" and _excluded_percent(job) > float(policy.get("warn_excluded_percent", 0))
    return event if "warnings" in on and warned else None


# --- what a notification says -------------------------------------------------------------------------------


def _files(settings: Settings, job: ExportJob) -> list[dict[str, Any]]:
    """The job's files with sizes, and a presigned link each when the artifact store gives links (a local store
    gives none: its files are downloaded through the engine)."""
    store = open_store(settings)
    files = []
    for artifact in Artifact.select().where(Artifact.job == job.id).order_by(Artifact.id).limit(MAX_SUMMARY_FILES):
        item: dict[str, Any] = {
            "name": artifact.name,
            "size": artifact.size,
            "rows": artifact.rows,
            "sha256": artifact.sha256,
            "url": None,
        }
        link = presigned_link(store, artifact.location, link_days=settings.link_days, not_after=artifact.expires_at)
        if link is not None:
            item["url"], expires = link
            item["url_expires_at"] = expires.isoformat()
        files.append(item)
    return files


def _deliveries(job: ExportJob) -> list[dict[str, Any]]:
    query = Delivery.select().where(Delivery.job == job.id).order_by(Delivery.id).limit(MAX_SUMMARY_DELIVERIES)
    return [
        {
            "id": d.id,
            "integration": d.integration_name,
            "target": d.target,
            "status": d.status,
            "attempts": d.attempts,
            "error": (d.last_error or "")[:MAX_ERROR_CHARS] or None,
            "held_reason": (d.held_reason or "")[:MAX_ERROR_CHARS] or None,
        }
        for d in query
    ]


def build_summary(settings: Settings, job: ExportJob) -> dict[str, Any]:
    """What every notification of a job carries: status, rows, exclusions by rule, files with sizes and links,
    deliveries with their errors."""
    report: dict[str, Any] = job.report or {}
    by_rule = sorted(((str(r), int(n)) for r, n in (report.get("excluded_by_rule") or {}).items()), key=lambda x: -x[1])
    return {
        "job_id": job.id,
        "template": job.template_name or "export",
        "template_version": job.template_version,
        "status": job.status,
        "error": (job.error or "")[:MAX_ERROR_CHARS] or None,
        "total": job.total,
        "exported": job.exported,
        "excluded": job.excluded,
        "excluded_percent": _excluded_percent(job),
        "failed": job.failed,
        "warnings": int(report.get("warnings") or 0),
        "excluded_by_rule": dict(by_rule[:MAX_SUMMARY_RULES]),
        "files": _files(settings, job),
        "deliveries": _deliveries(job),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _title(event: str, summary: Mapping[str, Any], policy: Mapping[str, Any], delivery: str | None) -> str:
    """The email subject and in-app headline: "[PM Exports] Google Shopping: partial (2 deliveries failed)"."""
    template = str(summary["template"])[:100]
    if event == "delivery.failed":
        return f"[PM Exports] {template}: delivery to {delivery} failed"
    word = WORD_OF_STATUS[str(summary["status"])]
    details = []
    failed_deliveries = sum(1 for d in summary["deliveries"] if d["status"] == "failed")
    held = sum(1 for d in summary["deliveries"] if d["status"] == "held")
    if failed_deliveries:
        details.append(f"{failed_deliveries} deliver{'y' if failed_deliveries == 1 else 'ies'} failed")
    if held:
        details.append(f"{held} deliver{'y' if held == 1 else 'ies'} held")
    if summary["failed"]:
        details.append(f"{summary['failed']:,} products failed")
    if summary["status"] != "failed" and summary["excluded_percent"] > float(policy.get("warn_excluded_percent", 0)):
        word = "completed with warnings" if word == "completed" else word
        details.append(f"{summary['excluded_percent']:g}% excluded")
    if word == "completed" and not details:
        details.append(f"{summary['exported']:,} rows")
    return f"[PM Exports] {template}: {word}" + (f" ({', '.join(details)})" if details else "")


def _size(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


class Notice(Protocol):
    """What a notification's email is made of (a Notification row, or the services' NotificationView)."""

    @property
    def event(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def summary(self) -> Mapping[str, Any]: ...


def summary_text(notification: Notice) -> str:
    """The plain-text body of a notification's email."""
    s = notification.summary
    lines = [notification.title.removeprefix("[PM Exports] "), ""]
    if notification.event in SCHEDULE_EVENTS:
        lines.append(f"Schedule {s['schedule']} (template {s['template']}), due {s['due_at']}: {s['reason']}")
        if s.get("last_job_id"):
            lines.append(f"Its last job: {s['last_job_id']}")
        return "\n".join(lines) + "\n"
    lines.append(f"Job {s['job_id']} ({s['template']}): {s['status']}")
    excluded = f"{s['excluded']:,} excluded ({s['excluded_percent']:g}%)"
    lines.append(f"Rows exported: {s['exported']:,} of {s['total']:,} selected; {excluded}")
    if s.get("failed"):
        lines.append(f"Products failed: {s['failed']:,}")
    if s.get("warnings"):
        lines.append(f"Product warnings: {s['warnings']:,}")
    if s.get("error"):
        lines.append(f"Error: {s['error']}")
    if notification.event == "delivery.failed" and s.get("delivery"):
        d = s["delivery"]
        lines.append(f"Delivery to {d['integration']} failed after {d['attempts']} attempt(s): {d['error']}")
    if s.get("excluded_by_rule"):
        lines += ["", "Excluded by rule:"] + [f"- {rule}: {n:,}" for rule, n in s["excluded_by_rule"].items()]
    if s.get("files"):
        lines += ["", "Files:"]
        for f in s["files"]:
            where = f": {f['url']}" if f.get("url") else ""
            lines.append(f"- {f['name']} ({_size(f['size'])}, {f['rows']:,} rows){where}")
    if s.get("deliveries"):
        lines += ["", "Deliveries:"]
        for d in s["deliveries"]:
            why = d.get("error") if d["status"] == "failed" else d.get("held_reason") if d["status"] == "held" else None
            lines.append(f"- {d['integration']}: {d['status']}" + (f": {why}" if why else ""))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """An HTML table; the cells are HTML already (escaped by the caller)."""
    out = ['<table border="1" cellpadding="4" cellspacing="0">']
    out.append("<tr>" + "".join(f'<th align="left">{_cell(h)}</th>' for h in headers) + "</tr>")
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return [*out, "</table>"]


def _link(url: Any, text: str) -> str:
    """An escaped link when `url` is an http(s) URL, the escaped text alone otherwise."""
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{_cell(text)}</a>'
    return _cell(text)


def summary_html(notification: Notice) -> str:
    """The HTML body of a notification's email, beside its text: the same facts as simple tables. Every value
    (template and file names, errors, reasons) is escaped; links are http(s) only."""
    s = notification.summary
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8"></head><body>']
    out.append(f"<h2>{_cell(notification.title.removeprefix('[PM Exports] '))}</h2>")
    facts: list[tuple[str, Any]]
    if notification.event in SCHEDULE_EVENTS:
        facts = [("Schedule", s["schedule"]), ("Template", s["template"]), ("Due", s["due_at"]),
                 ("Reason", s["reason"]), ("Last job", s.get("last_job_id"))]  # fmt: skip
        out += _table(("", ""), ([f"<b>{_cell(k)}</b>", _cell(v)] for k, v in facts if v not in (None, "")))
        return "\n".join([*out, "</body></html>"]) + "\n"
    facts = [
        ("Job", f"{s['job_id']} ({s['template']})"),
        ("Status", s["status"]),
        ("Rows exported", f"{s['exported']:,} of {s['total']:,} selected"),
        ("Excluded", f"{s['excluded']:,} ({s['excluded_percent']:g}%)"),
        ("Products failed", f"{s['failed']:,}" if s.get("failed") else None),
        ("Product warnings", f"{s['warnings']:,}" if s.get("warnings") else None),
        ("Error", s.get("error")),
    ]
    if notification.event == "delivery.failed" and s.get("delivery"):
        d = s["delivery"]
        facts.append(("Delivery failed", f"to {d['integration']} after {d['attempts']} attempt(s): {d['error']}"))
    out += _table(("", ""), ([f"<b>{_cell(k)}</b>", _cell(v)] for k, v in facts if v not in (None, "")))
    if s.get("excluded_by_rule"):
        out.append("<h3>Excluded by rule</h3>")
        out += _table(("Rule", "Products"), ([_cell(r), f"{n:,}"] for r, n in s["excluded_by_rule"].items()))
    if s.get("files"):
        out.append("<h3>Files</h3>")
        rows = ([_link(f.get("url"), f["name"]), _size(f["size"]), f"{f['rows']:,}"] for f in s["files"])
        out += _table(("File", "Size", "Rows"), rows)
    if s.get("deliveries"):
        out.append("<h3>Deliveries</h3>")
        why = {"failed": "error", "held": "held_reason"}
        rows = ([_cell(d["integration"]), _cell(d["status"]), _cell(d.get(why.get(d["status"], ""), ""))]
                for d in s["deliveries"])  # fmt: skip
        out += _table(("Integration", "Status", "Detail"), rows)
    return "\n".join([*out, "</body></html>"]) + "\n"


# --- when jobs end ------------------------------------------------------------------------------------------


def job_ended(settings: Settings, job_id: int, *, inline: bool) -> None:
    """Called by the job runner when any job ends. An export (or the last pending delivery of one) that ended
    as its policy asks is notified once, with its deliveries' outcomes: an export with deliveries is notified
    when none is queued or running any more. Never raises: a notification never changes the job it is about."""
    try:
        _job_ended(settings, job_id, inline=inline)
    except Exception:
        log.exception("the notifications of a finished job could not be started", extra={"job_id": job_id})


def _job_ended(settings: Settings, job_id: int, *, inline: bool) -> None:
    job = ExportJob.get_or_none(ExportJob.id == job_id)
    if job is None:
        return
    delivery = Delivery.get_or_none(Delivery.task == job_id)
    export = ExportJob.get_by_id(delivery.job_id) if delivery is not None else job
    policy = (export.spec or {}).get("notifications")
    if not policy:
        return
    deliveries = Delivery.select().where(Delivery.job == export.id)
    expected = len((export.spec or {}).get("deliveries") or ()) if export.status != "failed" else 0
    if deliveries.count() < expected:
        return  # the export is still starting its deliveries: the last one to end notifies
    if deliveries.where(Delivery.status.in_(PENDING_DELIVERIES)).exists():
        return
    event = _export_event(export, policy)
    if event is not None:
        notify(settings, f"job:{export.id}", event, export, policy, inline=inline)


def delivery_failed(settings: Settings, delivery_id: int, *, inline: bool) -> None:
    """Called by the deliver job kind when a delivery failed for good: a `delivery.failed` notification when the
    export's policy asks for failures (`on` has failed or partial), one per failed send. Never raises."""
    try:
        _delivery_failed(settings, delivery_id, inline=inline)
    except Exception:
        log.exception("the notifications of a failed delivery could not be started", extra={"delivery": delivery_id})


def _delivery_failed(settings: Settings, delivery_id: int, *, inline: bool) -> None:
    delivery = Delivery.get_by_id(delivery_id)
    export = ExportJob.get_by_id(delivery.job_id)
    policy = (export.spec or {}).get("notifications")
    if not policy or not {"failed", "partial"} & set(policy.get("on") or ()):
        return
    key = f"delivery:{delivery.id}:{delivery.attempts}"
    detail = {
        "id": delivery.id,
        "integration": delivery.integration_name,
        "target": delivery.target,
        "attempts": delivery.attempts,
        "error": (delivery.last_error or "")[:MAX_ERROR_CHARS],
    }
    notify(settings, key, "delivery.failed", export, policy, inline=inline, delivery=detail)


def channels_of(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The emails and webhooks a policy names, each to be sent (status pending)."""
    channels = [
        {"channel": "email", "integration": e["integration"], "to": list(e["to"]), "status": "pending"}
        for e in policy.get("email") or []
    ]
    return channels + [
        {"channel": "webhook", "integration": n, "status": "pending"} for n in policy.get("webhooks") or []
    ]


def notify(
    settings: Settings,
    key: str,
    event: str,
    job: ExportJob,
    policy: Mapping[str, Any],
    *,
    inline: bool,
    delivery: Mapping[str, Any] | None = None,
) -> Notification | None:
    """Record the notification `key` of a job's event with the job's summary (once: None when it already exists)
    and start the notify job that sends its emails and webhooks (see `record`)."""
    summary = build_summary(settings, job)
    if delivery is not None:
        summary["delivery"] = dict(delivery)
    title = _title(event, summary, policy, delivery["integration"] if delivery else None)
    return record(
        settings, key=key, event=event, job_id=job.id, template_name=job.template_name, status=job.status,
        title=title, summary=summary, policy=policy, in_app=bool(policy.get("in_app", True)), inline=inline,
    )  # fmt: skip


def record(
    settings: Settings,
    *,
    key: str,
    event: str,
    job_id: int | None,
    template_name: str | None,
    status: str,
    title: str,
    summary: Mapping[str, Any],
    policy: Mapping[str, Any],
    in_app: bool,
    inline: bool,
) -> Notification | None:
    """Record the notification `key` (once: None when it already exists) and, when its policy names emails or
    webhooks, start the notify job that sends them: queued on the maintenance queue, or run now when `inline`
    (the CLI's one-off exports, which have no worker)."""
    channels = channels_of(policy)
    try:
        with current_database().atomic():
            row = Notification.create(
                key=key[:255],
                event=event,
                job=job_id,
                template_name=template_name,
                status=status,
                title=title[:255],
                summary=dict(summary),
                policy=dict(policy),
                in_app=in_app,
                channels=channels or None,
            )
    except IntegrityError:
        return None  # notified already (two deliveries ending together, a job run again by the runner)
    log.info("notification recorded", extra={"job_id": job_id, "notification": row.id, "event": event})
    if channels:
        from engine.jobs.kinds.notify import start_notify  # the kind runs under the runner, which calls this module

        start_notify(settings, row.id, inline=inline)
    return Notification.get_by_id(row.id)


def purge_old_notifications(settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete the notifications older than `notification_retention_days` (their sends ended long ago), in batches;
    returns how many. Part of the daily maintenance."""
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.notification_retention_days)
    deleted = 0
    while True:
        ids = [
            row.id
            for row in Notification.select(Notification.id)
            .where(Notification.created_at < cutoff)
            .order_by(Notification.id)
            .limit(PURGE_BATCH)
        ]
        if not ids:
            break
        deleted += Notification.delete().where(Notification.id.in_(ids)).execute()
    if deleted:
        log.info("old notifications purged", extra={"count": deleted, "before": cutoff.isoformat()})
    return deleted
