"""The export task: run one ExportJob through the pipeline, reporting events and checkpoints as it goes.

`execute_job` is what runs (in a worker, or inline in the engine for small exports); `run_export_job` is the
RQ entry point (waits for a running-exports slot first); `recover_abandoned` finds running jobs whose worker
stopped reporting and queues them again, to resume from their last checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from rq import Retry, get_current_job

from engine.catalog.models import utcnow
from engine.db import connection
from engine.errors import Cancelled, ExportsError, RetryableError
from engine.jobs.events import TERMINAL
from engine.jobs.queues import get_queue, key, redis_for
from engine.jobs.slots import ExportSlots
from engine.models import Artifact, ExportJob
from engine.pipeline.images import prune_image_cache
from engine.pipeline.run import ExportRun, Progress
from engine.pipeline.spec import ExportSpec
from engine.services.exports import record_success
from engine.services.reports import exclusion_recorder, forget_after, warning_recorder
from engine.settings import Settings

log = logging.getLogger(__name__)

RETRY_INTERVALS = [5, 30, 120]
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


def work_dir(settings: Settings, job_id: int) -> Path:
    """The job's private folder: the same on every worker, so a resumed job finds its partial files."""
    return settings.export_dir / f".work-job-{job_id}"


def slots_for(settings: Settings) -> ExportSlots:
    return ExportSlots(redis_for(settings), settings.max_running_exports, settings.job_lease_seconds)


def enqueue_job(settings: Settings, job_id: int) -> None:
    """Queue the job for a worker (idempotent per attempt: a job already queued is not queued twice)."""
    attempt = redis_for(settings).incr(key("job", job_id, "attempt"))
    get_queue(settings, "exports").enqueue(
        "engine.jobs.tasks.run_export_job",
        job_id,
        job_id=f"export-{job_id}-{attempt}",
        job_timeout=-1,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"export job {job_id}",
    )


def run_export_job(job_id: int) -> str:
    """RQ task: wait for a running-exports slot (in job order), then run the job."""
    settings = runtime_settings()
    with connection():
        from engine.services.jobs import events_for, is_cancel_requested, job_event

        slots = slots_for(settings)
        announced = False
        while not slots.try_acquire(job_id):
            job = ExportJob.get_or_none(ExportJob.id == job_id)
            if job is None or job.status in TERMINAL or is_cancel_requested(settings, job_id):
                slots.release(job_id)
                return "skipped"
            if not announced:
                ExportJob.update(phase="waiting").where(ExportJob.id == job_id).execute()
                events_for(settings).publish(
                    job_id, job_event(ExportJob.get_by_id(job_id), message="waiting for a slot")
                )
                announced = True
            time.sleep(0.5)
        try:
            return execute_job(job_id, settings, slots=slots)
        finally:
            slots.release(job_id)


