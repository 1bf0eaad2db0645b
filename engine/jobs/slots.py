"""At most N exports run at once across every worker; the others wait in job order (FIFO).

Running jobs hold a lease in a sorted set (score = lease expiry), refreshed by their worker's heartbeat; a
lease that is not refreshed expires, which frees the slot and lets the job be detected as abandoned.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from engine.jobs.queues import key

RUNNING = key("slots", "running")
WAITING = key("slots", "waiting")
WAIT_TTL = 15  # seconds a waiting job stays in line without its worker checking in

_ACQUIRE = """
local now, expiry, limit, job = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[1]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], job) then
  redis.call('ZADD', KEYS[1], expiry, job)
  redis.call('ZREM', KEYS[2], job)
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', tonumber(job), job)
redis.call('SET', ARGV[5] .. job, 1, 'EX', ARGV[6])
local free = limit - redis.call('ZCARD', KEYS[1])
if free <= 0 then return 0 end
local ahead = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if id == job then
    redis.call('ZREM', KEYS[2], job)
    redis.call('ZADD', KEYS[1], expiry, job)
    return 1
  end
  if redis.call('EXISTS', ARGV[5] .. id) == 1 then
    ahead = ahead + 1
    if ahead >= free then return 0 end
  else
    redis.call('ZREM', KEYS[2], id)  -- its worker went away while waiting
  end
end
return 0
"""


class ExportSlots:
    def __init__(self, redis: Redis, limit: int, lease_seconds: int) -> None:
        self.redis = redis
        self.limit = limit
        self.lease = lease_seconds
        self._acquire = redis.register_script(_ACQUIRE)

    def try_acquire(self, job_id: int) -> bool:
        """Take a slot for the job (or refresh its lease) when it is its turn; False means keep waiting."""
        now = time.time()
        got = self._acquire(
            keys=[RUNNING, WAITING],
            args=[str(job_id), now, now + self.lease, self.limit, key("slots", "wait") + ":", WAIT_TTL],
        )
        return bool(got)

    def refresh(self, job_id: int) -> None:
        self.redis.zadd(RUNNING, {str(job_id): time.time() + self.lease})

    def release(self, job_id: int) -> None:
        self.redis.zrem(RUNNING, str(job_id))
        self.redis.zrem(WAITING, str(job_id))

    def holds_lease(self, job_id: int) -> bool:
        """True while the job's lease is alive (its worker is reporting)."""
        score = self.redis.zscore(RUNNING, str(job_id))
        return score is not None and float(score) > time.time()

    def running(self) -> list[int]:
        members: Any = self.redis.zrangebyscore(RUNNING, time.time(), "+inf")
        return [int(m) for m in members]
