"""Redis connection, the RQ queues (exports, push, deliver, maintenance) and the engine's Redis keys."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

from engine.settings import Settings

QUEUE_NAMES = ("exports", "push", "deliver", "maintenance")
KEY_PREFIX = "pmx"


@lru_cache(maxsize=8)
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def redis_for(settings: Settings) -> Redis:
    """A shared client per Redis URL (connection-pooled, thread-safe)."""
    return _redis(settings.redis_url)


def get_queue(settings: Settings, name: str = "exports") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_for(settings))


def key(*parts: object) -> str:
    """A Redis key of this engine: prefixed with the open database's instance id, so that two databases sharing
    one Redis (or a database created anew beside an old Redis) never read each other's jobs."""
    from engine.db import instance_id

    return ":".join([KEY_PREFIX, instance_id(), *map(str, parts)])
