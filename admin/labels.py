"""Words for the engine's codes in the user's language: job and delivery statuses, phases, roles, exclusion rules,
who requested a job and what a job is, schedules' policies and run triggers, notification events, account states.
The codes themselves stay in data-* attributes (and as small hints), so that scripts and tests read them whatever the
language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext, lazy_pgettext

from admin.i18n import number

STATUS_LABELS: Mapping[str, Any] = {  # of jobs and deliveries (feminine in French: une tâche, une livraison)
    "queued": lazy_pgettext("status", "queued"),
    "running": lazy_pgettext("status", "running"),
    "succeeded": lazy_pgettext("status", "succeeded"),
    "failed": lazy_pgettext("status", "failed"),
    "cancelled": lazy_pgettext("status", "cancelled"),
    "partial": lazy_pgettext("status", "partial"),
    "held": lazy_pgettext("status", "held"),
    "skipped": lazy_pgettext("status", "skipped"),
    "waiting": lazy_pgettext("status", "waiting"),
    "paused": lazy_pgettext("status", "paused"),
    "active": lazy_pgettext("status", "active"),
    "retrying": lazy_pgettext("status", "retrying"),  # a schedule's last run failed and waits for its retry
}
DELIVERY_STATUS_LABELS: Mapping[str, Any] = {  # a delivery (or a delivery job) that differs from a job's word
    "succeeded": lazy_pgettext("delivery", "delivered"),
    "running": lazy_pgettext("delivery", "sending"),
}
PRODUCT_STATUS_LABELS: Mapping[str, Any] = {  # engine.catalog.models.PRODUCT_STATUSES (un produit: masculine)
    "draft": lazy_pgettext("product", "draft"),
    "active": lazy_pgettext("product", "active"),
    "inactive": lazy_pgettext("product", "inactive"),
    "archived": lazy_pgettext("product", "archived"),
    "trash": lazy_pgettext("product", "trash"),
}
STATUS_COLOURS = {  # Bootstrap badge colours, the same in lists, on job pages and when console.js updates a badge
    "succeeded": "success", "failed": "danger", "cancelled": "secondary", "partial": "warning", "running": "primary",
    "queued": "info", "held": "warning", "skipped": "secondary", "waiting": "info", "paused": "secondary",
    "active": "success", "retrying": "warning",
}  # fmt: skip
PHASE_LABELS: Mapping[str, Any] = {
    "queued": lazy_gettext("waiting for a worker"),
    "waiting": lazy_gettext("waiting for its turn"),
    "resuming": lazy_gettext("resuming"),
    "retrying": lazy_gettext("retrying"),
    "writing": lazy_gettext("writing the files"),
    "done": lazy_gettext("done"),
}
ROLE_LABELS: Mapping[str, Any] = {
    "reader": lazy_gettext("reader"),
    "manager": lazy_gettext("manager"),
    "admin": lazy_gettext("administrator"),
}
RULE_LABELS: Mapping[str, Any] = {  # exclusion rules (engine/pipeline/validate.py, code "kind:field") by name
    "required": lazy_gettext("Required field"),
    "max_length": lazy_gettext("Maximum length"),
    "min_length": lazy_gettext("Minimum length"),
    "positive": lazy_gettext("Positive value"),
    "gtin": lazy_gettext("Valid barcode"),
    "enum": lazy_gettext("Allowed value"),
    "regex": lazy_gettext("Expected form"),
    "min_count": lazy_gettext("Minimum count"),
    "min_completeness": lazy_gettext("Minimum completeness"),
    "image": lazy_gettext("Usable image"),  # a warning's kind (engine/pipeline/image_step.py)
}
RULE_FIELD_LABELS: Mapping[str, Any] = {  # the names of the usual rules on well-known fields, more telling
    "positive:price": lazy_gettext("Positive price"),
    "positive:stock": lazy_gettext("Positive stock"),
    "gtin:ean": lazy_gettext("Valid EAN"),
}

WORKER_STATE_LABELS: Mapping[str, Any] = {  # an RQ worker's state (un worker: masculine in French)
    "idle": lazy_pgettext("worker", "idle"),
    "busy": lazy_pgettext("worker", "busy"),
    "started": lazy_pgettext("worker", "started"),
    "suspended": lazy_pgettext("worker", "suspended"),
}
FORMAT_LABELS: Mapping[str, Any] = {  # engine/formats/registry.py's format codes, as people know them
    "csv": "CSV",
    "xlsx": "Excel (XLSX)",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "google_xml": lazy_gettext("Google Shopping (XML)"),
    "amazon_json": lazy_gettext("Amazon (JSON listings)"),
    "amazon_flat_file": lazy_gettext("Amazon (flat file)"),
    "odoo_csv": "Odoo (CSV)",
}

# schedules (engine/services/schedules.py): their policies, what started a run, and the notifications' events
OVERLAP_LABELS: Mapping[str, Any] = {
    "skip": lazy_gettext("skip the new run"),
    "queue": lazy_gettext("queue the new run after it"),
}
CATCH_UP_LABELS: Mapping[str, Any] = {
    "once": lazy_gettext("run once when back"),
    "none": lazy_gettext("do not catch up"),
}
NOTIFY_LABELS: Mapping[str, Any] = {
    "failure": lazy_gettext("when a run fails"),
    "always": lazy_gettext("after every run"),
    "warnings": lazy_gettext("when a run fails or has warnings"),
}
TRIGGER_LABELS: Mapping[str, Any] = {
    "due": lazy_gettext("due time"),
    "catch_up": lazy_gettext("catch-up"),
    "manual": lazy_gettext("run now"),
    "retry": lazy_gettext("retry"),
    "pause": lazy_gettext("pause"),
}
EVENT_LABELS: Mapping[str, Any] = {  # engine.models.notifications.NOTIFICATION_EVENTS
    "export.completed": lazy_gettext("export completed"),
    "export.partial": lazy_gettext("export partly done"),
    "export.failed": lazy_gettext("export failed"),
    "delivery.failed": lazy_gettext("delivery failed"),
    "schedule.skipped": lazy_gettext("schedule skipped a due time"),
    "schedule.paused": lazy_gettext("schedule paused itself"),
}
ACCOUNT_LABELS: Mapping[str, Any] = {  # a console user's account (un compte: masculine)
    "active": lazy_pgettext("account", "active"),
    "disabled": lazy_pgettext("account", "disabled"),
    "locked": lazy_pgettext("account", "locked"),
}


TRANSFORM_LABELS: Mapping[str, Any] = {  # the engine's transformations (engine.pipeline), as the editor offers them
    "bool_format": lazy_pgettext("transform", "yes/no as text"),
    "capitalize": lazy_pgettext("transform", "capitalize"),
    "date_format": lazy_pgettext("transform", "format a date"),
    "default": lazy_pgettext("transform", "default value"),
    "first": lazy_pgettext("transform", "first item"),
    "format_price": lazy_pgettext("transform", "format a price"),
    "from_variant": lazy_pgettext("transform", "variant's value"),
    "grams": lazy_pgettext("transform", "weight in grams"),
    "gtin_normalize": lazy_pgettext("transform", "normalise a GTIN"),
    "gtin_valid": lazy_pgettext("transform", "valid GTIN only"),
    "html_to_text": lazy_pgettext("transform", "HTML to text"),
    "join": lazy_pgettext("transform", "join a list"),
    "keys": lazy_pgettext("transform", "keys of a mapping"),
    "lower": lazy_pgettext("transform", "lower case"),
    "map": lazy_pgettext("transform", "map values"),
    "markup": lazy_pgettext("transform", "markup"),
    "multiply": lazy_pgettext("transform", "multiply"),
    "nth": lazy_pgettext("transform", "item at a position"),
    "or_field": lazy_pgettext("transform", "else another field"),
    "or_format": lazy_pgettext("transform", "else a pattern"),
    "pluck": lazy_pgettext("transform", "pick a key from each item"),
    "prefix": lazy_pgettext("transform", "add a prefix"),
    "regex_replace": lazy_pgettext("transform", "replace by pattern"),
    "replace": lazy_pgettext("transform", "replace text"),
    "round": lazy_pgettext("transform", "round"),
    "slice": lazy_pgettext("transform", "part of a list"),
    "slugify": lazy_pgettext("transform", "slug for URLs"),
    "split": lazy_pgettext("transform", "split into a list"),
    "strip_html": lazy_pgettext("transform", "remove HTML tags"),
    "subtract_field": lazy_pgettext("transform", "minus another field"),
    "suffix": lazy_pgettext("transform", "add a suffix"),
    "tax_excluded": lazy_pgettext("transform", "price without tax"),
    "trim": lazy_pgettext("transform", "trim spaces"),
    "truncate": lazy_pgettext("transform", "truncate"),
    "unique": lazy_pgettext("transform", "remove duplicates"),
    "upper": lazy_pgettext("transform", "upper case"),
    "values": lazy_pgettext("transform", "values of a mapping"),
    "when": lazy_pgettext("transform", "only when"),
}


def code_word(labels: Mapping[str, Any], code: str | None) -> str:
    """The code in words from `labels`, an unknown code as it is."""
    return str(labels.get(code or "", code or ""))


def attempt_label(attempt: int | None) -> str:
    """A schedule run's attempt for people: the engine counts from 0 (its first try), people from 1; attempt -1 is
    the row recording that the schedule paused itself."""
    if attempt is None:
        return ""
    if attempt < 0:
        return _("the pause")
    return _("attempt %(n)s", n=attempt + 1)


def status_label(code: str | None, kind: str = "export") -> str:
    """The status in words ("succeeded" → "terminée", of a delivery "livrée"), an unknown code as it is."""
    if kind in {"deliver", "delivery"} and (code or "") in DELIVERY_STATUS_LABELS:
        return str(DELIVERY_STATUS_LABELS[code or ""])
    return str(STATUS_LABELS.get(code or "", code or ""))


def product_status_label(code: str | None) -> str:
    return str(PRODUCT_STATUS_LABELS.get(code or "", code or ""))


def phase_label(code: str | None) -> str:
    """The phase in words; a phase that only repeats the status ("failed") reads as that status."""
    code = code or ""
    return str(PHASE_LABELS.get(code) or STATUS_LABELS.get(code, code))


def role_label(code: str | None) -> str:
    return str(ROLE_LABELS.get(code or "", code or ""))


def rule_label(code: str | None) -> str:
    """An exclusion rule or warning kind by name: "positive:price" → "Prix positif", "required:title" → "Champ
    requis" (the code, with its field, is shown beside it as a hint); an unknown code as it is."""
    code = code or ""
    label = RULE_FIELD_LABELS.get(code) or RULE_LABELS.get(code.partition(":")[0])
    return str(label) if label is not None else code


def duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """How long from `start` to `end` for people: "0,4 s", "12 s", "1 min 12 s", "2 h 05 min"; "" without both."""
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 10:
        return _("%(n)s s", n=number(seconds, 1))
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s h %(m)s min", h=number(hours), m=f"{minutes:02d}")
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=secs)
    return _("%(n)s s", n=secs)


def latency(ms: float | None) -> str:
    """A measured time in milliseconds, as precise as it is meaningful: "0,3", "12", "1 234" (the unit follows)."""
    return "" if ms is None else number(ms, 1 if abs(ms) < 10 else 0)


def requester(requested_by: str | None) -> str:
    """Who asked for a job, for people: the console user's name, the schedule, the API key, the command line."""
    origin, colon, name = (requested_by or "").partition(":")
    if not colon:
        return _("command line") if origin == "cli" else origin
    if origin == "console":
        return name
    if origin == "schedule":
        return _("schedule %(name)s", name=name)
    if origin == "api":
        return _("API key %(name)s", name=name)
    return requested_by or ""


def job_title(job: Any) -> str:
    """What the job is: the template it exports, or the delivery / notification of which export job."""
    spec = job.spec or {}
    if job.kind == "deliver":
        return _("Delivery of job #%(id)s to %(to)s", id=spec.get("export_job"), to=spec.get("integration"))
    if job.kind == "notify":
        return _("Notification of job #%(id)s", id=spec.get("export_job"))
    return str(job.template_name or job.kind)


