"""Schedules: fire times across the 2027 Paris DST changes (expected UTC instants written out), validation with the
field named, and the firing with an injected clock on a real database and Redis: one job per due time, catch-up
after downtime, overlap, retries then self-pause, resume, run now, disabled and deleted-template schedules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from engine.errors import InvalidRequest
from engine.jobs.recurrence import fire_times, parse_frequency
from engine.models import ExportJob, Schedule, ScheduleRun
from engine.services import jobs, schedules, templates
from engine.services.notifications import list_notifications, summary_text
from engine.settings import Settings
from tests.small_catalog import build_small_catalog

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def times(frequency: str, after: str, count: int) -> list[str]:
    found = fire_times(parse_frequency(frequency), PARIS, utc(after), count)
    return [t.strftime("%Y-%m-%d %H:%M") for t in found]


# 2027: spring forward on Sunday 28 March (02:00 -> 03:00), fall back on Sunday 31 October (03:00 -> 02:00)
@pytest.mark.parametrize(
    ("frequency", "after", "expected"),
    [
        ("daily 06:00", "2027-03-27 00:00", ["2027-03-27 05:00", "2027-03-28 04:00", "2027-03-29 04:00"]),
        ("daily 06:00", "2027-10-30 00:00", ["2027-10-30 04:00", "2027-10-31 05:00", "2027-11-01 05:00"]),
        # 02:30 does not exist on 28 March: once, at the first valid instant after it (03:00 CEST)
        ("daily 02:30", "2027-03-27 00:00", ["2027-03-27 01:30", "2027-03-28 01:00", "2027-03-29 00:30"]),
        # 02:30 exists twice on 31 October: once, at the first (CEST) occurrence
        ("daily 02:30", "2027-10-30 00:00", ["2027-10-30 00:30", "2027-10-31 00:30", "2027-11-01 01:30"]),
        ("weekly sun,wed 02:30", "2027-03-24 12:00", ["2027-03-28 01:00", "2027-03-31 00:30", "2027-04-04 00:30"]),
        ("weekly sun 02:30", "2027-10-25 00:00", ["2027-10-31 00:30", "2027-11-07 01:30"]),
        ("monthly 31 06:00", "2027-01-01 00:00", ["2027-01-31 05:00", "2027-02-28 05:00", "2027-03-31 04:00"]),
        ("monthly 31 06:00", "2027-09-01 00:00", ["2027-09-30 04:00", "2027-10-31 05:00", "2027-11-30 05:00"]),
        ("monthly last 02:30", "2027-02-01 00:00", ["2027-02-28 01:30", "2027-03-31 00:30", "2027-04-30 00:30"]),
        ("cron 30 2 * * *", "2027-03-27 12:00", ["2027-03-28 01:00", "2027-03-29 00:30"]),
        ("cron 30 2 * * *", "2027-10-30 12:00", ["2027-10-31 00:30", "2027-11-01 01:30"]),
        # every 20 minutes between 02:00 and 02:59: the skipped hour gives one run at 03:00 CEST
        ("cron */20 2 * * *", "2027-03-27 23:00", ["2027-03-28 01:00", "2027-03-29 00:00", "2027-03-29 00:20"]),
        # the repeated hour runs each wall time once
        ("cron */20 2 * * *", "2027-10-30 23:00", ["2027-10-31 00:00", "2027-10-31 00:20", "2027-10-31 00:40"]),
        # elapsed time: DST neither doubles nor drops a run
        ("every 30 minutes", "2027-03-28 00:10", ["2027-03-28 00:30", "2027-03-28 01:00", "2027-03-28 01:30"]),
        ("every 30 minutes", "2027-10-31 00:10", ["2027-10-31 00:30", "2027-10-31 01:00", "2027-10-31 01:30"]),
        ("every 6 hours", "2027-10-30 23:00", ["2027-10-31 00:00", "2027-10-31 06:00"]),
    ],
)
def test_fire_times_across_the_2027_paris_dst_changes(frequency: str, after: str, expected: list[str]) -> None:
    assert times(frequency, after, len(expected)) == expected


def test_fire_times_do_not_depend_on_the_machine_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        assert times("daily 06:00", "2027-03-27 00:00", 2) == ["2027-03-27 05:00", "2027-03-28 04:00"]
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("frequency", "message"),
    [
        ("cron 61 * * * *", "frequency: invalid cron expression '61 * * * *': minute must be 0-59"),
        ("cron 0 25 * * *", "hour must be 0-23"),
        ("cron * * * *", "expected 5 fields, got 4"),
        ("cron 0 0 30 2 *", "never fires"),
        ("every 4 minutes", "interval of 4 minutes: must be between 5 minutes and 31 days"),
        ("monthly 0 06:00", "invalid day of month '0': must be 1-31 or last"),
        ("monthly 32 06:00", "invalid day of month '32'"),
        ("daily 24:00", "invalid time '24:00'"),
        ("weekly funday 06:00", "invalid days 'funday'"),
        ("hourly", "invalid frequency 'hourly'"),
    ],
)
def test_bad_frequencies_are_refused_naming_the_field(frequency: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^frequency: ") as caught:
        parse_frequency(frequency)
    assert message in str(caught.value)


# --- firing ---------------------------------------------------------------------------------------------------


@pytest.fixture
def env(sqlite_db: Settings, redis_url: str) -> Iterator[Settings]:
    build_small_catalog()
    yield sqlite_db.with_(redis_url=redis_url)


T0 = dt.datetime(2027, 3, 1, 9, 0)  # naive UTC, a Monday


def make(settings: Settings, name: str = "feed", **values: object) -> None:
    schedules.create_schedule(
        settings, name, {"template": "Standard CSV", "frequency": "every 5 minutes", **values}, now=T0
    )


def scheduled_jobs(name: str = "feed") -> list[ExportJob]:
    return list(
        ExportJob.select().where(ExportJob.schedule_id == schedules.schedule_id_of(name)).order_by(ExportJob.id)
    )


def end_job(job_id: int, status: str) -> None:
    ExportJob.update(status=status, phase=status, error="boom" if status == "failed" else None).where(
        ExportJob.id == job_id
    ).execute()


def test_bad_schedules_are_refused_naming_the_field(env: Settings) -> None:
    cases = [
        ({"template": "Nope"}, "template: no template named 'Nope'"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        ({"frequency": "cron 61 * * * *"}, "minute must be 0-59"),
        ({"frequency": "every 2 minutes"}, "frequency: interval of 2 minutes"),
        ({"frequency": "monthly 32 06:00"}, "frequency: invalid day of month '32'"),
        ({"overlap": "maybe"}, "overlap: 'maybe' is not one of skip, queue"),
        ({"retry_count": 11}, "retry_count: 11: must be a whole number between 0 and 10"),
        ({"template_version": 99}, "template_version: template 'Standard CSV' has no version 99"),
        ({"overrides": {"selection": {"colour": "red"}}}, "unknown selection criterion"),
    ]
    for values, message in cases:
        with pytest.raises(InvalidRequest) as caught:
            make(env, **values)
        assert message in str(caught.value)
    assert Schedule.select().count() == 0


def test_default_time_zone_and_preview(env: Settings) -> None:
    schedules.create_schedule(env, "paris", {"template": "Standard CSV", "frequency": "daily 06:00"}, now=T0)
    view = schedules.get_schedule("paris")
    assert view.timezone == "Europe/Paris"
    assert view.next_run_at == dt.datetime(2027, 3, 2, 5, 0)  # 06:00 in Paris (CET) after 09:00 UTC on 1 March
    preview = schedules.preview_next_runs("paris", 3, after=dt.datetime(2027, 3, 27, 0, 0))
    assert [p.utc.strftime("%d %H:%M") for p in preview] == ["27 05:00", "28 04:00", "29 04:00"]
    assert [p.local.strftime("%d %H:%M %Z") for p in preview] == ["27 06:00 CET", "28 06:00 CEST", "29 06:00 CEST"]


def test_each_due_time_fires_one_queued_job_linked_to_it(env: Settings) -> None:
    make(env, overlap="queue")
    due = dt.datetime(2027, 3, 1, 9, 5)
    assert schedules.fire_due(env, due).fired == 1
    assert schedules.fire_due(env, due + dt.timedelta(seconds=30)).fired == 0  # the same due time again
    (job,) = scheduled_jobs()
    assert (job.status, job.due_at, job.requested_by) == ("queued", due, "schedule:feed")
    view = jobs.get_job(job.id)
    assert (view.schedule, view.due_at) == ("feed", due)
    listed, _ = jobs.list_jobs(schedule="feed")
    assert [j.id for j in listed] == [job.id]
    assert schedules.get_schedule("feed").next_run_at == dt.datetime(2027, 3, 1, 9, 10)
    assert schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 10)).fired == 1
    assert len(scheduled_jobs()) == 2


@pytest.mark.parametrize(("catch_up", "jobs_after"), [("once", 1), ("none", 0)])
def test_after_three_missed_due_times_catch_up_runs_once_or_never(
    env: Settings, catch_up: str, jobs_after: int
) -> None:
    make(env, catch_up=catch_up, overlap="queue")
    # the scheduler was down over 09:05, 09:10 and 09:15; it starts again at 09:17
    report = schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 17))
    assert len(scheduled_jobs()) == jobs_after
    runs = schedules.list_runs("feed")
    assert len(runs) == 1
    if catch_up == "once":
        assert (runs[0].trigger, runs[0].status, runs[0].due_at) == (
            "catch_up",
            "queued",
            dt.datetime(2027, 3, 1, 9, 15),
        )
        assert "3 due times missed" in (runs[0].reason or "")
    else:
        assert report.skipped == 1 and runs[0].status == "skipped"
        assert "3 due time(s) missed" in (runs[0].reason or "")
    assert schedules.get_schedule("feed").next_run_at == dt.datetime(2027, 3, 1, 9, 20)


def test_overlap_skip_records_the_skipped_due_time_with_the_reason(env: Settings) -> None:
    make(env)  # overlap: skip (default)
    schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 5))
    (job,) = scheduled_jobs()
    assert schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 10)).skipped == 1
    skipped = schedules.list_runs("feed")[0]
    assert skipped.status == "skipped"
    assert skipped.reason == f"the previous run (job {job.id}) is still queued (overlap: skip)"
    end_job(job.id, "succeeded")
    schedules.settle_runs(env)
    assert schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 15)).fired == 1
    view = schedules.get_schedule("feed")
    assert (view.runs, view.succeeded, view.last_status) == (2, 1, "queued")
    (notified,) = [n for n in list_notifications()[0] if n.event == "schedule.skipped"]
    assert notified.summary["reason"] == skipped.reason and notified.title.endswith("feed: skipped a due time")


def test_a_failed_run_retries_then_the_schedule_pauses_after_k_failures_and_resume_clears_it(env: Settings) -> None:
    make(env, retry_count=1, retry_backoff=1, max_failures=2, overlap="queue")
    for minute in (5, 10):
        schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, minute))
        first = scheduled_jobs()[-1]
        end_job(first.id, "failed")
        schedules.settle_runs(env)
        waiting = schedules.list_runs("feed")[0]
        assert (waiting.status, waiting.attempt, waiting.trigger) == ("waiting", 1, "retry")
        schedules.start_retries(env, now=dt.datetime.now(UTC) + dt.timedelta(seconds=5))
        retry = scheduled_jobs()[-1]
        assert retry.id != first.id and retry.due_at == first.due_at and retry.spec == first.spec
        end_job(retry.id, "failed")
        schedules.settle_runs(env)
    view = schedules.get_schedule("feed")
    assert (view.enabled, view.failed, view.consecutive_failures) == (False, 2, 2)
    assert view.paused_reason == "2 consecutive failed runs"
    assert view.next_run_at is None
    assert schedules.list_runs("feed")[0].status == "paused"
    assert schedules.fire_due(env, dt.datetime(2027, 3, 1, 10, 0)).fired == 0
    resumed = schedules.resume_schedule("feed", now=dt.datetime(2027, 3, 1, 10, 1))
    assert (resumed.enabled, resumed.consecutive_failures, resumed.next_run_at) == (
        True, 0, dt.datetime(2027, 3, 1, 10, 5),
    )  # fmt: skip


def test_a_claimed_run_whose_job_never_came_ends_failed_with_the_reason(env: Settings) -> None:
    make(env)
    schedule = Schedule.get(Schedule.name == "feed")
    claimed = dt.datetime.now(UTC).replace(tzinfo=None) - dt.timedelta(minutes=6)
    ScheduleRun.create(schedule=schedule, due_at=T0, trigger="due", status="queued", created_at=claimed)
    schedules.settle_runs(env)
    (run,) = schedules.list_runs("feed")
    assert run.status == "failed" and "the scheduler stopped before creating it" in (run.reason or "")


def test_run_now_makes_a_job_without_moving_the_next_due_time(env: Settings) -> None:
    make(env)
    before = schedules.get_schedule("feed").next_run_at
    run = schedules.run_now(env, "feed", requested_by="cli", now=dt.datetime(2027, 3, 1, 9, 2))
    assert run.trigger == "manual" and run.job_id is not None
    assert ExportJob.get_by_id(run.job_id).schedule_id == schedules.schedule_id_of("feed")
    assert schedules.get_schedule("feed").next_run_at == before


def test_a_disabled_schedule_never_fires(env: Settings) -> None:
    make(env, enabled=False)
    assert schedules.get_schedule("feed").next_run_at is None
    for hour in range(9, 14):
        assert schedules.fire_due(env, dt.datetime(2027, 3, 1, hour, 0)).fired == 0
    assert scheduled_jobs() == [] and ScheduleRun.select().count() == 0


def test_a_schedule_whose_template_was_deleted_fails_clearly_and_pauses(env: Settings) -> None:
    templates.copy_template("Standard CSV", "Mine")
    make(env, template="Mine")
    templates.delete_template("Mine")
    report = schedules.fire_due(env, dt.datetime(2027, 3, 1, 9, 5))
    assert report.paused == 1 and report.fired == 0
    paused, failed = schedules.list_runs("feed")
    assert failed.status == "failed" and "template" in (failed.reason or "") and "Mine" in (failed.reason or "")
    assert paused.status == "paused"
    view = schedules.get_schedule("feed")
    assert not view.enabled and "Mine" in (view.paused_reason or "")
    (notified,) = [n for n in list_notifications()[0] if n.event == "schedule.paused"]
    assert "Mine" in notified.summary["reason"] and notified.title.endswith("feed: paused itself")
    assert summary_text(notified).splitlines()[2].startswith("Schedule feed (template Mine), due 2027-03-01T09:05")


def test_the_command_line_manages_schedules_with_the_same_errors(env: Settings) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    variables = {"PM_EXPORTS_VAR_DIR": str(env.var_dir), "REDIS_URL": env.redis_url, "DATABASE_URL": ""}

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=variables, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    out = cli("schedules", "create", "feed", "--template", "Standard CSV", "--frequency", "weekly mon 06:00")
    assert "weekly mon 06:00 (Europe/Paris), enabled" in out
    bad = cli("schedules", "create", "x", "--template", "Standard CSV", "--frequency", "cron 61 * * * *", code=2)
    assert "frequency: invalid cron expression '61 * * * *': minute must be 0-59" in bad
    assert "unknown time zone 'Nowhere'" in cli(
        "schedules", "create", "x", "--template", "Standard CSV", "--frequency", "daily 06:00", "--timezone",
        "Nowhere", code=2,
    )  # fmt: skip
    assert "CET" in cli("schedules", "next", "feed", "--count", "2") or "CEST" in cli("schedules", "next", "feed")
    job_id = int(cli("schedules", "run-now", "feed").split("#")[1].split()[0])
    assert f"#{job_id}\tqueued" in cli("jobs", "list", "--schedule", "feed")
    assert "run of schedule feed due " in cli("jobs", "show", str(job_id))
    assert "manual" in cli("schedules", "runs", "feed")
    assert "paused (paused by request)" in cli("schedules", "pause", "feed")
    assert "enabled" in cli("schedules", "resume", "feed")
    assert "every 2 hours" in cli("schedules", "update", "feed", "--frequency", "every 2 hours")
    cli("schedules", "delete", "feed")
    assert "no schedule named 'feed'" in cli("schedules", "show", "feed", code=2)
