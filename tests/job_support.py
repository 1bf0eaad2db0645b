"""Real `pm-exports worker` processes for the job tests (the fixtures are in tests/job_fixtures.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from engine.settings import Settings


class Workers:
    """Real `pm-exports worker` processes, each in its own process group."""

    def __init__(self, settings: Settings) -> None:
        self.env = {
            **os.environ,
            "PM_EXPORTS_VAR_DIR": str(settings.var_dir),
            "REDIS_URL": settings.redis_url,
            "PM_EXPORTS_CHUNK_SIZE": str(settings.chunk_size),
            "DATABASE_URL": "",
            "PM_EXPORTS_LOG_FORMAT": "json",
            "PM_EXPORTS_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
            "PM_EXPORTS_MAX_RUNNING_EXPORTS": str(settings.max_running_exports),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--queues", "exports"],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
