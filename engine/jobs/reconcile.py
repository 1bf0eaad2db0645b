"""The database is the source of truth for jobs: bring Redis and the process table back in line with it.

- A queued or running job that Redis no longer knows (no RQ job queued, scheduled for a retry, deferred or
  started; not parked in the waiting line; no lease; e.g. Redis restarted empty) is queued
  again, to resume from its checkpoint, at most MAX_REQUEUES times over its life; after that it fails with the
  reason, and `retry` runs it anew. A job is acted on only once it has been seen lost for `confirm_after` seconds
  (a lease by default: a live worker's heartbeat puts its lease back well within that), so a job being created or
  still run by a worker that survived the Redis restart is never queued twice.
- An inline job (run by the CLI or in the engine process: its `owner` is host:pid) whose process is gone on this
  host is failed: nobody will finish it.
- Work folders (`.work-*` in the export folder) older than a day that belong to no queued or running job are
  removed.
Several schedulers and workers may run this at once: each job is taken under a Redis guard and changed with a
conditional update on its status, so it is queued again or failed once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from engine.catalog.models import utcnow
from engine.jobs.events import publish_state
from engine.jobs.queues import QUEUE_NAMES, get_queue, redis_for
from engine.jobs.runner import work_dir
from engine.jobs.slots import JobSlots
from engine.jobs.state import job_key
from engine.jobs.tasks import enqueue_job, rq_job_id, slots_for
from engine.models import ExportJob
from engine.settings import Settings

log = logging.getLogger(__name__)

MAX_REQUEUES = 3  # times a job lost by Redis is queued again before it fails
LOST_REASON = "lost when Redis restarted empty (or lost its data) {count} times; retry it"
GONE_REASON = "the process running it is gone ({owner})"
STALE_WORK_AGE = dt.timedelta(days=1)
ACTIVE = ("queued", "running")
_JOB_WORK_DIR = re.compile(r"^\.work-job-(\d+)$")


@dataclass
class Reconciled:
    """What one pass changed: jobs queued again, and jobs failed (id -> reason)."""

    requeued: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def owner_id() -> str:
    """This process, as recorded on the inline jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def jobs_rq_holds(settings: Settings) -> set[int]:
    """The ids of the jobs that have an RQ job in a queue, or in the scheduled (retry), deferred or started
    registry of any queue (whatever the attempt: the attempt counter may be what Redis lost)."""
    redis = redis_for(settings)
    prefix = rq_job_id(0, 0).removesuffix("-0-0") + "-"
    held: set[int] = set()
    for name in QUEUE_NAMES:
        queue = get_queue(settings, name)
        ids = [*queue.get_job_ids()]
        for registry in (ScheduledJobRegistry, DeferredJobRegistry, StartedJobRegistry):
            ids += registry(queue=queue, connection=redis).get_job_ids()
        for rq_id in ids:
            job_part, _, _attempt = rq_id.removeprefix(prefix).rpartition("-")
            if rq_id.startswith(prefix) and job_part.isdigit():
                held.add(int(job_part))
    return held


def redis_knows(settings: Settings, job_id: int, slots: JobSlots, rq_held: set[int]) -> bool:
    """True when Redis holds something that will move the job on: a lease, a place in the waiting line, a
    recovery in progress, or an RQ job (`rq_held`, from jobs_rq_holds)."""
    return (
        job_id in rq_held
        or slots.holds_lease(job_id)
        or slots.is_waiting(job_id)
        or bool(redis_for(settings).exists(job_key(job_id, "recovering")))
    )


def _seen_lost_long_enough(settings: Settings, job_id: int, confirm_after: float) -> bool:
    """Record when the job was first seen lost; True once that was at least `confirm_after` seconds ago."""
    redis = redis_for(settings)
    marker = job_key(job_id, "lost")
    now = time.time()
    redis.set(marker, now, nx=True, ex=24 * 3600)
    first_seen = float(redis.get(marker) or now)
    return now - first_seen >= confirm_after


