"""RQ entry points: run a job (after taking a running-exports slot when its kind is limited), queue jobs, watch
for abandoned and waiting jobs, and the daily maintenance. The work itself is engine.jobs.runner's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from rq import Retry, get_current_job

from engine.catalog.models import utcnow
from engine.db import connection
from engine.jobs import runner
from engine.jobs.events import TERMINAL, publish_state
from engine.jobs.kinds import get_kind
from engine.jobs.notices import purge_old_notifications
from engine.jobs.queues import get_queue, key, redis_for
from engine.jobs.slots import JobSlots
from engine.jobs.state import job_key, next_attempt, was_queued
from engine.models import Artifact, ExportJob
from engine.pipeline.images.cache import prune_image_cache
from engine.settings import Settings
from engine.storage import open_store

log = logging.getLogger(__name__)

_runtime_settings: Settings | None = None


def set_runtime_settings(settings: Settings) -> None:
    """Called by the worker entry point: the settings that RQ tasks in this process use."""
    global _runtime_settings
    _runtime_settings = settings


def runtime_settings() -> Settings:
    if _runtime_settings is None:  # a worker started without our entry point (e.g. `rq worker`)
        set_runtime_settings(Settings.from_env())
    assert _runtime_settings is not None
    return _runtime_settings


def slots_for(settings: Settings) -> JobSlots:
    return JobSlots(redis_for(settings), settings.max_running_exports, settings.job_lease_seconds)


def rq_job_id(job_id: int, attempt: int) -> str:
    """The RQ job id of one attempt of a job."""
    return f"{key('job', job_id)}:{attempt}".replace(":", "-")


def enqueue_job(settings: Settings, job_id: int, kind: str | None = None) -> None:
    """Queue the job for a worker, on its kind's queue (a new RQ job per attempt)."""
    if kind is None:
        kind = ExportJob.get_by_id(job_id).kind
    attempt = next_attempt(settings, job_id)
    job_kind = get_kind(kind)
    intervals = job_kind.retry_intervals
    get_queue(settings, job_kind.queue).enqueue(
        "engine.jobs.tasks.run_job",
        job_id,
        job_id=rq_job_id(job_id, attempt),
        job_timeout=-1,
        retry=Retry(max=len(intervals), interval=intervals),
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"{kind} job {job_id}",
    )


def requeue_admitted(settings: Settings, job_ids: Iterable[int]) -> None:
    """Queue again the waiting jobs that were just given a slot."""
    for job_id in job_ids:
        job = ExportJob.get_or_none(ExportJob.id == job_id)
        if job is None or job.status in TERMINAL:
            slots_for(settings).release(job_id)
            continue
        enqueue_job(settings, job_id, job.kind)


def _rq_retries_left() -> bool:
    current = get_current_job()
    return current is not None and (current.retries_left or 0) > 0


def run_job(job_id: int) -> str:
    """RQ task: run the job; a job of a limited kind first takes a slot, or waits for one off the worker."""
    settings = runtime_settings()
    with connection():
        job = ExportJob.get_or_none(ExportJob.id == job_id)
        if job is None or job.status in TERMINAL:
            return "skipped"
        if not get_kind(job.kind).limited:
            return runner.execute(job_id, settings, can_retry=_rq_retries_left).status
        slots = slots_for(settings)
        admitted = slots.admit(job_id)
        requeue_admitted(settings, [i for i in admitted if i != job_id])
        if job_id not in admitted:
            if job.phase != "waiting":
                ExportJob.update(phase="waiting").where(ExportJob.id == job_id).execute()
                publish_state(settings, job_id, message="waiting for a slot")
            return "waiting"  # the worker is free again; whoever frees a slot queues this job again
        try:
            return runner.execute(job_id, settings, slots=slots, can_retry=_rq_retries_left).status
        finally:
            requeue_admitted(settings, slots.release(job_id))


def watch_jobs(settings: Settings) -> list[int]:
    """The periodic safety net (every worker and the scheduler): queue again the running jobs whose worker
    stopped reporting (to resume from their checkpoint), and the waiting jobs for which a slot is free."""
    slots = slots_for(settings)
    redis = redis_for(settings)
    recovered = []
    for job in ExportJob.select(ExportJob.id, ExportJob.kind).where(ExportJob.status == "running"):
        if slots.holds_lease(job.id) or not was_queued(settings, job.id):
            continue  # alive, or never queued (run inline by the engine or the CLI)
        if not redis.set(job_key(job.id, "recovering"), 1, nx=True, ex=settings.job_lease_seconds):
            continue
        updated = (
            ExportJob.update(status="queued", phase="resuming")
            .where((ExportJob.id == job.id) & (ExportJob.status == "running"))
            .execute()
        )
        if not updated:
            continue
        log.warning("job abandoned by its worker: queued again to resume", extra={"job_id": job.id})
        publish_state(settings, job.id, message="worker lost: resuming")
        enqueue_job(settings, job.id, job.kind)
        recovered.append(job.id)
    requeue_admitted(settings, slots.admit_waiting())
    return recovered


def daily_maintenance() -> int:
    """The daily maintenance task: purge expired artifacts, remove stale work folders, close the inline jobs of
    this host whose process is gone, delete the notifications older than their retention. Returns the number of
    artifacts purged."""
    from engine.jobs.reconcile import close_orphaned_inline_jobs, remove_stale_work_dirs  # it imports this module

    purged = purge_expired_artifacts()
    settings = runtime_settings()
    with connection():
        removed = remove_stale_work_dirs(settings)
        closed = close_orphaned_inline_jobs(settings)
        notifications = purge_old_notifications(settings)
    log.info(
        "daily maintenance done",
        extra={"work_dirs_removed": len(removed), "inline_jobs_closed": len(closed), "notifications": notifications},
    )
    return purged


def purge_expired_artifacts() -> int:
    """Maintenance task: delete artifacts (stored files and rows) past their expiry; returns how many."""
    settings = runtime_settings()
    store = open_store(settings)
    with connection():
        count = 0
        for artifact in Artifact.select().where(Artifact.expires_at < utcnow()):
            with contextlib.suppress(OSError):
                store.delete(artifact.location)
            artifact.delete_instance()
            count += 1
        log.info("expired artifacts purged", extra={"count": count})
    pruned = prune_image_cache(settings.var_dir / "cache" / "images", settings.artifact_retention_days)
    log.info("image cache pruned", extra={"files": pruned})
    return count
