"""Job state in Redis cannot be confused across databases: keys carry the database's instance id, and a new job
forgets whatever Redis still held under its id."""

from __future__ import annotations

from pathlib import Path

from engine.db import database_proxy, instance_id, open_database
from engine.jobs.events import events_for
from engine.jobs.queues import redis_for
from engine.jobs.state import job_key, request_cancel
from engine.models import ExportJob
from engine.services import jobs as job_service
from engine.services.exports import resolve_request
from engine.services.setup import upgrade
from engine.settings import Settings
from tests.small_catalog import build_small_catalog


def _fresh(tmp_path: Path, name: str, redis_url: str) -> Settings:
    settings = Settings.build(var_dir=str(tmp_path / name), redis_url=redis_url)
    open_database(settings)
    upgrade(settings)
    build_small_catalog()
    return settings


def _close() -> None:
    database_proxy.obj.close()
    database_proxy.initialize(None)


def test_a_new_database_beside_an_old_redis_never_replays_an_old_job(tmp_path: Path, redis_url: str) -> None:
    old = _fresh(tmp_path, "old", redis_url)
    done = job_service.create_export(old, "Standard CSV")
    assert done.status == "succeeded" and done.artifacts
    old_instance = instance_id()
    _close()
    new = _fresh(tmp_path, "new", redis_url)
    try:
        assert instance_id() != old_instance
        job = resolve_request("Standard CSV").new_job(new, status="queued", phase="queued")
        assert job.id == done.id, "the new database reuses the id"
        events = job_service.watch_job(new, job.id, 0, stop=lambda: True)
        assert [e for e in events if e is not None] == [], "no event of the old database's job"
        assert events_for(new).last_seq(job.id) == 0
    finally:
        _close()


def test_a_new_job_forgets_what_redis_held_under_its_id(tmp_path: Path, redis_url: str) -> None:
    settings = _fresh(tmp_path, "db", redis_url)
    try:
        next_id = (ExportJob.select().count() or 0) + 1
        events_for(settings).publish(next_id, {"status": "succeeded"})  # left by a database restored from a backup
        request_cancel(settings, next_id)
        job = resolve_request("Standard CSV").new_job(settings, status="queued", phase="queued")
        assert job.id == next_id
        redis = redis_for(settings)
        assert not redis.exists(job_key(job.id, "events"), job_key(job.id, "seq"), job_key(job.id, "cancel"))
    finally:
        _close()
