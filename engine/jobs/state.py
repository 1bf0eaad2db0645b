"""A job's state in Redis beside its database row: event stream, sequence, cancel flag, attempts, recovery guard.

Every key carries the database's instance id (engine.jobs.queues.key), so a new or reset database never reads
another database's jobs; the keys of a job id are also cleared when a job gets that id.
"""

from __future__ import annotations

from redis import Redis

from engine.jobs.queues import key, redis_for
from engine.settings import Settings

JOB_KEY_PARTS = ("events", "seq", "cancel", "attempt", "recovering", "lost")
CANCEL_TTL = 7 * 24 * 3600


def job_key(job_id: int, part: str) -> str:
    return key("job", job_id, part)


def reset_job_keys(redis: Redis, job_id: int) -> None:
    """Forget whatever Redis holds under this job id (a database restored from a backup reuses ids)."""
    redis.delete(*(job_key(job_id, part) for part in JOB_KEY_PARTS))


def request_cancel(settings: Settings, job_id: int) -> None:
    redis_for(settings).set(job_key(job_id, "cancel"), 1, ex=CANCEL_TTL)


def is_cancel_requested(settings: Settings, job_id: int) -> bool:
    return bool(redis_for(settings).exists(job_key(job_id, "cancel")))


def next_attempt(settings: Settings, job_id: int) -> int:
    return int(redis_for(settings).incr(job_key(job_id, "attempt")))


def was_queued(settings: Settings, job_id: int) -> bool:
    """True when the job ever went to a worker (inline jobs never do)."""
    return bool(redis_for(settings).exists(job_key(job_id, "attempt")))