def reconcile_lost_jobs(settings: Settings, *, confirm_after: float | None = None) -> Reconciled:
    """Queue again, or fail with the reason, every queued/running job (not inline) that Redis no longer knows."""
    confirm_after = settings.job_lease_seconds if confirm_after is None else confirm_after
    redis = redis_for(settings)
    slots = slots_for(settings)
    done = Reconciled()
    rq_held = jobs_rq_holds(settings)
    candidates = ExportJob.select(ExportJob.id, ExportJob.status, ExportJob.checkpoint, ExportJob.report).where(
        ExportJob.status.in_(ACTIVE) & ExportJob.owner.is_null()
    )
    for job in candidates:
        if redis_knows(settings, job.id, slots, rq_held):
            redis.delete(job_key(job.id, "lost"))
            continue
        if not _seen_lost_long_enough(settings, job.id, confirm_after):
            continue
        if not redis.set(job_key(job.id, "recovering"), 1, nx=True, ex=settings.job_lease_seconds):
            continue  # another scheduler or worker is on it
        report = dict(job.report or {})
        count = int(report.get("requeued_after_redis_loss", 0)) + 1
        report["requeued_after_redis_loss"] = count
        if count > MAX_REQUEUES:
            reason = LOST_REASON.format(count=count)
            changes = {"status": "failed", "phase": "failed", "error": reason, "finished_at": utcnow()}
        else:
            phase = "resuming" if job.checkpoint else "queued"
            changes = {"status": "queued", "phase": phase, "report": report}
        updated = (
            ExportJob.update(**changes).where((ExportJob.id == job.id) & (ExportJob.status == job.status)).execute()
        )
        redis.delete(job_key(job.id, "lost"))
        if not updated:
            continue  # it moved meanwhile: nothing to do
        if changes["status"] == "failed":
            shutil.rmtree(work_dir(settings, job.id), ignore_errors=True)
            log.warning("job lost by Redis too often: failed", extra={"job_id": job.id})
            publish_state(settings, job.id)
            done.failed[job.id] = reason
            continue
        log.warning("job lost by Redis: queued again", extra={"job_id": job.id, "times": count})
        publish_state(settings, job.id, message="Redis lost this job: queued again to resume from its checkpoint")
        enqueue_job(settings, job.id)
        done.requeued.append(job.id)
    return done


def _process_alive(pid: int) -> bool:
    """True when `pid` runs on this host (a zombie is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def close_orphaned_inline_jobs(settings: Settings) -> dict[int, str]:
    """Fail the queued/running inline jobs of this host whose process is gone; returns id -> reason."""
    host = socket.gethostname()
    closed: dict[int, str] = {}
    for job in ExportJob.select(ExportJob.id, ExportJob.status, ExportJob.owner).where(
        ExportJob.status.in_(ACTIVE) & ExportJob.owner.is_null(False)
    ):
        owner_host, _, pid = str(job.owner).rpartition(":")
        if owner_host != host or not pid.isdigit() or _process_alive(int(pid)):
            continue
        reason = GONE_REASON.format(owner=job.owner)
        updated = (
            ExportJob.update(status="failed", phase="failed", error=reason, finished_at=utcnow())
            .where((ExportJob.id == job.id) & (ExportJob.status == job.status))
            .execute()
        )
        if not updated:
            continue
        shutil.rmtree(work_dir(settings, job.id), ignore_errors=True)
        log.warning("inline job closed: its process is gone", extra={"job_id": job.id, "owner": job.owner})
        with contextlib.suppress(Exception):  # the row is what matters; Redis may be away
            publish_state(settings, job.id)
        closed[job.id] = reason
    return closed


def _last_change(folder: Path) -> float:
    """The latest modification time of the folder and the files directly in it."""
    latest = folder.stat().st_mtime
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            latest = max(latest, child.stat().st_mtime)
    return latest


def remove_stale_work_dirs(settings: Settings, older_than: dt.timedelta = STALE_WORK_AGE) -> list[Path]:
    """Remove the `.work-*` folders of the export folder unchanged for `older_than` that belong to no queued or
    running job (what an export killed without a chance to clean up left behind); returns those removed."""
    root = settings.export_dir
    if not root.is_dir():
        return []
    active = {job.id for job in ExportJob.select(ExportJob.id).where(ExportJob.status.in_(ACTIVE))}
    limit = time.time() - older_than.total_seconds()
    removed = []
    for folder in root.glob(".work-*"):
        match = _JOB_WORK_DIR.match(folder.name)
        try:
            if not folder.is_dir() or (match and int(match.group(1)) in active) or _last_change(folder) > limit:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        log.info("stale work folder removed", extra={"folder": str(folder)})
        removed.append(folder)
    return removed