@contextlib.contextmanager
def _heartbeat(slots: ExportSlots | None, job_id: int) -> Iterator[None]:
    """Keep the job's lease alive from a thread, even while one chunk takes long."""
    if slots is None:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(1.0, slots.lease / 3)):
            with contextlib.suppress(Exception):
                slots.refresh(job_id)

    thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def execute_job(job_id: int, settings: Settings, *, slots: ExportSlots | None = None) -> str:
    """Run (or resume) one job to its end; records status, counters, events, exclusions and artifacts."""
    from engine.services.jobs import events_for, is_cancel_requested, job_event

    events = events_for(settings)
    job = ExportJob.get_by_id(job_id)
    if job.status in TERMINAL:
        return job.status
    if is_cancel_requested(settings, job_id):
        _finish(job, "cancelled", "cancelled by request")
        events.publish(job_id, job_event(ExportJob.get_by_id(job_id)))
        return "cancelled"
    resume = job.checkpoint
    if resume is not None and (job.spec.get("images") or {}).get("mode") == "zip":
        resume = None  # an images ZIP cannot be resumed: the job starts over
    # what was recorded after the checkpoint (or everything, when starting over) is recorded again
    forget_after(job_id, resume["last_id"] if resume else 0)
    job.status, job.phase, job.error = "running", "writing", None
    job.started_at = job.started_at or utcnow()
    job.save()
    events.publish(job_id, job_event(job, message="resumed from a checkpoint" if resume else "started"))
    last_publish = 0.0
    pending_checkpoint: dict[str, Any] = {}

    def on_checkpoint(state: dict[str, Any]) -> None:
        pending_checkpoint["state"] = state

    def on_progress(p: Progress) -> None:
        nonlocal last_publish
        fields: dict[str, Any] = {
            "total": p.total,
            "processed": p.processed,
            "exported": p.exported,
            "excluded": p.excluded,
        }
        if "state" in pending_checkpoint:
            fields["checkpoint"] = pending_checkpoint.pop("state")
        ExportJob.update(**fields).where(ExportJob.id == job_id).execute()  # the heartbeat thread keeps the lease
        now = time.monotonic()
        if p.phase != "writing" or now - last_publish >= 0.2 or p.processed == p.total:
            last_publish = now
            current = ExportJob.get_by_id(job_id)
            events.publish(job_id, job_event(current, rate=round(p.rate, 1), eta=p.eta))

    run = ExportRun(
        ExportSpec.from_dict(job.spec),
        settings,
        template_name=job.template_name or "export",
        work_dir=work_dir(settings, job_id),
        allow_empty=True,
        on_progress=on_progress,
        on_exclusions=exclusion_recorder(job_id),
        on_warnings=warning_recorder(job_id),
        on_checkpoint=on_checkpoint,
        should_cancel=lambda: is_cancel_requested(settings, job_id),
        resume=resume,
        now=job.started_at,
        job_id=job_id,
    )
    try:
        with _heartbeat(slots, job_id):
            result = run.execute()
    except Cancelled:
        _finish(ExportJob.get_by_id(job_id), "cancelled", "cancelled by request")
        events.publish(job_id, job_event(ExportJob.get_by_id(job_id)))
        return "cancelled"
    except (RetryableError, RedisError) as exc:
        # transient (a Redis blip, a timeout): RQ retries with backoff and the job resumes from its checkpoint;
        # if Redis itself is down, the lease expires and the abandoned-job watch queues it again later
        current = get_current_job()
        if current is not None and (current.retries_left or 0) > 0:
            ExportJob.update(status="queued", phase="retrying", error=str(exc)).where(ExportJob.id == job_id).execute()
            with contextlib.suppress(RedisError):
                events.publish(job_id, job_event(ExportJob.get_by_id(job_id), message=f"will retry: {exc}"))
            raise RetryableError(str(exc)) from exc
        with contextlib.suppress(RedisError):
            _fail(job_id, f"gave up after retries: {exc}", events)
            return "failed"
        _finish(ExportJob.get_by_id(job_id), "failed", f"gave up after retries: {exc}")
        return "failed"
    except ExportsError as exc:
        _fail(job_id, str(exc), events)
        return "failed"
    except Exception as exc:
        log.exception("export job crashed", extra={"job_id": job_id})
        _fail(job_id, f"internal error ({type(exc).__name__}); see the worker log", events)
        return "failed"
    record_success(job_id, result, settings, delta=run.spec.delta)
    events.publish(job_id, job_event(ExportJob.get_by_id(job_id)))
    return "succeeded"


def _finish(job: ExportJob, status: str, error: str | None) -> None:
    job.status, job.phase, job.error, job.finished_at = (
        status,
        "done" if status == "succeeded" else status,
        error,
        utcnow(),
    )
    job.save()


def _fail(job_id: int, reason: str, events: Any) -> None:
    from engine.services.jobs import job_event

    _finish(ExportJob.get_by_id(job_id), "failed", reason)
    events.publish(job_id, job_event(ExportJob.get_by_id(job_id)))


def recover_abandoned(settings: Settings) -> list[int]:
    """Queue again every running job whose lease expired (its worker died); returns their ids."""
    from engine.services.jobs import events_for, job_event

    slots = slots_for(settings)
    redis = redis_for(settings)
    recovered = []
    for job in ExportJob.select(ExportJob.id, ExportJob.started_at).where(ExportJob.status == "running"):
        if slots.holds_lease(job.id) or not redis.exists(key("job", job.id, "attempt")):
            continue  # alive, or never queued (run inline by the engine or the CLI)
        if not redis.set(key("job", job.id, "recovering"), 1, nx=True, ex=settings.job_lease_seconds):
            continue
        updated = (
            ExportJob.update(status="queued", phase="resuming")
            .where((ExportJob.id == job.id) & (ExportJob.status == "running"))
            .execute()
        )
        if not updated:
            continue
        log.warning("job abandoned by its worker: queued again to resume", extra={"job_id": job.id})
        events_for(settings).publish(job.id, job_event(ExportJob.get_by_id(job.id), message="worker lost: resuming"))
        enqueue_job(settings, job.id)
        recovered.append(job.id)
    return recovered


def purge_expired_artifacts() -> int:
    """Maintenance task: delete artifacts (files and rows) past their expiry; returns how many."""
    settings = runtime_settings()
    with connection():
        count = 0
        for artifact in Artifact.select().where(Artifact.expires_at < utcnow()):
            with contextlib.suppress(FileNotFoundError):
                Path(artifact.location).unlink()
            artifact.delete_instance()
            count += 1
        log.info("expired artifacts purged", extra={"count": count, "export_dir": str(settings.export_dir)})
    pruned = prune_image_cache(settings.var_dir / "cache" / "images", settings.artifact_retention_days)
    log.info("image cache pruned", extra={"files": pruned})
    return count
