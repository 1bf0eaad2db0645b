"""Job progress events in a Redis stream per job, numbered 1, 2, 3... so a watcher can resume after any seq.

The stream entry id is `<seq>-0`, assigned atomically with the sequence number by a Lua script, so entries are
in seq order whoever publishes them; `replay(after_seq)` then `follow` gives each event exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from redis import Redis

from engine.jobs.queues import redis_for
from engine.jobs.state import job_key
from engine.models import Artifact, ExportJob
from engine.settings import Settings

_PUBLISH = """
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
"""
EVENT_TTL = 35 * 24 * 3600  # a little longer than the artifacts are kept
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "partial"})


def stream_key(job_id: int) -> str:
    return job_key(job_id, "events")


def seq_key(job_id: int) -> str:
    return job_key(job_id, "seq")


def events_for(settings: Settings) -> JobEvents:
    return JobEvents(redis_for(settings), settings.events_maxlen)


def artifact_dict(a: Artifact) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "format": a.format,
        "content_type": a.content_type,
        "rows": a.rows,
        "size": a.size,
        "sha256": a.sha256,
        "created_at": a.created_at.isoformat(),
        "expires_at": a.expires_at.isoformat(),
    }


def job_event(job: ExportJob, **extra: Any) -> dict[str, Any]:
    """The event describing a job's current state (counters from the job row; files once it ended)."""
    event: dict[str, Any] = {
        "status": job.status,
        "phase": job.phase,
        "total": job.total,
        "processed": job.processed,
        "exported": job.exported,
        "excluded": job.excluded,
        "failed": job.failed,
    }
    if job.status in TERMINAL:
        event["artifacts"] = [
            artifact_dict(a) for a in Artifact.select().where(Artifact.job == job.id).order_by(Artifact.id)
        ]
        if job.error:
            event["message"] = job.error
    event.update(extra)
    return event


def publish_state(settings: Settings, job_id: int, **extra: Any) -> int:
    """Publish the job's current state (read from its row) as its next event."""
    return events_for(settings).publish(job_id, job_event(ExportJob.get_by_id(job_id), **extra))


class JobEvents:
    """Publish and read the events of jobs."""

    def __init__(self, redis: Redis, maxlen: int = 10_000) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self._publish = redis.register_script(_PUBLISH)

    def publish(self, job_id: int, event: dict[str, Any]) -> int:
        """Append an event (its `seq` and `time` are set here) and return its seq."""
        body = {**event, "job_id": job_id, "time": time.time()}
        seq = self._publish(
            keys=[stream_key(job_id), seq_key(job_id)],
            args=[orjson.dumps(body, default=str), self.maxlen, EVENT_TTL],
        )
        return int(seq)

    def last_seq(self, job_id: int) -> int:
        value = self.redis.get(seq_key(job_id))
        return int(value) if value else 0

    @staticmethod
    def _decode(entry_id: Any, fields: Any) -> dict[str, Any]:
        raw = fields.get(b"e") or fields.get("e")
        event: dict[str, Any] = orjson.loads(raw)
        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        event["seq"] = int(eid.split("-", 1)[0])
        return event

    def replay(self, job_id: int, after_seq: int = 0, count: int = 500) -> Iterator[dict[str, Any]]:
        """Every stored event with seq > after_seq, in order."""
        start = f"{after_seq + 1}-0"
        while True:
            entries: Any = self.redis.xrange(stream_key(job_id), min=start, max="+", count=count)
            if not entries:
                return
            for entry_id, fields in entries:
                event = self._decode(entry_id, fields)
                yield event
                start = f"{event['seq'] + 1}-0"
            if len(entries) < count:
                return

    def watch(
        self, job_id: int, after_seq: int = 0, *, block_ms: int = 1000, stop: Any = None
    ) -> Iterator[dict[str, Any] | None]:
        """Replay then follow live. Yields events, and None after each idle `block_ms` (so the caller can check
        deadlines or cancellation); ends after a terminal event or when `stop()` is true."""
        last = after_seq
        for event in self.replay(job_id, after_seq):
            last = event["seq"]
            yield event
            if event.get("status") in TERMINAL:
                return
        while stop is None or not stop():
            response: Any = self.redis.xread({stream_key(job_id): f"{last}-0"}, block=block_ms, count=500)
            if not response:
                yield None
                continue
            for _stream, entries in response:
                for entry_id, fields in entries:
                    event = self._decode(entry_id, fields)
                    last = event["seq"]
                    yield event
                    if event.get("status") in TERMINAL:
                        return
