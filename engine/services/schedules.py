"""Schedules (recurring exports): create, change, pause, resume, run now, list their runs and next fire times; and the
firing the scheduler process calls every second (`tick`): settle finished runs, start due retries, fire due
schedules.

Each due time fires exactly once whatever the number of scheduler processes: a run is claimed by inserting its
ScheduleRun row under the unique index (schedule, due_at, attempt) before anything is done, and a process whose
insert is refused leaves that due time to the one that won. `next_run_at` moves forward by compare-and-set. Finding
the due schedules reads the index on `next_run_at` (disabled schedules have none): a tick costs O(due), not
O(schedules). Times are naive UTC in the database; `now` can be given (tests, the benchmark) and is never local.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from peewee import IntegrityError, fn

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import ExportsError, InvalidRequest, InvalidState, NotFound, RetryableError
from engine.jobs.events import TERMINAL
from engine.jobs.frequency_words import frequency_words
from engine.jobs.recurrence import Frequency, fire_times, next_fire, parse_frequency, zone
from engine.models import ExportJob, Schedule, ScheduleRun
from engine.pipeline.spec import ExportSpec
from engine.services import jobs
from engine.services.exports import resolve_request
from engine.services.names import check_name
from engine.services.paging import decode_token, encode_token
from engine.services.templates import get_template
from engine.services.views import FireTimeView, ScheduleRunView, ScheduleView, UpcomingRunView
from engine.settings import Settings

log = logging.getLogger(__name__)

OVERLAP_POLICIES = ("skip", "queue")
CATCH_UP_POLICIES = ("once", "none")
NOTIFY_LEVELS = {  # a schedule's notification level -> the `on` events of the spec's notifications policy
    "failure": ["failed"],
    "always": ["failed", "partial", "completed"],
    "warnings": ["failed", "partial", "warnings"],
}
DEFAULT_NOTIFY = "failure"
MAX_NAME = 128
MAX_RETRIES = 10
MAX_BACKOFF_SECONDS = 24 * 3600
MAX_FAILURES_LIMIT = 100
MAX_PREVIEW = 100
MAX_RUNS_PAGE = 500
FIRE_BATCH = 500  # due schedules fired per tick at most (the rest at the next tick, a second later)
MISSED_GRACE = dt.timedelta(seconds=60)  # a due time older than this when fired was missed (no scheduler ran)
MAX_DUE_SCAN = 10_000  # due times counted for one schedule after a downtime
ORPHANED_AFTER = dt.timedelta(minutes=5)  # a claimed run still without its job this long after is given up
# whether this engine's export spec carries a notifications policy (the deliveries issue adds it)
SPEC_HAS_NOTIFICATIONS = "notifications" in {f.name for f in fields(ExportSpec)}
EDITABLE = (
    "template", "template_version", "overrides", "frequency", "timezone", "enabled", "overlap", "catch_up",
    "retry_count", "retry_backoff", "max_failures", "notify", "warn_excluded_percent",
)  # fmt: skip


def _now(now: dt.datetime | None) -> dt.datetime:
    """`now` as naive UTC (an aware value is converted; a naive one is taken as UTC)."""
    if now is None:
        return utcnow()
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


# --- validation -------------------------------------------------------------------------------------------------


def _choice(value: Any, allowed: Iterable[str], field: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidRequest(f"{value!r} is not one of {', '.join(allowed)}", field)
    return str(value)


def _bounded_int(value: Any, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{value!r}: must be a whole number between {low} and {high}", field)
    return value


def _check_name(name: Any) -> str:
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise InvalidRequest(f"must be 1 to {MAX_NAME} characters", "name")
    return check_name(name, limit=MAX_NAME)


def _check_template(values: Mapping[str, Any]) -> None:
    """The template exists (and the pinned version, when one is), and the overrides make a valid export."""
    try:
        template = get_template(str(values["template"]))
    except NotFound:
        raise InvalidRequest(f"no template named {values['template']!r}", "template") from None
    values_version = values.get("template_version")
    try:
        resolve_request(template.name, values.get("overrides") or {}, version=values_version)
    except NotFound as exc:
        raise InvalidRequest(str(exc), "template_version") from None


def _validated(values: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Check every field of a schedule (all of them, creation and update alike); returns them normalised."""
    out = dict(values)
    if not isinstance(out.get("template"), str) or not out["template"]:
        raise InvalidRequest("is required: the name of the template to export", "template")
    if out.get("template_version") is not None:
        out["template_version"] = _bounded_int(out["template_version"], 1, 1_000_000, "template_version")
    if not isinstance(out.get("overrides") or {}, Mapping):
        raise InvalidRequest("must be an object of export overrides", "overrides")
    out["overrides"] = dict(out.get("overrides") or {})
    out["frequency"] = parse_frequency(str(out.get("frequency") or "")).text
    out["timezone"] = out.get("timezone") or settings.default_timezone
    zone(str(out["timezone"]))
    out["enabled"] = bool(out.get("enabled", True))
    out["overlap"] = _choice(out.get("overlap", "skip"), OVERLAP_POLICIES, "overlap")
    out["catch_up"] = _choice(out.get("catch_up", "once"), CATCH_UP_POLICIES, "catch_up")
    out["retry_count"] = _bounded_int(out.get("retry_count", 0), 0, MAX_RETRIES, "retry_count")
    out["retry_backoff"] = _bounded_int(out.get("retry_backoff", 60), 1, MAX_BACKOFF_SECONDS, "retry_backoff")
    out["max_failures"] = _bounded_int(out.get("max_failures", 5), 1, MAX_FAILURES_LIMIT, "max_failures")
    out["notify"] = _choice(out.get("notify", DEFAULT_NOTIFY), NOTIFY_LEVELS, "notify")
    percent = out.get("warn_excluded_percent", 0)
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise InvalidRequest(f"{percent!r}: must be a number between 0 and 100", "warn_excluded_percent")
    out["warn_excluded_percent"] = float(percent)
    unknown = set(out) - set(EDITABLE)
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(sorted(unknown))} (known: {', '.join(EDITABLE)})")
    _check_template(out)
    return out


