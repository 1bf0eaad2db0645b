"""The RQ worker of PM Exports: runs tasks in its own process and watches for abandoned jobs.

Tasks run in the worker process itself (no fork per job): if the worker is killed, its job's lease stops being
refreshed, and any other worker's watcher queues the job again to resume from its last checkpoint. RQ's scheduler
(which queues delayed retries again) runs in `pm-exports scheduler`, and by default also in a process each worker
forks (RQ's locks let one of them work); `pm-exports run` turns the workers' off so that it owns every process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rq import SimpleWorker

from engine.db import connection
from engine.jobs.queues import QUEUE_NAMES, get_queue, redis_for
from engine.jobs.reconcile import reconcile_lost_jobs
from engine.jobs.tasks import set_runtime_settings, watch_jobs
from engine.settings import Settings

log = logging.getLogger(__name__)


def watch_abandoned(settings: Settings, stop: threading.Event) -> None:
    """Every third of a lease, queue again the running jobs whose worker stopped reporting, the waiting jobs for
    which a slot is free, and the jobs Redis lost."""
    interval = max(1.0, settings.job_lease_seconds / 3)
    while True:
        try:
            with connection():
                watch_jobs(settings)
                reconcile_lost_jobs(settings)
        except Exception:
            log.exception("looking for abandoned jobs failed; trying again later")
        if stop.wait(interval):
            return


def start_watcher(settings: Settings) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=watch_abandoned, args=(settings, stop), name="abandoned-jobs", daemon=True)
    thread.start()
    return thread, stop


def run_worker(
    settings: Settings,
    queues: list[str] | None = None,
    *,
    burst: bool = False,
    name: str | None = None,
    rq_scheduler: bool = True,
) -> bool:
    """Work on the queues until stopped (or until they are empty, with `burst`); `rq_scheduler` forks RQ's
    scheduler beside the worker."""
    names = queues or list(QUEUE_NAMES)
    set_runtime_settings(settings)
    worker_kwargs: dict[str, Any] = {"connection": redis_for(settings)}
    if name:
        worker_kwargs["name"] = name
    worker = SimpleWorker([get_queue(settings, q) for q in names], **worker_kwargs)
    thread, stop = start_watcher(settings)
    try:
        return bool(worker.work(burst=burst, with_scheduler=rq_scheduler, logging_level=settings.log_level.upper()))
    finally:
        stop.set()
        thread.join(timeout=5)
