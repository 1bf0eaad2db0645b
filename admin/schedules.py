"""Schedules: the list (frequency in words, state, next run in the schedule's zone and the user's, last run), the
create/edit form with the next 5 fire times previewed live, a schedule's detail with its run history, and pause,
resume, run now and delete for managers (each audited with its before and after)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_datetime as babel_datetime
from flask import flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.auth import needs_role
from admin.base import ConsoleView, actor, settings
from admin.labels import CATCH_UP_LABELS, NOTIFY_LABELS, OVERLAP_LABELS, code_word
from engine.errors import InvalidRequest
from engine.services import audit
from engine.services.schedules import (
    CATCH_UP_POLICIES,
    NOTIFY_LEVELS,
    OVERLAP_POLICIES,
    create_schedule,
    delete_schedule,
    describe_frequency,
    get_schedule,
    list_runs,
    page_schedules,
    pause_schedule,
    preview_frequency,
    preview_next_runs,
    resume_schedule,
    run_now,
    update_schedule,
    view_values,
)
from engine.services.templates import list_templates
from engine.services.views import FireTimeView, ScheduleView

PAGE_SIZE = 25
PREVIEW_COUNT = 5
HISTORY_LIMIT = 50
MAX_TEMPLATES_LISTED = 1000
KINDS = ("daily", "weekly", "monthly", "every", "cron")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNITS = ("minutes", "hours")
MAX_FIELD = 200  # characters of one form field (the frequency itself is at most 200)
FORM_FIELDS = (  # the fields of the form, in the order their errors are listed
    "name", "template", "template_version", "frequency", "timezone", "overlap", "catch_up", "retry_count",
    "retry_backoff", "max_failures", "notify", "warn_excluded_percent",
)  # fmt: skip
_zones: list[str] = []


def time_zones() -> list[str]:
    """Every IANA zone, sorted (the form's list)."""
    if not _zones:
        _zones.extend(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))
    return _zones


def lang() -> str:
    return str(get_locale() or "en")[:2]


def words(schedule: ScheduleView) -> str:
    return describe_frequency(schedule.frequency, schedule.timezone, lang())


def in_zone(value: dt.datetime | None, zone: str, format: str = "medium") -> str:
    """A naive-UTC (or aware) datetime shown in `zone` (the schedule's), in the user's language."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return babel_datetime(value, format, tzinfo=ZoneInfo(zone), locale=get_locale())


def _field(name: str, default: str = "") -> str:
    return (request.form.get(name) or default).strip()[:MAX_FIELD]


def compose_frequency(form: dict[str, Any]) -> str:
    """The frequency text the services take, from the form's parts (kind, time, days, day of month, interval, cron);
    InvalidRequest on the frequency field when a part is missing."""
    kind, time = form["kind"], form["time"]
    if kind not in KINDS:
        raise InvalidRequest(_("choose how often it runs"), "frequency")
    if kind in ("daily", "weekly", "monthly") and not time:
        raise InvalidRequest(_("choose the time of day (HH:MM)"), "frequency")
    if kind == "daily":
        return f"daily {time}"
    if kind == "weekly":
        if not form["days"]:
            raise InvalidRequest(_("choose at least one day of the week"), "frequency")
        return f"weekly {','.join(form['days'])} {time}"
    if kind == "monthly":
        return f"monthly {form['month_day'] or '1'} {time}"
    if kind == "every":
        return f"every {form['interval'] or '0'} {form['unit']}"
    return f"cron {form['cron']}"


def decompose_frequency(text: str) -> dict[str, Any]:
    """The form's parts of a stored (normalised) frequency: the inverse of compose_frequency."""
    parts = text.split()
    form: dict[str, Any] = {"kind": parts[0], "time": "06:00", "days": [], "month_day": "1", "interval": "60",
                            "unit": "minutes", "cron": ""}  # fmt: skip
    if parts[0] in ("daily", "weekly", "monthly"):
        form["time"] = parts[-1]
    if parts[0] == "weekly":
        form["days"] = parts[1].split(",")
    elif parts[0] == "monthly":
        form["month_day"] = parts[1]
    elif parts[0] == "every":
        form["interval"], form["unit"] = parts[1], parts[2]
    elif parts[0] == "cron":
        form["cron"] = " ".join(parts[1:])
    return form


def _frequency_form() -> dict[str, Any]:
    days = [d for d in request.values.getlist("days") if d in DAYS]
    unit = request.values.get("unit") or "minutes"
    return {
        "kind": (request.values.get("kind") or "").strip()[:16],
        "time": (request.values.get("time") or "").strip()[:8],
        "days": days,
        "month_day": (request.values.get("month_day") or "").strip()[:8],
        "interval": (request.values.get("interval") or "").strip()[:8],
        "unit": unit if unit in UNITS else "minutes",
        "cron": (request.values.get("cron") or "").strip()[:MAX_FIELD],
    }


