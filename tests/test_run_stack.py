"""`pm-exports run`'s supervisor owns every process it starts: a killed worker's forked children die with it, the
worker comes back, Ctrl-C leaves no process of the stack behind; a busy port is a clear error, exit 1, and the
banner comes only once the engine listens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.jobs import Stack, processes_in_sessions

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")

# a service that forks a child, as RQ's worker forks its scheduler, then both sleep
FORKING_SERVICE = "import os, time\nif os.fork() == 0:\n    time.sleep(600)\n    os._exit(0)\ntime.sleep(600)\n"


def wait_for(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_killed_workers_forked_child_is_killed_and_reaped_and_stop_leaves_nothing() -> None:
    stack = Stack([sys.executable, "-c", FORKING_SERVICE], dict(os.environ))
    try:
        worker = stack.start("worker-1", [])
        wait_for(lambda: len(processes_in_sessions({worker.pid})) == 2, 10, "the worker and its forked child")
        os.kill(worker.pid, signal.SIGKILL)  # the child is orphaned, as RQ's scheduler was
        wait_for(lambda: worker.poll() is not None, 10, "the worker to die")
        assert stack.watch() is None
        wait_for(lambda: not processes_in_sessions({worker.pid}), 10, "the orphan to be killed and reaped")
        restarted = stack.services["worker-1"][1]
        assert restarted.pid != worker.pid and restarted.poll() is None
    finally:
        stack.stop(grace=2)
    assert processes_in_sessions(stack.sessions) == []


def login_page_answers(address: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{address}/login", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class RunningStack:
    """`pm-exports run` as a subprocess; its output lines are collected by a thread."""

    def __init__(self, tmp_path: Path, grpc_port: int) -> None:
        self.env = {
            **os.environ,
            "PM_EXPORTS_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": "",
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing there: the embedded Redis starts
            "PM_EXPORTS_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
            "PM_EXPORTS_ADMIN_ADDRESS": f"127.0.0.1:{free_port()}",
            "PM_EXPORTS_LOG_FORMAT": "json",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "run", "--workers", "2", "--demo-products", "0"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


@pytest.fixture
def running_stacks() -> Iterator[list[RunningStack]]:
    started: list[RunningStack] = []
    yield started
    for stack in started:
        if stack.proc.poll() is None:
            stack.proc.send_signal(signal.SIGINT)
        try:
            stack.finish(timeout=30)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.finish()


def test_the_stack_restarts_a_killed_worker_and_leaves_no_process_after_ctrl_c(tmp_path: Path, running_stacks) -> None:
    port = free_port()
    stack = RunningStack(tmp_path, port)
    running_stacks.append(stack)
    wait_for(lambda: "Ctrl-C stops everything." in stack.output() or stack.proc.poll() is not None, 90, "the banner")
    assert stack.proc.poll() is None, stack.output()
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the banner came once the engine listened
    console = stack.env["PM_EXPORTS_ADMIN_ADDRESS"]
    assert f"Console:   http://{console}/" in stack.output()
    assert "log in as 'admin' with the password " in stack.output(), "a fresh install gets a first admin"
    wait_for(lambda: login_page_answers(console), 30, "the console to answer")
    services = children_of(stack.proc.pid)
    sessions = set(services)
    workers = [pid for pid in services if " worker " in cmdline(pid)]
    assert len(workers) == 2, [cmdline(pid) for pid in services]
    assert all(children_of(pid) == [] for pid in workers), "workers fork no RQ scheduler under the stack"
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: "exited with code -9: starting it again" in stack.output(), 30, "the restart")
    wait_for(lambda: not processes_in_sessions({workers[0]}), 10, "the dead worker's session to be empty")
    sessions |= set(children_of(stack.proc.pid))
    assert len([pid for pid in children_of(stack.proc.pid) if " worker " in cmdline(pid)]) == 2
    stack.proc.send_signal(signal.SIGINT)
    assert stack.finish() == 0, stack.output()
    assert stack.lines[-1] == "stopped."
    assert processes_in_sessions(sessions) == [], "a process of the stack survived"


def test_a_second_stack_on_a_busy_port_exits_1_with_a_clear_message(tmp_path: Path, running_stacks) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = RunningStack(tmp_path, port)
        running_stacks.append(stack)
        assert stack.finish() == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in stack.output()
    assert "gRPC:" not in stack.output(), "no banner for a stack that did not start"
