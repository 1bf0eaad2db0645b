"""Maintenance duties the scheduler process calls: the daily purge, and the watch over abandoned and waiting jobs.
Each is guarded in Redis so that several scheduler processes never do it twice."""

from __future__ import annotations

import datetime as dt
import logging

from engine.jobs.queues import get_queue, key, redis_for
from engine.jobs.tasks import watch_jobs
from engine.settings import Settings

log = logging.getLogger(__name__)


def enqueue_daily_maintenance(settings: Settings, today: dt.date | None = None) -> bool:
    """Queue the purge of expired artifacts once per day, whatever the number of schedulers."""
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    if not redis_for(settings).set(key("maintenance", "purge", day), 1, nx=True, ex=3 * 24 * 3600):
        return False
    get_queue(settings, "maintenance").enqueue(
        "engine.jobs.tasks.purge_expired_artifacts",
        job_id=f"{key('purge-artifacts', day)}".replace(":", "-"),
        description="purge expired artifacts",
    )
    log.info("daily maintenance queued", extra={"day": day})
    return True


def watch(settings: Settings) -> list[int]:
    """Resume the jobs whose worker died and start the waiting ones that have a slot; returns the resumed."""
    return watch_jobs(settings)