def _policy(notify: str, warn_excluded_percent: float) -> dict[str, Any]:
    policy: dict[str, Any] = {"on": list(NOTIFY_LEVELS[notify])}
    if notify == "warnings":
        policy["warn_excluded_percent"] = warn_excluded_percent
    return policy


def _notify_level(row: Schedule) -> str:
    policy: dict[str, Any] = row.notifications or {}
    on = list(policy.get("on") or NOTIFY_LEVELS[DEFAULT_NOTIFY])
    return next((level for level, events in NOTIFY_LEVELS.items() if events == on), DEFAULT_NOTIFY)


def _view(row: Schedule) -> ScheduleView:
    return ScheduleView.of(row, _notify_level(row))


def _frequency(row: Schedule) -> tuple[Frequency, Any]:
    return parse_frequency(row.frequency), zone(row.timezone)


def _next_after(row: Schedule, after: dt.datetime) -> dt.datetime:
    """The schedule's first fire time strictly after `after` (naive UTC), naive UTC."""
    frequency, tz = _frequency(row)
    return next_fire(frequency, tz, _aware(after)).replace(tzinfo=None)


# --- the schedule's life -------------------------------------------------------------------------------------------


def _row(name: str) -> Schedule:
    row = Schedule.get_or_none(Schedule.name == name)
    if row is None:
        raise NotFound(f"no schedule named {name!r}")
    return row


def schedule_id_of(name: str) -> int:
    """The id of the named schedule (NotFound otherwise): for filters on jobs."""
    return int(_row(name).id)


def _store(row: Schedule, values: Mapping[str, Any]) -> None:
    row.template_name = values["template"]
    row.template_version = values.get("template_version")
    row.overrides = values["overrides"]
    row.frequency = values["frequency"]
    row.timezone = values["timezone"]
    row.overlap, row.catch_up = values["overlap"], values["catch_up"]
    row.retry_count, row.retry_backoff = values["retry_count"], values["retry_backoff"]
    row.max_failures = values["max_failures"]
    policy: Any = _policy(values["notify"], values["warn_excluded_percent"])
    row.notifications = policy


