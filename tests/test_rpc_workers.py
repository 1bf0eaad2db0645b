"""The gRPC engine with real worker processes on the 20,000-product demo catalogue: RunExport streams rising
counters to a downloadable file equal to the inline CLI export; a watcher that disconnects resumes with
after_seq and gets every event exactly once; CancelJob stops a running export."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pm_exports_client import ExportsClient

from engine.settings import Settings
from tests.job_support import Workers
from tests.rpc_support import make_keys, start_engine

pytest_plugins = ["tests.job_fixtures"]


@pytest.fixture
def api(stack: Settings) -> Iterator[ExportsClient]:
    keys = make_keys()
    server, port = start_engine(stack)
    client = ExportsClient(f"127.0.0.1:{port}", keys["manager"])
    yield client
    client.close()
    server.stop(0).wait(10)


def cli_export(settings: Settings, out: Path) -> Path:
    env = {
        **os.environ,
        "PM_EXPORTS_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": "",
        "PM_EXPORTS_LOG_FORMAT": "json",
    }
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "export", "--template", "Standard CSV", "--out", str(out), "--quiet"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    (path,) = out.glob("*.csv")
    return path


@pytest.mark.slow
def test_run_export_streams_rising_counters_to_a_file_equal_to_the_cli_export(
    stack: Settings, workers: Workers, api: ExportsClient, tmp_path: Path
) -> None:
    workers.start()
    events = list(api.run_export("Standard CSV"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    processed = [e.processed for e in events]
    assert processed == sorted(processed) and len(set(processed)) >= 3
    final = events[-1]
    assert final.status == "succeeded" and final.processed == final.total > stack.inline_threshold
    downloaded = api.download(final.job_id, tmp_path / "downloads")
    assert downloaded.read_bytes() == cli_export(stack, tmp_path / "cli").read_bytes()


@pytest.mark.slow
def test_a_grpc_watcher_that_reconnects_gets_every_event_once(
    stack: Settings, workers: Workers, api: ExportsClient
) -> None:
    job = api.create_export("Full catalogue XLSX", background=True)
    workers.start()
    first = []
    for event in api.watch(job.id):
        first.append(event)
        if len(first) == 3:
            break  # the client goes away
    rest = list(api.watch(job.id, after_seq=first[-1].seq))
    seqs = [e.seq for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1))
    assert rest[-1].status == "succeeded"


def test_cancel_job_stops_a_running_export(stack: Settings, workers: Workers, api: ExportsClient) -> None:
    job = api.create_export("Full catalogue XLSX", background=True)
    workers.start()
    for event in api.watch(job.id):
        if event.processed >= 1000:
            break
    cancelled = api.cancel(job.id)
    assert cancelled.status in {"running", "cancelled"}
    final = list(api.watch(job.id))[-1]
    assert final.status == "cancelled" and final.processed < final.total
    assert not list(stack.export_dir.glob("*.xlsx"))