def _number(name: str, values: dict[str, Any], *, decimal: bool = False) -> None:
    text = _field(name)
    if not text:
        return
    try:
        values[name] = float(text) if decimal else int(text)
    except ValueError:
        raise InvalidRequest(_("%(value)s is not a number", value=repr(text)), name) from None


def _form_values() -> dict[str, Any]:
    """The schedule's fields from the posted form (as create_schedule and update_schedule take them)."""
    values: dict[str, Any] = {
        "template": _field("template"),
        "frequency": compose_frequency(_frequency_form()),
        "timezone": _field("timezone"),
        "overlap": _field("overlap", "skip"),
        "catch_up": _field("catch_up", "once"),
        "notify": _field("notify", "failure"),
    }
    for name in ("retry_count", "retry_backoff", "max_failures"):
        _number(name, values)
    _number("warn_excluded_percent", values, decimal=True)
    version = _field("template_version")
    values["template_version"] = None
    if version:
        _number("template_version", values)
    return values


def _preview_start() -> dt.datetime | None:
    """The preview's start (`after`, a date: from its midnight UTC), else now."""
    text = (request.args.get("after") or "").strip()[:10]
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise InvalidRequest(_("%(value)s is not a date (YYYY-MM-DD)", value=repr(text)), "after") from None


def _summary(view: ScheduleView) -> dict[str, Any]:
    """A schedule as its audit entries keep it."""
    return {"name": view.name, **view_values(view), "paused_reason": view.paused_reason}


def _fire_times(runs: list[FireTimeView]) -> list[dict[str, str]]:
    return [
        {"local": babel_datetime(r.local, "full", locale=get_locale()), "iso": r.local.isoformat(),
         "utc": r.utc.strftime("%Y-%m-%d %H:%M UTC"), "yours": format_datetime(r.utc, "medium")}
        for r in runs
    ]  # fmt: skip