def create_schedule(
    settings: Settings, name: str, values: Mapping[str, Any], *, now: dt.datetime | None = None
) -> ScheduleView:
    """Create a schedule from `values` (the EDITABLE fields: template and frequency required); InvalidRequest names
    the field at fault, InvalidState a name already taken."""
    name = _check_name(name)
    checked = _validated(values, settings)
    if Schedule.get_or_none(Schedule.name == name) is not None:
        raise InvalidState(f"a schedule named {name!r} exists already")
    row = Schedule(name=name, enabled=checked["enabled"])
    _store(row, checked)
    row.next_run_at = _next_after(row, _now(now)) if row.enabled else None
    try:
        with current_database().atomic():
            row.save(force_insert=True)
    except IntegrityError:
        raise InvalidState(f"a schedule named {name!r} exists already") from None
    log.info("schedule created", extra={"schedule": name, "frequency": row.frequency, "timezone": row.timezone})
    return _view(row)


def update_schedule(
    settings: Settings, name: str, changes: Mapping[str, Any], *, now: dt.datetime | None = None
) -> ScheduleView:
    """Change some fields of a schedule; its next due time is computed again from now."""
    row = _row(name)
    current = view_values(_view(row))
    checked = _validated({**current, **changes}, settings)
    _store(row, checked)
    if "enabled" in changes and checked["enabled"] != row.enabled:
        row.enabled = checked["enabled"]
        row.paused_reason = None if row.enabled else "disabled by request"
        row.consecutive_failures = 0 if row.enabled else row.consecutive_failures
    row.next_run_at = _next_after(row, _now(now)) if row.enabled else None
    row.updated_at = utcnow()
    row.save()
    return _view(row)


def view_values(view: ScheduleView) -> dict[str, Any]:
    """The EDITABLE fields of a schedule, as create_schedule takes them."""
    return {
        "template": view.template, "template_version": view.template_version, "overrides": dict(view.overrides),
        "frequency": view.frequency, "timezone": view.timezone, "enabled": view.enabled, "overlap": view.overlap,
        "catch_up": view.catch_up, "retry_count": view.retry_count, "retry_backoff": view.retry_backoff,
        "max_failures": view.max_failures, "notify": view.notify, "warn_excluded_percent": view.warn_excluded_percent,
    }  # fmt: skip


def delete_schedule(name: str) -> None:
    """Delete a schedule and its run history; its jobs stay (without their link to it)."""
    _row(name).delete_instance()


def get_schedule(name: str) -> ScheduleView:
    return _view(_row(name))


def list_schedules(*, enabled: bool | None = None) -> list[ScheduleView]:
    query = Schedule.select().order_by(Schedule.name)
    if enabled is not None:
        query = query.where(Schedule.enabled == enabled)
    return [_view(row) for row in query]


def pause_schedule(name: str, reason: str = "paused by request") -> ScheduleView:
    """Stop firing a schedule (its runs in progress go on)."""
    row = _row(name)
    Schedule.update(enabled=False, paused_reason=reason, next_run_at=None, updated_at=utcnow()).where(
        Schedule.id == row.id
    ).execute()
    return get_schedule(name)


def resume_schedule(name: str, *, now: dt.datetime | None = None) -> ScheduleView:
    """Fire a paused schedule again from its next due time after now; clears its consecutive failures."""
    row = _row(name)
    row.enabled, row.paused_reason, row.consecutive_failures = True, None, 0
    row.next_run_at = _next_after(row, _now(now))
    row.updated_at = utcnow()
    row.save()
    return _view(row)


def preview_next_runs(name: str, count: int, *, after: dt.datetime | None = None) -> list[FireTimeView]:
    """The next `count` (1-100) fire times of a schedule after `after` (default now), in UTC and in its zone."""
    row = _row(name)
    return preview_frequency(row.frequency, row.timezone, count, after=after)


