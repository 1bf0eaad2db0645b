"""Duties the scheduler process calls: the daily maintenance (purge, stale work folders, inline jobs whose process is
gone), the watch over abandoned, waiting and lost jobs, and the firing of schedules. Each is guarded (in Redis, or
by the schedule runs' unique index) so that several scheduler processes never do it twice."""

from __future__ import annotations

import datetime as dt
import logging

from engine.jobs.queues import get_queue, key, redis_for
from engine.jobs.reconcile import close_orphaned_inline_jobs, reconcile_lost_jobs
from engine.jobs.tasks import watch_jobs
from engine.services import schedules
from engine.settings import Settings

log = logging.getLogger(__name__)


def enqueue_daily_maintenance(settings: Settings, today: dt.date | None = None) -> bool:
    """Queue the daily maintenance once per day, whatever the number of schedulers."""
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    if not redis_for(settings).set(key("maintenance", "purge", day), 1, nx=True, ex=3 * 24 * 3600):
        return False
    get_queue(settings, "maintenance").enqueue(
        "engine.jobs.tasks.daily_maintenance",
        job_id=f"{key('purge-artifacts', day)}".replace(":", "-"),
        description="daily maintenance: purge expired artifacts, stale work folders, orphaned inline jobs",
    )
    log.info("daily maintenance queued", extra={"day": day})
    return True


def maintain(settings: Settings) -> None:
    """The scheduler process's periodic duty (every 30 s): queue the daily maintenance, watch over the jobs."""
    enqueue_daily_maintenance(settings)
    watch(settings)


def fire_due(settings: Settings) -> float | None:
    """The scheduler process's duty every tick: fire the due schedules; the seconds until the next due time."""
    return fire_schedules(settings).next_due_in


def watch(settings: Settings) -> list[int]:
    """Resume the jobs whose worker died, start the waiting ones that have a slot, queue again (or fail) the jobs
    Redis lost, and close the inline jobs of this host whose process is gone; returns the jobs queued again."""
    resumed = watch_jobs(settings)
    reconciled = reconcile_lost_jobs(settings)
    close_orphaned_inline_jobs(settings)
    return resumed + reconciled.requeued


def fire_schedules(settings: Settings, now: dt.datetime | None = None) -> schedules.TickReport:
    """Settle the schedules' ended runs, start their due retries and fire the due schedules (one job per due time)."""
    report = schedules.tick(settings, now)
    if report.fired or report.skipped or report.paused or report.retried:
        log.info(
            "schedules: %d fired, %d skipped, %d retried, %d paused",
            report.fired, report.skipped, report.retried, report.paused, extra={"schedules": vars(report)},
        )  # fmt: skip
    return report
