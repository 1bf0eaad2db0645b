"""Export jobs on RQ with real Redis and real worker processes: progress events, watch/resume, cancel,
SIGKILL of a worker mid-export then resume with the same SHA-256, the running-exports limit."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.models import Artifact, ExportJob
from engine.pipeline.run import ExportRun
from engine.pipeline.spec import ExportSpec
from engine.services import jobs as job_service
from engine.services.exports import resolve_request, run_inline
from engine.settings import Settings
from engine.sinks.file import sha256_of
from tests.job_support import Workers

pytest_plugins = ["tests.job_fixtures"]


def wait_for(predicate, timeout: float = 60, message: str = "condition", state=lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}: {state()}")


def events_until_end(settings: Settings, job_id: int, after_seq: int = 0) -> list[dict]:
    out = []
    deadline = time.monotonic() + 120
    for event in job_service.watch_job(settings, job_id, after_seq):
        assert time.monotonic() < deadline, "the job did not end"
        if event is not None:
            out.append(event)
    return out


@pytest.mark.slow
def test_big_export_runs_on_a_worker_streams_progress_and_matches_the_inline_export(stack, workers) -> None:
    workers.start()
    job = job_service.create_export(stack, "Standard CSV", requested_by="test")
    assert job.status == "queued" and job.total > stack.inline_threshold
    events = events_until_end(stack, job.id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    processed = [e["processed"] for e in events]
    assert processed == sorted(processed) and len(set(processed)) >= 3
    assert events[-1]["status"] == "succeeded" and events[-1]["processed"] == job.total
    assert any(e.get("rate") for e in events) and any(e.get("eta") is not None for e in events)
    (artifact_info,) = events[-1]["artifacts"]
    artifact, handle = job_service.open_artifact(stack, job.id)
    with handle:
        data = handle.read()
    assert artifact.sha256 == artifact_info["sha256"] == hashlib.sha256(data).hexdigest()
    _inline_job, inline = run_inline(resolve_request("Standard CSV"), stack, out_dir=stack.var_dir / "inline")
    assert data == inline.files[0].path.read_bytes()
    assert not list(stack.export_dir.glob(".work-*")), (job.id, _inline_job.id)


def test_a_watcher_that_reconnects_gets_every_event_exactly_once(stack, workers) -> None:
    job = job_service.create_export(stack, "Standard CSV")
    first_part = []
    watcher = job_service.watch_job(stack, job.id, 0)
    workers.start()
    for event in watcher:
        if event is not None:
            first_part.append(event)
        if len(first_part) >= 4:
            break  # the client disconnects
    rest = events_until_end(stack, job.id, after_seq=first_part[-1]["seq"])
    seqs = [e["seq"] for e in first_part + rest]
    assert seqs == list(range(1, len(seqs) + 1))
    assert rest[-1]["status"] == "succeeded"
    assert events_until_end(stack, job.id, after_seq=0) == first_part + rest


def test_cancel_stops_within_a_chunk_and_removes_partial_files(stack, workers) -> None:
    job = job_service.create_export(stack, "Full catalogue XLSX")
    workers.start()
    wait_for(
        lambda: ExportJob.get_by_id(job.id).processed >= 1000,
        message=f"the export to start ({job.id})",
        state=lambda: ExportJob.get_by_id(job.id).__data__,
    )
    job_service.cancel_job(stack, job.id)
    events = events_until_end(stack, job.id)
    assert events[-1]["status"] == "cancelled"
    final = ExportJob.get_by_id(job.id)
    assert final.processed < final.total
    assert Artifact.select().where(Artifact.job == job.id).count() == 0
    wait_for(lambda: not list(stack.export_dir.glob(".work-*")), 10, "partial files to be removed")
    assert [p.name for p in stack.export_dir.iterdir()] == []
    with pytest.raises(Exception, match="already cancelled"):
        job_service.cancel_job(stack, job.id)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "overrides"),
    [("Standard CSV", {}), ("Full catalogue XLSX", {"options": {"max_rows": 4000}}), ("JSON catalogue", {})],
    ids=["csv", "xlsx-parts", "json"],
)
def test_sigkill_mid_export_then_another_worker_resumes_with_the_same_sha256(stack, workers, template, overrides):
    first = workers.start()
    job = job_service.create_export(stack, template, overrides)
    wait_for(lambda: (ExportJob.get_by_id(job.id).checkpoint or {}).get("last_id", 0) > 6000, 90, "a checkpoint")
    workers.kill(first)
    killed_at = ExportJob.get_by_id(job.id).processed
    assert killed_at < job.total
    workers.start()
    events = events_until_end(stack, job.id)
    assert events[-1]["status"] == "succeeded", events[-1]
    messages = [e.get("message") for e in events if e.get("message")]
    assert "resumed from a checkpoint" in messages, (killed_at, messages)
    final = ExportJob.get_by_id(job.id)
    assert final.processed == final.total == job.total
    resumed = [Path(a.location) for a in Artifact.select().where(Artifact.job == job.id).order_by(Artifact.id)]
    # the same export, uninterrupted, with the job's own start time (XLSX embeds it)
    reference = ExportRun(
        ExportSpec.from_dict(final.spec),
        stack,
        template_name=template,
        out_dir=stack.var_dir / "reference",
        now=final.started_at,
    ).execute()
    assert [sha256_of(p) for p in resumed] == [f.sha256 for f in reference.files]
    assert [p.name for p in resumed] == [f.path.name for f in reference.files]


def test_small_exports_complete_at_once_without_a_worker(stack) -> None:
    job = job_service.create_export(stack, "Standard CSV", {"selection": {"ids": list(range(1, 200))}})
    assert job.status == "succeeded"
    assert 0 < job.exported < 200
    assert [e["status"] for e in events_until_end(stack, job.id)][-1] == "succeeded"


def test_at_most_n_jobs_run_at_once_and_the_rest_wait_in_job_order(redis_url: str, sqlite_db) -> None:
    from redis import Redis

    from engine.jobs.slots import JobSlots

    slots = JobSlots(Redis.from_url(redis_url), limit=2, lease_seconds=30)
    assert slots.admit(3) == [3]  # a free slot and nobody waiting: 3 runs
    slots.release(3)
    assert slots.admit(2) == [2] and slots.admit(1) == [1]
    assert slots.admit(4) == [] and slots.admit(3) == [], "no slot free: both wait"
    assert slots.waiting() == [3, 4], "in job order, whoever arrived first"
    assert slots.release(1) == [3], "freeing a slot admits the oldest waiting job"
    assert slots.running() == [2, 3] and slots.waiting() == [4]
    assert slots.admit(3) == [3], "a job takes the slot reserved for it"
    assert slots.release(4) == [] and slots.waiting() == [], "a waiting job leaves the line (cancelled)"


def test_an_expired_lease_frees_its_slot_for_the_next_waiting_job(redis_url: str, sqlite_db) -> None:
    from redis import Redis

    from engine.jobs.slots import JobSlots

    slots = JobSlots(Redis.from_url(redis_url), limit=1, lease_seconds=30)
    assert slots.admit(1) == [1] and slots.admit(2) == []
    slots.redis.zadd(slots.running_key, {"1": time.time() - 1})  # job 1's worker stopped reporting
    assert not slots.holds_lease(1)
    assert slots.admit_waiting() == [2]
    assert slots.holds_lease(2) and slots.waiting() == []


def test_a_running_job_without_a_lease_is_queued_again(stack) -> None:
    from engine.jobs.queues import redis_for
    from engine.jobs.state import job_key
    from engine.jobs.tasks import watch_jobs

    request = resolve_request("Standard CSV")
    job = ExportJob.create(template_name="Standard CSV", spec=request.spec.to_dict(), status="running", total=10)
    inline = ExportJob.create(template_name="Standard CSV", spec=request.spec.to_dict(), status="running", total=10)
    redis_for(stack).set(job_key(job.id, "attempt"), 1)  # only queued jobs belong to workers
    assert watch_jobs(stack) == [job.id]
    assert ExportJob.get_by_id(inline.id).status == "running"
    assert ExportJob.get_by_id(job.id).status == "queued"
    assert watch_jobs(stack) == []


def test_retry_runs_a_failed_job_again(stack) -> None:
    job = job_service.create_export(stack, "Standard CSV", {"selection": {"ids": [1, 2, 3]}})
    with pytest.raises(Exception, match="only failed, cancelled or partial"):
        job_service.retry_job(stack, job.id)
    ExportJob.update(status="failed").where(ExportJob.id == job.id).execute()
    again = job_service.retry_job(stack, job.id)
    assert again.id != job.id and again.status == "queued" and again.report == {"retry_of": job.id}


def test_expired_artifacts_are_purged(stack) -> None:
    import datetime as dt

    from engine.jobs import tasks

    job = job_service.create_export(stack, "Standard CSV", {"selection": {"ids": [1, 2, 3]}})
    artifact, handle = job_service.open_artifact(stack, job.id)
    handle.close()
    path = Path(Artifact.get_by_id(artifact.id).location)
    assert path.is_file()
    Artifact.update(expires_at=dt.datetime(2000, 1, 1)).where(Artifact.id == artifact.id).execute()
    cache = stack.var_dir / "cache" / "images" / "processed"
    cache.mkdir(parents=True)
    old, recent = cache / "old.jpg", cache / "recent.jpg"
    old.write_bytes(b"x")
    recent.write_bytes(b"y")
    os.utime(old, (time.time() - 31 * 24 * 3600,) * 2)
    tasks.set_runtime_settings(stack)
    assert tasks.purge_expired_artifacts() == 1
    assert not path.exists() and Artifact.select().count() == 0
    assert not old.exists() and recent.exists()  # the image cache is pruned by age too


def test_watching_a_finished_job_whose_events_are_gone_gives_its_final_state(stack) -> None:
    from engine.jobs.events import seq_key, stream_key
    from engine.jobs.queues import redis_for

    job = job_service.create_export(stack, "Standard CSV", {"selection": {"ids": [1, 2, 3]}})
    seen = events_until_end(stack, job.id)
    assert list(job_service.watch_job(stack, job.id, after_seq=seen[-1]["seq"])) == []
    redis_for(stack).delete(stream_key(job.id), seq_key(job.id))
    (only,) = list(job_service.watch_job(stack, job.id, 0))
    assert only["status"] == "succeeded" and only["seq"] == 1 and only["artifacts"]


@pytest.mark.parametrize("retries_left", [2, 0])
def test_a_transient_failure_is_retried_then_gives_up(stack, monkeypatch: pytest.MonkeyPatch, retries_left) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from engine.errors import RetryableError
    from engine.jobs import runner

    request = resolve_request("Standard CSV")
    job = ExportJob.create(template_name="Standard CSV", spec=request.spec.to_dict(), status="queued", total=10)

    def blip(self):
        raise RedisConnectionError("Connection reset by peer")

    monkeypatch.setattr(ExportRun, "execute", blip)
    if retries_left:
        with pytest.raises(RetryableError, match="Connection reset"):
            runner.execute(job.id, stack, can_retry=lambda: True)
        after = ExportJob.get_by_id(job.id)
        assert (after.status, after.phase) == ("queued", "retrying")
    else:
        assert runner.execute(job.id, stack, can_retry=lambda: False).status == "failed"
        after = ExportJob.get_by_id(job.id)
        assert after.status == "failed" and after.error.startswith("gave up after retries")


@pytest.mark.slow
def test_with_a_limit_of_one_two_workers_run_the_exports_one_after_the_other(stack) -> None:
    limited = stack.with_(max_running_exports=1, job_lease_seconds=15)  # no lease expiry on a loaded machine
    pool = Workers(limited)
    try:
        first = job_service.create_export(limited, "Standard CSV")
        second = job_service.create_export(limited, "Standard CSV")
        pool.start()
        pool.start()
        both_running = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = [ExportJob.get_by_id(j.id).status for j in (first, second)]
            both_running |= statuses == ["running", "running"]
            if statuses == ["succeeded", "succeeded"]:
                break
            time.sleep(0.02)
        assert statuses == ["succeeded", "succeeded"]
        assert not both_running
        done_first, done_second = ExportJob.get_by_id(first.id), ExportJob.get_by_id(second.id)
        assert done_second.started_at >= done_first.finished_at.replace(microsecond=0)
    finally:
        pool.stop_all()


def test_a_job_waiting_for_a_slot_gives_its_worker_back(stack) -> None:
    """With a limit of one, the second export waits off the worker: that worker runs other work meanwhile."""
    from rq.job import Job as RqJob

    from engine.jobs.queues import get_queue, redis_for

    limited = stack.with_(max_running_exports=1, job_lease_seconds=15)
    pool = Workers(limited)
    try:
        first = job_service.create_export(limited, "Full catalogue XLSX")
        pool.start()
        wait_for(lambda: ExportJob.get_by_id(first.id).status == "running", message="the first export to run")
        second = job_service.create_export(limited, "Standard CSV")
        pool.start()
        wait_for(lambda: ExportJob.get_by_id(second.id).phase == "waiting", message="the second export to wait")
        other = get_queue(limited, "exports").enqueue("engine.jobs.tasks.purge_expired_artifacts")
        wait_for(
            lambda: RqJob.fetch(other.id, connection=redis_for(limited)).get_status() == "finished",
            message="other work to run while an export waits for its slot",
        )
        assert ExportJob.get_by_id(first.id).status == "running"
        assert ExportJob.get_by_id(second.id).status == "queued"
        events = events_until_end(limited, second.id)
        assert events[-1]["status"] == "succeeded"
        assert "waiting for a slot" in [e.get("message") for e in events]
        assert ExportJob.get_by_id(second.id).started_at >= ExportJob.get_by_id(first.id).finished_at.replace(
            microsecond=0
        )
    finally:
        pool.stop_all()


def test_cancelling_a_waiting_job_takes_it_out_of_the_line(stack) -> None:
    from engine.jobs.tasks import slots_for

    limited = stack.with_(max_running_exports=1)
    slots = slots_for(limited)
    assert slots.admit(10_000) == [10_000]  # another job holds the only slot
    job = job_service.create_export(limited, "Standard CSV")
    assert slots.admit(job.id) == [] and slots.is_waiting(job.id)
    cancelled = job_service.cancel_job(limited, job.id)
    assert cancelled.status == "cancelled" and not slots.is_waiting(job.id)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_cancels_the_cli_export_and_removes_its_partial_files(stack, sig, code) -> None:
    env = {**Workers(stack).env, "PM_EXPORTS_CHUNK_SIZE": "100"}
    out = stack.var_dir / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "export", "--format", "xlsx", "--out", str(out), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: ExportJob.select().where(ExportJob.processed > 0).exists() or proc.poll() is not None,
            message="the export to start",
        )
        proc.send_signal(sig)
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    (job,) = ExportJob.select()
    assert proc.returncode == code, stderr
    assert stderr.decode().strip().splitlines()[-1] == (
        f"{sig.name}: the export was cancelled and its partial files removed"
    )
    assert (job.status, job.phase, job.error) == ("cancelled", "cancelled", f"cancelled: interrupted by {sig.name}")
    assert list(out.iterdir()) == [], "no partial file, no work folder"


def test_the_scheduler_process_runs_rqs_scheduler_for_delayed_retries(redis_url: str, sqlite_db) -> None:
    """Workers under `pm-exports run` fork no RQ scheduler: the scheduler process queues the due retries."""
    import datetime as dt
    import threading

    from engine.jobs.queues import get_queue
    from engine.jobs.scheduler import run_rq_scheduler

    settings = sqlite_db.with_(redis_url=redis_url)
    queue = get_queue(settings, "exports")
    retry = queue.enqueue_in(dt.timedelta(seconds=0), "engine.jobs.tasks.run_job", 1)
    assert queue.get_job_ids() == []
    stop = threading.Event()
    thread = threading.Thread(target=run_rq_scheduler, args=(settings, stop, 0.2))
    thread.start()
    try:
        wait_for(lambda: queue.get_job_ids() == [retry.id], timeout=10, message="the retry to be queued")
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