def preview_frequency(
    frequency: str, timezone: str, count: int, *, after: dt.datetime | None = None
) -> list[FireTimeView]:
    """The next `count` (1-100) fire times of a frequency in a zone, before any schedule is saved (the console's
    live preview); InvalidRequest names the field at fault (frequency, timezone or count)."""
    if not 1 <= count <= MAX_PREVIEW:
        raise InvalidRequest(f"must be between 1 and {MAX_PREVIEW}", "count")
    parsed, tz = parse_frequency(frequency), zone(timezone)
    times = fire_times(parsed, tz, _aware(_now(after)), count)
    return [FireTimeView(utc=t, local=t.astimezone(tz)) for t in times]


def describe_frequency(frequency: str, timezone: str | None = None, lang: str = "en") -> str:
    """A frequency in words, in English or French ("every Monday at 06:00, Europe/Paris")."""
    return frequency_words(frequency, timezone, lang)


def upcoming_runs(limit: int = 10, *, now: dt.datetime | None = None) -> list[UpcomingRunView]:
    """The next `limit` (1-100) fire times across the active schedules, soonest first. Reads only the `limit`
    schedules due soonest (index on next_run_at): no other schedule can fire before the last of their times."""
    if not 1 <= limit <= MAX_PREVIEW:
        raise InvalidRequest(f"must be between 1 and {MAX_PREVIEW}", "limit")
    rows = list(
        Schedule.select()
        .where((Schedule.enabled == True) & Schedule.next_run_at.is_null(False))  # noqa: E712
        .order_by(Schedule.next_run_at, Schedule.id)
        .limit(limit)
    )
    found: list[UpcomingRunView] = []
    for row in rows:
        frequency, tz = _frequency(row)
        first = _aware(row.next_run_at)
        times = [first, *fire_times(frequency, tz, first, limit - 1)] if limit > 1 else [first]
        found.extend(UpcomingRunView(row.name, row.template_name, row.timezone, t, t.astimezone(tz)) for t in times)
    found.sort(key=lambda run: (run.utc, run.schedule))
    return found[:limit]


def page_schedules(*, page_size: int = 50, page_token: str | None = None) -> tuple[list[ScheduleView], str]:
    """Schedules newest first, a page at a time; returns (schedules, next_page_token or "")."""
    if not 1 <= page_size <= MAX_RUNS_PAGE:
        raise InvalidRequest(f"must be between 1 and {MAX_RUNS_PAGE}", "page_size")
    query = Schedule.select().order_by(Schedule.id.desc())
    if page_token:
        query = query.where(Schedule.id < decode_token(page_token))
    rows = list(query.limit(page_size + 1))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return [_view(row) for row in rows], encode_token(rows[-1].id) if more else ""


def list_runs(name: str, *, limit: int = 50) -> list[ScheduleRunView]:
    """The schedule's runs, newest first."""
    if not 1 <= limit <= MAX_RUNS_PAGE:
        raise InvalidRequest(f"must be between 1 and {MAX_RUNS_PAGE}", "limit")
    row = _row(name)
    query = ScheduleRun.select().where(ScheduleRun.schedule == row.id).order_by(ScheduleRun.id.desc()).limit(limit)
    return [ScheduleRunView.of(run, row.name) for run in query]


# --- firing ------------------------------------------------------------------------------------------------------


@dataclass
class TickReport:
    """What one tick did (for the scheduler's log and the benchmark)."""

    fired: int = 0
    skipped: int = 0
    settled: int = 0
    retried: int = 0
    paused: int = 0
    next_due_in: float | None = None  # seconds until the next due time (None: nothing scheduled)


def _notify_event(settings: Settings, schedule: Schedule, event: str, message: str, due_at: dt.datetime) -> None:
    """A schedule event its owner must hear about (a skipped due time, a pause): in the in-app list and to the
    template's notification targets. The export's own end is notified through the job's spec policy."""
    from engine.services.notifications import schedule_event

    schedule_event(
        settings,
        schedule=schedule.name,
        template=schedule.template_name,
        event=event,
        reason=message,
        due_at=due_at.isoformat(),
        last_job_id=schedule.last_job_id,
    )


def _claim(schedule: Schedule, due_at: dt.datetime, trigger: str, status: str, **extra: Any) -> ScheduleRun | None:
    """Insert the run of (schedule, due_at, attempt); None when another process inserted it first."""
    try:
        with current_database().atomic():
            return ScheduleRun.create(schedule=schedule.id, due_at=due_at, trigger=trigger, status=status, **extra)
    except IntegrityError:
        return None


