"""The RQ side of the engine as people look at it: each queue's counts (queued, started, failed, deferred,
scheduled, finished), the workers (state, current task, last heartbeat) and the newest failed tasks with the head
of their error. Read-only: an engine job is retried from its own page (engine.services.jobs), which keeps its
state and checkpoints; requeuing RQ's task underneath would bypass them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job

from engine.errors import RetryableError
from engine.jobs.queues import QUEUE_NAMES, redis_for
from engine.services.views import FailedTaskView, QueuesView, QueueView, WorkerView
from engine.settings import Settings

MAX_FAILED = 20  # failed tasks listed (newest first, over all queues)
MAX_WORKERS = 100
ERROR_HEAD = 600  # characters of a failed task's exception info: its last lines, where the error is
ENGINE_JOB = re.compile(r"-job-(\d+)-\d+$")  # engine.jobs.tasks.rq_job_id: <prefix>-job-<job id>-<attempt>


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _error_head(job: Job) -> str:
    """The end of the task's traceback (the exception line is last), at most ERROR_HEAD characters."""
    result = job.latest_result()
    text = ((result.exc_string if result is not None else None) or "").strip()
    return text if len(text) <= ERROR_HEAD else "…" + text[-ERROR_HEAD:]


def where_redis(settings: Settings) -> str:
    """host:port/db of the Redis the engine uses (no user name or password: this is shown to people)."""
    kwargs: dict[str, Any] = redis_for(settings).connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def queues_overview(settings: Settings) -> QueuesView:
    """Counts per queue, workers, and the newest failed tasks; RetryableError when Redis does not answer."""
    connection = redis_for(settings)
    try:
        queues, failed_ids = [], []
        for name in QUEUE_NAMES:
            queue = Queue(name, connection=connection)
            failed = queue.failed_job_registry
            queues.append(
                QueueView(
                    name=name,
                    queued=queue.count,
                    started=queue.started_job_registry.count,
                    failed=failed.count,
                    deferred=queue.deferred_job_registry.count,
                    scheduled=queue.scheduled_job_registry.count,
                    finished=queue.finished_job_registry.count,
                )
            )
            failed_ids += [(name, job_id) for job_id in failed.get_job_ids(0, MAX_FAILED - 1, desc=True)]
        workers = [
            WorkerView(
                name=w.name,
                state=str(w.get_state()),
                queues=w.queue_names(),
                current_job=w.get_current_job_id(),
                last_heartbeat=_naive_utc(w.last_heartbeat),
                started_at=_naive_utc(w.birth_date),
                successful=int(w.successful_job_count or 0),
                failed=int(w.failed_job_count or 0),
            )
            for w in sorted(Worker.all(connection=connection), key=lambda w: w.name)[:MAX_WORKERS]
        ]
        jobs = Job.fetch_many([job_id for _queue, job_id in failed_ids], connection=connection)
        failed_tasks = [
            FailedTaskView(
                id=job.id,
                queue=queue_name,
                description=(job.description or "")[:200],
                ended_at=_naive_utc(job.ended_at),
                error=_error_head(job),
                job_id=int(found.group(1)) if (found := ENGINE_JOB.search(job.id)) else None,
            )
            for (queue_name, _id), job in zip(failed_ids, jobs, strict=True)
            if job is not None
        ]
    except (RedisError, OSError) as exc:
        raise RetryableError(f"Redis at {where_redis(settings)} does not answer ({type(exc).__name__})") from exc
    failed_tasks.sort(key=lambda t: t.ended_at or dt.datetime.min, reverse=True)
    return QueuesView(queues, workers, failed_tasks[:MAX_FAILED], sum(q.failed for q in queues))
