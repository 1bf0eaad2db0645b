"""The scheduler process's loop: every second (or at the next due time, when sooner) it calls its `fire` duty (the
due schedules, recurring exports), every 30 s its `maintain` duty (daily maintenance, the watch over abandoned,
waiting and lost jobs; the first tick at start), and RQ's scheduler runs in a thread of this process (it queues the
delayed retries again), so that no forked child is left behind. The duties are the services' (engine.services.
maintenance), handed in by the entry point: this layer sits below the services. Several scheduler processes may run
at once: each duty is guarded against being done twice."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from redis.exceptions import RedisError
from rq.scheduler import RQScheduler

from engine.db import connection
from engine.jobs.queues import QUEUE_NAMES, get_queue, redis_for
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


def run_scheduler(
    settings: Settings,
    stop: threading.Event,
    *,
    maintain: Callable[[Settings], object],
    fire: Callable[[Settings], float | None],
    schedule_tick: float = SCHEDULE_TICK_SECONDS,
) -> None:
    """Run until `stop` is set: `fire(settings)` fires the due schedules and returns the seconds until the next due
    time (None: none within reach); `maintain(settings)` does the periodic duties. A failing tick is logged and the
    next one tried."""
    rq_thread = threading.Thread(target=run_rq_scheduler, args=(settings, stop), name="rq-scheduler", daemon=True)
    rq_thread.start()
    next_maintenance = time.monotonic()
    try:
        while not stop.is_set():
            try:
                with connection():
                    if time.monotonic() >= next_maintenance:
                        next_maintenance = time.monotonic() + TICK_SECONDS
                        maintain(settings)
                    next_due_in = fire(settings)
                wait = schedule_tick if next_due_in is None else min(schedule_tick, next_due_in)
            except Exception:
                log.exception("scheduler tick failed; trying again at the next one")
                wait = schedule_tick
            stop.wait(wait)  # until the next due time when it comes within a tick
    finally:
        stop.set()
        rq_thread.join(timeout=10)