def _job_overrides(schedule: Schedule) -> dict[str, Any]:
    overrides = dict(schedule.overrides or {})
    if SPEC_HAS_NOTIFICATIONS and schedule.notifications:
        template_policy = dict(overrides.get("notifications") or {})
        overrides["notifications"] = {**template_policy, **schedule.notifications}
    return overrides


def _start_job(settings: Settings, schedule: Schedule, run: ScheduleRun, report: TickReport) -> None:
    """Create the run's export job, always queued; a schedule whose template or overrides no longer make an export
    is paused (with the reason) rather than failing at every due time."""
    try:
        job = jobs.create_export(
            settings,
            schedule.template_name,
            _job_overrides(schedule),
            requested_by=f"schedule:{schedule.name}",
            inline_allowed=False,
            template_version=schedule.template_version,
            schedule_id=schedule.id,
            due_at=run.due_at,
        )
    except (NotFound, InvalidRequest) as exc:
        reason = f"cannot run: {exc}"
        ScheduleRun.update(status="failed", reason=reason).where(ScheduleRun.id == run.id).execute()
        Schedule.update(
            failed=Schedule.failed + 1, last_status="failed", last_run_at=run.due_at, updated_at=utcnow()
        ).where(Schedule.id == schedule.id).execute()
        _pause_itself(settings, schedule, reason, run.due_at)
        report.paused += 1
        return
    except ExportsError as exc:  # Redis does not answer: no job, a failed run
        _settle_failed(settings, schedule, run, f"no job was created: {exc}", report)
        return
    ScheduleRun.update(job=job.id).where(ScheduleRun.id == run.id).execute()
    Schedule.update(
        runs=Schedule.runs + 1, last_run_at=run.due_at, last_status="queued", last_job_id=job.id, updated_at=utcnow()
    ).where(Schedule.id == schedule.id).execute()
    report.fired += 1


def _pause_itself(settings: Settings, schedule: Schedule, reason: str, due_at: dt.datetime) -> None:
    """Pause the schedule and record it as a run of its own (attempt -1 of the due time whose run made it pause)."""
    Schedule.update(enabled=False, paused_reason=reason, next_run_at=None, updated_at=utcnow()).where(
        Schedule.id == schedule.id
    ).execute()
    _claim(schedule, due_at, "pause", "paused", reason=reason, attempt=-1)
    _notify_event(settings, schedule, "schedule.paused", f"paused itself: {reason}", due_at)


def _running_job(schedule: Schedule) -> ExportJob | None:
    """The schedule's newest job when it is still queued or running."""
    if schedule.last_job_id is None:
        return None
    job = ExportJob.get_or_none(ExportJob.id == schedule.last_job_id)
    return job if job is not None and job.status not in TERMINAL else None


def _due_times(schedule: Schedule, now: dt.datetime) -> tuple[list[dt.datetime], dt.datetime]:
    """The due times of a schedule at or before `now` (the first MAX_DUE_SCAN, and the last), and its next one."""
    frequency, tz = _frequency(schedule)
    due = [schedule.next_run_at]
    cursor = _aware(schedule.next_run_at)
    while len(due) < MAX_DUE_SCAN:
        cursor = next_fire(frequency, tz, cursor)
        if cursor.replace(tzinfo=None) > now:
            return due, cursor.replace(tzinfo=None)
        due.append(cursor.replace(tzinfo=None))
    following = next_fire(frequency, tz, _aware(now)).replace(tzinfo=None)
    return due, following


