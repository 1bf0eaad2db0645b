"""At most N limited jobs (exports) run at once across every worker; the others wait, parked, in job order.

A running job holds a lease in a sorted set (score = lease expiry), refreshed by its worker's heartbeat; a lease
that is not refreshed expires, which frees the slot and lets the job be detected as abandoned. A job that finds
no free slot is parked in the waiting set and gives its worker back; whoever frees a slot (a job ending, a
cancel, the periodic watch) admits the next waiting jobs by reserving a lease for each and queuing them again.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from engine.jobs.queues import key

_ADMIT = """
-- KEYS: running, waiting. ARGV: job to add to the line ('' for none), job to release ('' for none), now,
-- lease expiry, limit. Returns the ids admitted now (each holds a reserved lease).
local now, expiry, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[1])
    return {ARGV[1]}
  end
  redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[1]), ARGV[1])
end
local free = limit - redis.call('ZCARD', KEYS[1])
if free <= 0 then return {} end
local admitted = redis.call('ZRANGE', KEYS[2], 0, free - 1)
for _, id in ipairs(admitted) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], expiry, id)
end
return admitted
"""


class JobSlots:
    def __init__(self, redis: Redis, limit: int, lease_seconds: int) -> None:
        self.redis = redis
        self.limit = limit
        self.lease = lease_seconds
        self._admit = redis.register_script(_ADMIT)

    @property
    def running_key(self) -> str:
        return key("slots", "running")

    @property
    def waiting_key(self) -> str:
        return key("slots", "waiting")

    def _call(self, join: int | None, release: int | None) -> list[int]:
        now = time.time()
        ids: Any = self._admit(
            keys=[self.running_key, self.waiting_key],
            args=["" if join is None else str(join), "" if release is None else str(release), now, now + self.lease,
                  self.limit],
        )  # fmt: skip
        return [int(i) for i in ids]

    def admit(self, job_id: int) -> list[int]:
        """Join the line (or take the slot reserved for the job). Returns the jobs admitted now: when `job_id`
        is among them it may run; the others were waiting and must be queued again by the caller."""
        return self._call(job_id, None)

    def release(self, job_id: int) -> list[int]:
        """Free the job's slot (or its place in line); returns the waiting jobs admitted in its place."""
        return self._call(None, job_id)

    def admit_waiting(self) -> list[int]:
        """Admit waiting jobs into free slots (expired leases freed first): the periodic safety net."""
        return self._call(None, None)

    def refresh(self, job_id: int) -> None:
        self.redis.zadd(self.running_key, {str(job_id): time.time() + self.lease})

    def holds_lease(self, job_id: int) -> bool:
        """True while the job's lease is alive (its worker is reporting, or its slot is reserved for it)."""
        score = self.redis.zscore(self.running_key, str(job_id))
        return score is not None and float(score) > time.time()

    def is_waiting(self, job_id: int) -> bool:
        return self.redis.zscore(self.waiting_key, str(job_id)) is not None

    def running(self) -> list[int]:
        members: Any = self.redis.zrangebyscore(self.running_key, time.time(), "+inf")
        return [int(m) for m in members]

    def waiting(self) -> list[int]:
        members: Any = self.redis.zrange(self.waiting_key, 0, -1)
        return [int(m) for m in members]
