"""The scheduler process: every second (or at the next due time, when sooner) it fires the due schedules (recurring
exports, through the services), every 30 s it calls the maintenance duties (daily maintenance, the watch over
abandoned, waiting and lost jobs; the first tick at start), and RQ's scheduler runs in a thread of this process (it
queues the delayed retries again), so that no forked child is left behind. Several scheduler processes may run at
once: each duty is guarded against being done twice."""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError
from rq.scheduler import RQScheduler

from engine.db import connection
from engine.jobs.queues import QUEUE_NAMES, get_queue, redis_for
from engine.services import maintenance
from engine.settings import Settings

log = logging.getLogger(__name__)
TICK_SECONDS = 30
SCHEDULE_TICK_SECONDS = 1.0
RQ_SCHEDULER_INTERVAL = 1.0


def run_rq_scheduler(settings: Settings, stop: threading.Event, interval: float = RQ_SCHEDULER_INTERVAL) -> None:
    """RQ's scheduler loop, in this thread: take (or refresh) its per-queue locks, then queue the jobs whose time
    has come. Survives Redis outages (the locks are taken again when Redis is back); releases its locks at the end."""
    scheduler = RQScheduler(
        [get_queue(settings, name) for name in QUEUE_NAMES], connection=redis_for(settings), interval=int(interval)
    )
    try:
        while not stop.is_set():
            try:
                if scheduler.should_reacquire_locks:
                    scheduler.acquire_locks()
                scheduler.heartbeat()
                scheduler.enqueue_scheduled_jobs()
            except RedisError as exc:
                log.warning("RQ scheduler: Redis does not answer (%s); trying again", exc)
                scheduler.lock_acquisition_time = None  # take the locks again as soon as Redis is back
            stop.wait(interval)
    finally:
        try:
            scheduler.release_locks()
        except RedisError:
            log.warning("RQ scheduler: could not release its locks (they expire by themselves)")


def run_scheduler(settings: Settings, stop: threading.Event, schedule_tick: float = SCHEDULE_TICK_SECONDS) -> None:
    rq_thread = threading.Thread(target=run_rq_scheduler, args=(settings, stop), name="rq-scheduler", daemon=True)
    rq_thread.start()
    next_maintenance = time.monotonic()
    try:
        while not stop.is_set():
            try:
                with connection():
                    if time.monotonic() >= next_maintenance:
                        next_maintenance = time.monotonic() + TICK_SECONDS
                        maintenance.enqueue_daily_maintenance(settings)
                        maintenance.watch(settings)
                    report = maintenance.fire_schedules(settings)
                wait = schedule_tick if report.next_due_in is None else min(schedule_tick, report.next_due_in)
            except Exception:
                log.exception("scheduler tick failed; trying again at the next one")
                wait = schedule_tick
            stop.wait(wait)  # until the next due time when it comes within a tick
    finally:
        stop.set()
        rq_thread.join(timeout=10)