def _fire_schedule(settings: Settings, schedule: Schedule, now: dt.datetime, report: TickReport) -> None:
    due, following = _due_times(schedule, now)
    latest = due[-1]
    on_time = now - latest <= MISSED_GRACE
    missed = due[:-1] if on_time else due
    if missed and schedule.catch_up == "none":
        count = f"{len(missed)}{'+' if len(due) >= MAX_DUE_SCAN else ''}"
        reason = f"{count} due time(s) missed while no scheduler ran, not caught up (catch-up: none)"
        if _claim(schedule, missed[0], "due", "skipped", reason=reason):
            report.skipped += 1
            _notify_event(settings, schedule, "schedule.skipped", reason, missed[0])
    if on_time or schedule.catch_up == "once":
        trigger = "due" if not missed else "catch_up"
        note = f"once for {len(missed) + int(on_time)} due times missed while no scheduler ran" if missed else None
        running = _running_job(schedule) if schedule.overlap == "skip" else None
        if running is not None:
            reason = f"the previous run (job {running.id}) is still {running.status} (overlap: skip)"
            if _claim(schedule, latest, trigger, "skipped", reason=reason):
                report.skipped += 1
                _notify_event(settings, schedule, "schedule.skipped", reason, latest)
        else:
            run = _claim(schedule, latest, trigger, "queued", reason=note)
            if run is not None:
                _start_job(settings, schedule, run, report)
    # compare-and-set: a process that read this schedule late never moves it backwards
    Schedule.update(next_run_at=following).where(
        (Schedule.id == schedule.id) & (Schedule.next_run_at == schedule.next_run_at) & (Schedule.enabled == True)  # noqa: E712
    ).execute()


def fire_due(settings: Settings, now: dt.datetime | None = None, *, limit: int = FIRE_BATCH) -> TickReport:
    """Fire the schedules due at `now`: one export job per due time (or a recorded skip), then their next due
    time. Reads only the due schedules (index on next_run_at)."""
    now = _now(now)
    report = TickReport()
    due = Schedule.select().where((Schedule.next_run_at <= now) & (Schedule.enabled == True))  # noqa: E712
    for schedule in due.order_by(Schedule.next_run_at).limit(limit):
        try:
            _fire_schedule(settings, schedule, now, report)
        except Exception:
            log.exception("schedule %s could not be fired; trying again at the next tick", schedule.name)
    soonest = Schedule.select(fn.MIN(Schedule.next_run_at)).where(Schedule.enabled == True).scalar()  # noqa: E712
    if soonest is not None:
        report.next_due_in = max(0.0, (soonest - utcnow()).total_seconds())
    return report


def run_now(
    settings: Settings, name: str, *, requested_by: str = "api", now: dt.datetime | None = None
) -> ScheduleRunView:
    """Run a schedule now, like a due time, without moving its next due time (also when it is paused)."""
    schedule = _row(name)
    run = _claim(schedule, _now(now), "manual", "queued", reason=f"run now by {requested_by}")
    if run is None:
        raise RetryableError("another manual run was claimed at the same instant; try again", 1.0)
    report = TickReport()
    _start_job(settings, schedule, run, report)
    if not report.fired:
        run = ScheduleRun.get_by_id(run.id)
        raise InvalidState(f"schedule {name!r}: {run.reason}")
    return ScheduleRunView.of(ScheduleRun.get_by_id(run.id), schedule.name)


def _settle_failed(settings: Settings, schedule: Schedule, run: ScheduleRun, reason: str, report: TickReport) -> None:
    """A run failed: retry it (after its backoff) while the retry policy allows, else count it as a failed run and
    pause the schedule after `max_failures` of them in a row."""
    ScheduleRun.update(status="failed", reason=reason).where(ScheduleRun.id == run.id).execute()
    if run.attempt < schedule.retry_count and run.job_id is not None:
        backoff = dt.timedelta(seconds=schedule.retry_backoff * 2**run.attempt)
        retry = _claim(
            schedule, run.due_at, "retry", "waiting", attempt=run.attempt + 1, job=run.job_id,
            retry_at=utcnow() + backoff, reason=f"retry {run.attempt + 1} of {schedule.retry_count} after: {reason}",
        )  # fmt: skip
        if retry is not None:
            Schedule.update(last_status="retrying", updated_at=utcnow()).where(Schedule.id == schedule.id).execute()
        return
    Schedule.update(
        failed=Schedule.failed + 1,
        consecutive_failures=Schedule.consecutive_failures + 1,
        last_status="failed",
        updated_at=utcnow(),
    ).where(Schedule.id == schedule.id).execute()
    fresh = Schedule.get_by_id(schedule.id)
    if fresh.enabled and fresh.consecutive_failures >= fresh.max_failures:
        _pause_itself(settings, fresh, f"{fresh.consecutive_failures} consecutive failed runs", run.due_at)
        report.paused += 1


