"""`pm-exports schedules create|update|list|show|pause|resume|run-now|runs|next|delete` and `pm-exports jobs list`:
thin callers of engine.services.schedules and engine.services.jobs, with the same validation and errors."""

from __future__ import annotations

from typing import Any

import click
import orjson

from engine.cli import AppContext, handle_errors, pass_app
from engine.cli.integrations import jobs as jobs_group
from engine.services.views import ScheduleView

MAX_OVERRIDES = 256 * 1024


def register(main: click.Group) -> None:
    main.add_command(schedules)


@click.group()
def schedules() -> None:
    """Recurring exports: a template on a frequency, in a time zone, fired by `pm-exports scheduler`."""


def _overrides(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    if len(text) > MAX_OVERRIDES:
        raise click.BadParameter(f"at most {MAX_OVERRIDES} characters of JSON", param_hint="--overrides")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise click.BadParameter("must be a JSON object", param_hint="--overrides") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--overrides")
    return value


def _fields(**options: Any) -> dict[str, Any]:
    """The schedule fields given on the command line (None means not given)."""
    names = {"retries": "retry_count", "template_version": "template_version"}
    values = {names.get(k, k): v for k, v in options.items() if v is not None}
    if "overrides" in values:
        values["overrides"] = _overrides(values["overrides"])
    return values


def _show(view: ScheduleView) -> None:
    state = "enabled" if view.enabled else f"paused ({view.paused_reason or 'disabled'})"
    pinned = f" v{view.template_version}" if view.template_version else ""
    click.echo(f"{view.name}: {view.template}{pinned}, {view.frequency} ({view.timezone}), {state}")
    click.echo(f"  next run   {view.next_run_at:%Y-%m-%d %H:%M} UTC" if view.next_run_at else "  next run   -")
    if view.last_run_at:
        click.echo(f"  last run   {view.last_run_at:%Y-%m-%d %H:%M} UTC: {view.last_status}")
    click.echo(
        f"  runs {view.runs}: {view.succeeded} succeeded, {view.partial} partial, {view.failed} failed"
        f" ({view.consecutive_failures} in a row)"
    )
    click.echo(
        f"  overlap {view.overlap}, catch-up {view.catch_up}, retries {view.retry_count} (backoff {view.retry_backoff}"
        f" s), pause after {view.max_failures} failures, notify on {view.notify}"
    )
    if view.overrides:
        click.echo(f"  overrides {orjson.dumps(dict(view.overrides)).decode()}")


field_options = [
    click.option("--template", help="Template to export (its current version at each run)."),
    click.option("--template-version", type=int, help="Pin this version of the template."),
    click.option("--frequency", help="daily HH:MM | weekly mon,thu HH:MM | monthly N|last HH:MM | "
                 "every N minutes|hours | cron 'M H DoM Mon DoW'."),
    click.option("--timezone", help="IANA time zone (default PM_EXPORTS_DEFAULT_TIMEZONE)."),
    click.option("--overrides", help="Export overrides as a JSON object (selection, options, deliveries...)."),
    click.option("--overlap", type=click.Choice(["skip", "queue"]), help="When the previous run is still going."),
    click.option("--catch-up", type=click.Choice(["once", "none"]), help="After downtime: run once, or not."),
    click.option("--retries", type=int, help="Retries of a failed run (0-10)."),
    click.option("--retry-backoff", type=int, help="Seconds before the first retry, doubled each time."),
    click.option("--max-failures", type=int, help="Consecutive failed runs before the schedule pauses itself."),
    click.option("--notify", type=click.Choice(["failure", "always", "warnings"]), help="When to notify."),
    click.option("--warn-excluded-percent", type=float, help="With --notify warnings: exclusions above this %."),
]  # fmt: skip


def with_field_options(func: Any) -> Any:
    for option in reversed(field_options):
        func = option(func)
    return func


@schedules.command("create")
@click.argument("name")
@with_field_options
@click.option("--disabled", is_flag=True, help="Create it paused.")
@pass_app
@handle_errors
def create(app: AppContext, name: str, disabled: bool, **options: Any) -> None:
    """Create a schedule (--template and --frequency required)."""
    from engine.services.schedules import create_schedule

    app.open_db()
    _show(create_schedule(app.settings, name, {**_fields(**options), "enabled": not disabled}))


@schedules.command("update")
@click.argument("name")
@with_field_options
@click.option("--enable/--disable", "enabled", default=None, help="Enable or disable it.")
@pass_app
@handle_errors
def update(app: AppContext, name: str, enabled: bool | None, **options: Any) -> None:
    """Change some fields of a schedule (its next due time is computed again)."""
    from engine.services.schedules import update_schedule

    app.open_db()
    _show(update_schedule(app.settings, name, _fields(enabled=enabled, **options)))


@schedules.command("list")
@pass_app
@handle_errors
def list_(app: AppContext) -> None:
    """The schedules with their next run and last status."""
    from engine.services.schedules import list_schedules

    app.open_db()
    for view in list_schedules():
        when = f"{view.next_run_at:%Y-%m-%d %H:%M} UTC" if view.next_run_at else "paused"
        click.echo(f"{view.name}\t{view.frequency} ({view.timezone})\tnext {when}\tlast {view.last_status or '-'}")


@schedules.command("show")
@click.argument("name")
@pass_app
@handle_errors
def show(app: AppContext, name: str) -> None:
    """One schedule with its policies and counts."""
    from engine.services.schedules import get_schedule

    app.open_db()
    _show(get_schedule(name))


@schedules.command("pause")
@click.argument("name")
@pass_app
@handle_errors
def pause(app: AppContext, name: str) -> None:
    """Stop firing a schedule."""
    from engine.services.schedules import pause_schedule

    app.open_db()
    _show(pause_schedule(name))


@schedules.command("resume")
@click.argument("name")
@pass_app
@handle_errors
def resume(app: AppContext, name: str) -> None:
    """Fire it again from its next due time; clears its consecutive failures."""
    from engine.services.schedules import resume_schedule

    app.open_db()
    _show(resume_schedule(name))


@schedules.command("run-now")
@click.argument("name")
@pass_app
@handle_errors
def run_now(app: AppContext, name: str) -> None:
    """Queue a run now (the next due time does not move)."""
    from engine.services.schedules import run_now as run_schedule_now

    app.open_db()
    run = run_schedule_now(app.settings, name, requested_by="cli")
    click.echo(f"job #{run.job_id} queued for schedule {name}")


@schedules.command("runs")
@click.argument("name")
@click.option("--limit", default=20, show_default=True, help="How many, newest first (1-500).")
@pass_app
@handle_errors
def runs(app: AppContext, name: str, limit: int) -> None:
    """A schedule's runs: due time, trigger, status, job, reason."""
    from engine.services.schedules import list_runs

    app.open_db()
    for run in list_runs(name, limit=limit):
        job = f"job #{run.job_id}" if run.job_id else "no job"
        reason = f"  {run.reason}" if run.reason else ""
        click.echo(f"{run.due_at:%Y-%m-%d %H:%M} UTC  {run.trigger:<8} {run.status:<9} {job}{reason}")


@schedules.command("next")
@click.argument("name")
@click.option("--count", default=5, show_default=True, help="How many fire times (1-100).")
@pass_app
@handle_errors
def next_(app: AppContext, name: str, count: int) -> None:
    """The next fire times, in the schedule's zone and in UTC."""
    from engine.services.schedules import preview_next_runs

    app.open_db()
    for fire in preview_next_runs(name, count):
        click.echo(f"{fire.local:%Y-%m-%d %H:%M %Z}\t{fire.utc:%Y-%m-%d %H:%M} UTC")


@schedules.command("delete")
@click.argument("name")
@pass_app
@handle_errors
def delete(app: AppContext, name: str) -> None:
    """Delete a schedule and its run history (its jobs stay)."""
    from engine.services.schedules import delete_schedule

    app.open_db()
    delete_schedule(name)
    click.echo(f"schedule {name} deleted")


@jobs_group.command("list")
@click.option("--schedule", help="Only the jobs of this schedule.")
@click.option("--status", "statuses", multiple=True, help="Only jobs in this status (repeatable).")
@click.option("--limit", default=20, show_default=True, help="How many, newest first (1-200).")
@pass_app
@handle_errors
def jobs_list(app: AppContext, schedule: str | None, statuses: tuple[str, ...], limit: int) -> None:
    """Jobs, newest first."""
    from engine.services.jobs import list_jobs

    app.open_db()
    found, _ = list_jobs(statuses=list(statuses), schedule=schedule, page_size=limit)
    for job in found:
        due = f"  due {job.due_at:%Y-%m-%d %H:%M} UTC" if job.due_at else ""
        click.echo(f"#{job.id}\t{job.status}\t{job.template_name}\t{job.created_at:%Y-%m-%d %H:%M}{due}")
