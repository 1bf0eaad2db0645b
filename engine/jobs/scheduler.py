"""The scheduler process: daily maintenance (expired artifacts), and a second watch for abandoned jobs.

Recurring exports (schedules) come with a later issue; each duty is guarded by a Redis key so that several
scheduler processes never do it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from engine.db import connection
from engine.jobs.queues import get_queue, key, redis_for
from engine.jobs.tasks import recover_abandoned
from engine.settings import Settings

log = logging.getLogger(__name__)
TICK_SECONDS = 30


def enqueue_daily_maintenance(settings: Settings, today: dt.date | None = None) -> bool:
    """Queue the purge of expired artifacts once per day, whatever the number of schedulers."""
    day = (today or dt.date.today()).isoformat()
    if not redis_for(settings).set(key("maintenance", "purge", day), 1, nx=True, ex=3 * 24 * 3600):
        return False
    get_queue(settings, "maintenance").enqueue(
        "engine.jobs.tasks.purge_expired_artifacts",
        job_id=f"purge-artifacts-{day}",
        description="purge expired artifacts",
    )
    log.info("daily maintenance queued", extra={"day": day})
    return True


def run_scheduler(settings: Settings, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with connection():
                enqueue_daily_maintenance(settings)
                recover_abandoned(settings)
        except Exception:
            log.exception("scheduler tick failed; trying again at the next one")
        stop.wait(TICK_SECONDS)