def settle_runs(settings: Settings, report: TickReport | None = None) -> TickReport:
    """Record the end of the runs whose job ended: counters, last status, retries and self-pause."""
    report = report or TickReport()
    ended = (
        ScheduleRun.select(ScheduleRun, ExportJob.id, ExportJob.status, ExportJob.error)
        .join(ExportJob)
        .where((ScheduleRun.status == "queued") & ExportJob.status.in_(TERMINAL))
    )
    for run in ended:
        status = run.job.status
        # compare-and-set: one scheduler settles a run
        if (
            not ScheduleRun.update(status=status)
            .where((ScheduleRun.id == run.id) & (ScheduleRun.status == "queued"))
            .execute()
        ):
            continue
        report.settled += 1
        schedule = Schedule.get_by_id(run.schedule_id)
        if status == "failed":
            _settle_failed(settings, schedule, run, run.job.error or "the export failed", report)
            continue
        counter = {"succeeded": Schedule.succeeded, "partial": Schedule.partial}.get(status)
        changes: dict[Any, Any] = {Schedule.last_status: status, Schedule.updated_at: utcnow()}
        if counter is not None:
            changes[counter] = counter + 1
            changes[Schedule.consecutive_failures] = 0
        Schedule.update(changes).where(Schedule.id == schedule.id).execute()
    _give_up_orphaned_runs()
    return report


def _give_up_orphaned_runs() -> None:
    """Runs claimed by a scheduler that stopped before creating their job (or whose job was deleted) end failed
    with the reason, rather than staying queued for ever."""
    orphaned = (
        (ScheduleRun.status == "queued")
        & ScheduleRun.job.is_null()
        & (ScheduleRun.created_at < utcnow() - ORPHANED_AFTER)
    )
    reason = "no job: the scheduler stopped before creating it, or the job was deleted"
    ScheduleRun.update(status="failed", reason=reason).where(orphaned).execute()


def start_retries(settings: Settings, now: dt.datetime | None = None, report: TickReport | None = None) -> TickReport:
    """Start the retries whose backoff has passed: the failed job run again (same snapshot), linked to its due time."""
    report = report or TickReport()
    now = _now(now)
    waiting = ScheduleRun.select().where((ScheduleRun.status == "waiting") & (ScheduleRun.retry_at <= now))
    for run in waiting:
        if (
            not ScheduleRun.update(status="queued")
            .where((ScheduleRun.id == run.id) & (ScheduleRun.status == "waiting"))
            .execute()
        ):
            continue
        schedule = Schedule.get_by_id(run.schedule_id)
        if not schedule.enabled:
            reason = f"not retried: the schedule is paused ({schedule.paused_reason})"
            ScheduleRun.update(status="skipped", reason=reason).where(ScheduleRun.id == run.id).execute()
            continue
        try:
            job = jobs.retry_job(settings, run.job_id, requested_by=f"schedule:{schedule.name}")
        except ExportsError as exc:
            _settle_failed(settings, schedule, run, f"the retry could not start: {exc}", report)
            continue
        ExportJob.update(schedule_id=schedule.id, due_at=run.due_at).where(ExportJob.id == job.id).execute()
        ScheduleRun.update(job=job.id).where(ScheduleRun.id == run.id).execute()
        Schedule.update(last_job_id=job.id, last_status="queued").where(Schedule.id == schedule.id).execute()
        report.retried += 1
    return report


def tick(settings: Settings, now: dt.datetime | None = None) -> TickReport:
    """One pass of the scheduler: settle ended runs, start due retries, fire due schedules."""
    report = settle_runs(settings)
    start_retries(settings, now, report)
    fired = fire_due(settings, now)
    report.fired, report.skipped, report.paused = fired.fired, fired.skipped, report.paused + fired.paused
    report.next_due_in = fired.next_due_in
    return report