class SchedulesView(ConsoleView):
    # the routes name a schedule `key`: Flask-Admin passes its own `name` argument to every view method
    def _render_form(self, schedule: ScheduleView | None, form: dict[str, Any], errors: dict[str, str]) -> str:
        preview: list[dict[str, str]] = []
        sentence = ""
        if "frequency" not in errors and "timezone" not in errors:
            try:
                text = compose_frequency(form)
                preview = _fire_times(preview_frequency(text, form["timezone"], PREVIEW_COUNT))
                sentence = describe_frequency(text, form["timezone"], lang())
            except InvalidRequest:
                preview = []
        templates = [t.name for t in islice(list_templates(), MAX_TEMPLATES_LISTED)]
        return self.render(
            "console/schedule_form.html",
            schedule=schedule,
            form=form,
            errors=errors,
            general_errors=[m for f, m in errors.items() if f not in FORM_FIELDS],
            templates=templates,
            zones=time_zones(),
            kinds=KINDS,
            days=DAYS,
            overlaps=OVERLAP_POLICIES,
            catch_ups=CATCH_UP_POLICIES,
            notify_levels=list(NOTIFY_LEVELS),
            overlap_words=partial(code_word, OVERLAP_LABELS),
            catch_up_words=partial(code_word, CATCH_UP_LABELS),
            notify_words=partial(code_word, NOTIFY_LABELS),
            preview=preview,
            sentence=sentence,
        )

    def _posted_form(self) -> dict[str, Any]:
        form: dict[str, Any] = {name: _field(name) for name in FORM_FIELDS if name != "frequency"}
        form.update(_frequency_form())
        form["enabled"] = bool(request.form.get("enabled"))
        return form

    @expose("/")
    def index(self) -> str:
        token = request.args.get("page") or None
        schedules, next_token = page_schedules(page_size=PAGE_SIZE, page_token=token)
        return self.render(
            "console/schedules.html",
            schedules=schedules,
            words=words,
            in_zone=in_zone,
            next_url=url_for(".index", page=next_token) if next_token else "",
            first_url=url_for(".index") if token else "",
        )

    @expose("/preview")
    def preview(self) -> Response:
        """The next 5 fire times of the frequency being edited, in the chosen zone (the form's live preview)."""
        zone = (request.args.get("timezone") or "").strip()[:64]
        try:
            text = compose_frequency(_frequency_form())
            runs = preview_frequency(text, zone, PREVIEW_COUNT, after=_preview_start())
            sentence = describe_frequency(text, zone, lang())
        except InvalidRequest as exc:
            return jsonify({"error": exc.reason, "field": exc.field or ""})  # an answer, not a failed request
        return jsonify({"words": sentence, "frequency": text, "runs": _fire_times(runs)})

    @expose("/new", methods=["GET", "POST"])
    @needs_role("manager")
    def create(self) -> str | tuple[str, int] | Response:
        if request.method == "GET":
            form: dict[str, Any] = dict.fromkeys(FORM_FIELDS, "")
            form.update(decompose_frequency("weekly mon 06:00"))
            form.update(timezone=settings().default_timezone, overlap="skip", catch_up="once", retry_count="0",
                        retry_backoff="60", max_failures="5", notify="failure", warn_excluded_percent="0",
                        enabled=True)  # fmt: skip
            return self._render_form(None, form, {})
        form = self._posted_form()
        try:
            values = {**_form_values(), "enabled": form["enabled"]}
            view = create_schedule(settings(), form["name"], values)
        except InvalidRequest as exc:
            return self._render_form(None, form, {exc.field or "": exc.reason}), 400
        audit.record(actor(), "create", "schedule", view.name, after=_summary(view))
        flash(_("Schedule %(name)s created: %(words)s.", name=view.name, words=words(view)), "success")
        return redirect(url_for(".detail", key=view.name))

    @expose("/<path:key>/edit", methods=["GET", "POST"])
    @needs_role("manager")
    def edit(self, key: str) -> str | tuple[str, int] | Response:
        name = key
        before = get_schedule(name)
        if request.method == "GET":
            form = {**{k: ("" if v is None else str(v)) for k, v in view_values(before).items()}, "name": before.name}
            form.update(decompose_frequency(before.frequency))
            return self._render_form(before, form, {})
        form = {**self._posted_form(), "name": before.name}
        try:
            view = update_schedule(settings(), name, _form_values())
        except InvalidRequest as exc:
            return self._render_form(before, form, {exc.field or "": exc.reason}), 400
        audit.record(actor(), "update", "schedule", name, before=_summary(before), after=_summary(view))
        flash(_("Schedule %(name)s saved: %(words)s.", name=name, words=words(view)), "success")
        return redirect(url_for(".detail", key=name))

    @expose("/<path:key>")
    def detail(self, key: str) -> str:
        name = key
        schedule = get_schedule(name)
        return self.render(
            "console/schedule.html",
            schedule=schedule,
            sentence=words(schedule),
            preview=_fire_times(preview_next_runs(name, PREVIEW_COUNT)),
            runs=list_runs(name, limit=HISTORY_LIMIT),
            history_limit=HISTORY_LIMIT,
            in_zone=in_zone,
        )

    @expose("/<path:key>/pause", methods=["POST"])
    @needs_role("manager")
    def pause(self, key: str) -> Response:
        _audited_change(key, "pause", lambda: pause_schedule(key, f"paused by {current_name()}"))
        flash(_("Schedule %(name)s is paused.", name=key), "info")
        return redirect(url_for(".detail", key=key))

    @expose("/<path:key>/resume", methods=["POST"])
    @needs_role("manager")
    def resume(self, key: str) -> Response:
        _audited_change(key, "resume", lambda: resume_schedule(key))
        flash(_("Schedule %(name)s runs again.", name=key), "success")
        return redirect(url_for(".detail", key=key))

    @expose("/<path:key>/run", methods=["POST"])
    @needs_role("manager")
    def run(self, key: str) -> Response:
        name = key
        before = get_schedule(name)
        started = run_now(settings(), name, requested_by=actor())
        after = {**_summary(get_schedule(name)), "job_id": started.job_id}
        audit.record(actor(), "run", "schedule", name, before=_summary(before), after=after,
                     message=f"run now as job {started.job_id}")  # fmt: skip
        flash(_("Schedule %(name)s runs now as job %(job)s.", name=name, job=started.job_id), "success")
        return redirect(url_for("jobs.detail", job_id=started.job_id))

    @expose("/<path:key>/delete", methods=["POST"])
    @needs_role("manager")
    def delete(self, key: str) -> Response:
        name = key
        before = get_schedule(name)
        delete_schedule(name)
        audit.record(actor(), "delete", "schedule", name, before=_summary(before))
        flash(_("Schedule %(name)s deleted (its jobs stay).", name=name), "info")
        return redirect(url_for(".index"))


def _audited_change(name: str, action: str, change: Callable[[], ScheduleView]) -> ScheduleView:
    """Make `change` to the schedule `name`, audited with its before and after."""
    before = get_schedule(name)
    after = change()
    audit.record(actor(), action, "schedule", name, before=_summary(before), after=_summary(after))
    return after


def current_name() -> str:
    return actor().removeprefix("console:")