def parent_job(job: Any) -> int | None:
    """The export job a delivery or notification job works for (None for an export)."""
    if job.kind in {"deliver", "notify"}:
        found = (job.spec or {}).get("export_job")
        return found if isinstance(found, int) else None
    return None


def init_app(app: Flask) -> None:
    """The filters for templates, and the words console.js shows when a job's status or phase changes live."""
    app.jinja_env.globals.update(
        status_words=lambda: {code: str(label) for code, label in STATUS_LABELS.items()},
        phase_words=lambda: {code: phase_label(code) for code in (*PHASE_LABELS, *STATUS_LABELS)},
        status_colours=STATUS_COLOURS,
    )
    app.jinja_env.filters.update(
        status_label=status_label,
        product_status_label=product_status_label,
        phase_label=phase_label,
        role_label=role_label,
        rule_label=rule_label,
        requester=requester,
        job_title=job_title,
        parent_job=parent_job,
        overlap_label=lambda code: code_word(OVERLAP_LABELS, code),
        catch_up_label=lambda code: code_word(CATCH_UP_LABELS, code),
        notify_label=lambda code: code_word(NOTIFY_LABELS, code),
        trigger_label=lambda code: code_word(TRIGGER_LABELS, code),
        event_label=lambda code: code_word(EVENT_LABELS, code),
        account_label=lambda code: code_word(ACCOUNT_LABELS, code),
        attempt_label=attempt_label,
        worker_state_label=lambda code: code_word(WORKER_STATE_LABELS, code),
        format_label=lambda code: code_word(FORMAT_LABELS, code),
        transform_label=lambda code: code_word(TRANSFORM_LABELS, code),
        duration=duration,
        latency=latency,
    )
