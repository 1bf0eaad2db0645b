"""gRPC + RQ benchmark: event latency from worker to client, many watchers on one export, and a whole export
through gRPC + RQ against the inline CLI export of the same template (a report, not a test).

Seeds N demo products into `var/bench/<N>/` (or reuses them, like bench_export.py), flushes a Redis database of
its own (default redis://127.0.0.1:6379/9), creates a manager API key, then starts the real stack as
subprocesses: `pm-exports serve` on a free loopback port and one `pm-exports worker`. Every measured client
runs in its own subprocess, through the generated client (`pm_exports_client.ExportsClient`):

1. Event latency: CreateExport then WatchJob; latency = client receive time - the event's `time` (set by the
   publisher in the worker; same machine clock), over the live events of `--runs` exports; event rate.
2. `--watchers` threads, each with its own channel (and TCP connection) unless `--shared-channel`, watch one
   export: every watcher must get every event exactly once and in seq order; latency across watchers; the
   server's CPU time and RSS read from /proc.
3. The "Standard CSV" export through RunExport (until succeeded) + DownloadArtifact, timed from the request to
   the last byte downloaded, alternating with `pm-exports export --template "Standard CSV"` in a subprocess
   (its process wall time); medians; target: gRPC + RQ at least 0.9x the inline rows/s. The downloaded file
   must be byte-identical (SHA-256) to the inline one.

Prints a table and writes it as Markdown (and the raw figures as JSON) to `var/bench/results-grpc-<N>.md`.
Always exits 0 when it ran, even on a MISS. The jobs, exclusions, artifacts and API key it created are deleted
from the bench database at the end.

    .venv/bin/python bench/bench_grpc.py --products 100000 --keep
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATE = "Standard CSV"
SPEED_TARGET = 0.9  # gRPC + RQ rows/s at least this share of the inline CLI's
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
ROOT = Path(__file__).resolve().parents[1]
API_KEY_VAR = "PM_EXPORTS_BENCH_API_KEY"  # how the parent hands its API key to the measuring children
CLI_SUMMARY = re.compile(r"Export #(\d+) .*?: (\d+) rows exported of (\d+) selected")


def _pm_exports() -> list[str]:
    """The `pm-exports` console script of this interpreter's environment (or `python -m engine.cli`)."""
    script = Path(sys.executable).with_name("pm-exports")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "engine.cli"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: with few samples it is an observed value)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)) - 1, 0)]


# ---------------------------------------------------------------------------------------------------------
# Child processes: one measured client each, reporting one JSON line


def _connect(target: str, api_key: str, options: list[tuple[str, Any]] | None = None) -> Any:
    import grpc
    from pm_exports_client import ExportsClient

    client = ExportsClient(target, api_key, channel_options=options or ())
    grpc.channel_ready_future(client.channel).result(timeout=30)
    return client


def child_watch(target: str, api_key: str, watchers: int, shared: bool) -> dict[str, Any]:
    """Create one export, then watch it from `watchers` threads; each records (seq, status, processed, event
    time, receive time) per event and the time it called WatchJob."""
    # own channels must not share gRPC core's global subchannel pool, or they would share one TCP connection
    options = [] if shared else [("grpc.use_local_subchannel_pool", 1)]
    clients = [_connect(target, api_key, options) for _ in range(1 if shared else watchers)]
    go = threading.Event()
    job: dict[str, int] = {}
    results: list[dict[str, Any]] = [{} for _ in range(watchers)]

    def watch(i: int) -> None:
        client = clients[0 if shared else i]
        go.wait()
        seen: list[tuple[int, str, int, float, float]] = []
        started = time.time()
        try:
            for event in client.watch(job["id"]):
                received = time.time()
                sent = event.time.timestamp() if event.time is not None else math.nan
                seen.append((event.seq, event.status, event.processed, sent, received))
            results[i] = {"started": started, "events": seen}
        except Exception as exc:  # reported, not raised: the parent counts failed watchers
            results[i] = {"started": started, "events": seen, "error": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=watch, args=(i,), name=f"watcher-{i}") for i in range(watchers)]
    for thread in threads:
        thread.start()
    job["id"] = clients[0].create_export(TEMPLATE, background=True).id
    go.set()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return {"job_id": job["id"], "watchers": results}


def child_grpc_run(target: str, api_key: str, out: Path) -> dict[str, Any]:
    """RunExport until the job ends, then DownloadArtifact; timed from the request to the last byte."""
    client = _connect(target, api_key)
    wall_start = time.time()
    started = time.perf_counter()
    events = list(client.run_export(TEMPLATE, background=True))
    finished_at = time.perf_counter()
    last = events[-1]
    if last.status != "succeeded":
        raise SystemExit(f"job {last.job_id} ended {last.status}: {last.message}")
    path = client.download(last.job_id, out)
    seconds = time.perf_counter() - started
    client.close()
    running = next((e for e in events if e.status == "running" and e.time is not None), None)
    run_start = running.time.timestamp() if running is not None and running.time is not None else wall_start
    end = last.time.timestamp() if last.time is not None else wall_start + (finished_at - started)
    return {
        "seconds": seconds,
        "rows": last.exported,
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
        "events": len(events),
        "job_id": last.job_id,
        "until_running": run_start - wall_start,  # create, queue, worker pick-up
        "running": end - run_start,  # the export in the worker, artifact recorded, last event published
        "download": seconds - (finished_at - started),
    }


def child_main(args: argparse.Namespace) -> None:
    role, api_key = args.child, os.environ[API_KEY_VAR]
    if role == "watch":
        report = child_watch(args.target, api_key, args.watchers, args.shared_channel)
    elif role == "grpc-run":
        Path(args.out).mkdir(parents=True, exist_ok=True)
        report = child_grpc_run(args.target, api_key, Path(args.out))
    else:
        raise SystemExit(f"unknown child role {role!r}")
    print(json.dumps(report), flush=True)


# ---------------------------------------------------------------------------------------------------------
# Parent: the stack, /proc readings, the three measurements, the report


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_mb(pid: int, name: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024  # kB
    return math.nan


def established_connections(pid: int, port: int) -> int:
    """TCP connections established to `port` on this host (the server's clients), from /proc/<pid>/net."""
    count = 0
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{name}", encoding="ascii") as fh:
            next(fh)  # header
            for line in fh:
                local, _remote, state = line.split()[1:4]
                count += state == "01" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's finished (waited-for) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ProcSampler:
    """Samples a process's RSS (and the connections to `port`) every 50 ms while a measurement runs; CPU time
    before/after."""

    def __init__(self, pid: int, port: int = 0) -> None:
        self.pid = pid
        self.port = port
        self.peak_rss_mb = 0.0
        self.peak_connections = 0
        self.rss_before_mb = proc_status_mb(pid, "VmRSS")
        self.cpu_before = proc_cpu_seconds(pid)
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sample-{pid}", daemon=True)

    def _run(self) -> None:
        while True:
            try:
                self.peak_rss_mb = max(self.peak_rss_mb, proc_status_mb(self.pid, "VmRSS"))
                if self.port:
                    self.peak_connections = max(self.peak_connections, established_connections(self.pid, self.port))
            except OSError:
                return
            if self._stop.wait(0.05):
                return

    def __enter__(self) -> ProcSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = proc_cpu_seconds(self.pid) - self.cpu_before


class Stack:
    """`pm-exports serve` and one `pm-exports worker` as subprocesses, logging into `logs`."""

    def __init__(self, env: dict[str, str], logs: Path, port: int) -> None:
        self.env = env
        self.logs = logs
        self.port = port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        commands = {
            "serve": [*_pm_exports(), "serve", "--address", self.target],
            "worker": [*_pm_exports(), "worker", "--name", f"bench-grpc-{os.getpid()}"],
        }
        for name, cmd in commands.items():
            with (self.logs / f"{name}.log").open("wb") as log:
                # own session: a Ctrl-C of the benchmark reaches them only through stop()
                self.procs[name] = subprocess.Popen(
                    cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"`pm-exports {name}` exited with code {proc.returncode}:\n{tail}")

    def wait_ready(self, redis_url: str, timeout: float = 60.0) -> None:
        """Until the health service says SERVING and the worker has registered with RQ."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        from redis import Redis
        from rq import Worker

        deadline = time.monotonic() + timeout
        redis = Redis.from_url(redis_url)
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                self.check_alive()
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
                    if status == health_pb2.HealthCheckResponse.SERVING and Worker.count(connection=redis) >= 1:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the stack was not ready after {timeout:.0f} s (logs in {self.logs})")
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_child(args: list[str], api_key: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    env = {**os.environ, API_KEY_VAR: api_key}  # not on the command line, where `ps` would show it
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the benchmark child {args[:2]} failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def clear_artifacts(export_dir: Path) -> None:
    """The engine's export files of finished jobs (~90 MB each at 100,000 products): not needed once measured."""
    if export_dir.is_dir():
        for path in export_dir.iterdir():
            if path.is_file():
                path.unlink()


# --- 1 and 2: watchers -------------------------------------------------------------------------------------


@dataclass
class WatchRun:
    """One watched export: what each watcher saw, and the server's and worker's resource use meanwhile."""

    job_id: int
    watchers: list[dict[str, Any]]
    seconds: float
    server: ProcSampler
    worker: ProcSampler

    def live_latencies_ms(self) -> list[float]:
        """Receive time - publish time of the events published after the watcher called WatchJob (earlier ones
        come from the replay: their delay is the watcher's start, not the delivery)."""
        return [
            (received - sent) * 1000
            for w in self.watchers
            for _seq, _status, _processed, sent, received in w["events"]
            if sent >= w["started"]
        ]

    def fan_out_ms(self) -> tuple[list[float], list[float]]:
        """Per event delivered live to every watcher: the latency of its first and of its last delivery."""
        by_seq: dict[int, list[float]] = {}
        for w in self.watchers:
            for seq, _status, _processed, sent, received in w["events"]:
                if sent >= w["started"]:
                    by_seq.setdefault(seq, []).append((received - sent) * 1000)
        complete = [v for v in by_seq.values() if len(v) == len(self.watchers)]
        return [min(v) for v in complete], [max(v) for v in complete]

    def replayed(self) -> int:
        return sum(1 for w in self.watchers for e in w["events"] if e[3] < w["started"])

    def event_rate(self) -> tuple[int, float]:
        """(events of the job, events per second between its first and last event), from the first watcher."""
        events = self.watchers[0]["events"]
        span = events[-1][3] - events[0][3] if len(events) > 1 else 0.0
        return len(events), (len(events) - 1) / span if span > 0 else 0.0

    def ordering_problems(self) -> list[str]:
        """Every watcher must see seqs 1..last, each once, in order, ending with a terminal event; and all the
        watchers must have seen the same events."""
        problems = []
        reference = [(e[0], e[1], e[2]) for e in self.watchers[0]["events"]]
        for i, w in enumerate(self.watchers):
            seqs = [e[0] for e in w["events"]]
            if w.get("error"):
                problems.append(f"watcher {i}: {w['error']}")
            if seqs != list(range(1, len(seqs) + 1)):
                problems.append(f"watcher {i}: seqs {seqs[:5]}...{seqs[-5:]} are not 1..{len(seqs)} in order")
            if not w["events"] or w["events"][-1][1] != "succeeded":
                problems.append(f"watcher {i}: did not end with a succeeded event")
            if [(e[0], e[1], e[2]) for e in w["events"]] != reference:
                problems.append(f"watcher {i}: saw other events than watcher 0")
        return problems


def watch_export(stack: Stack, api_key: str, watchers: int, shared: bool) -> WatchRun:
    args = ["--child", "watch", "--target", stack.target, "--watchers", str(watchers)]
    if shared:
        args.append("--shared-channel")
    with ProcSampler(stack.pid("serve"), stack.port) as server, ProcSampler(stack.pid("worker")) as worker:
        started = time.perf_counter()
        data = run_child(args, api_key)
        seconds = time.perf_counter() - started
    return WatchRun(data["job_id"], data["watchers"], seconds, server, worker)


# --- 3: gRPC + RQ against the inline CLI --------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rows: int
    sha256: str
    bytes: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def job_pipeline_seconds(db_path: Path, job_id: int) -> float:
    """The pipeline's own time (`ExportRun.execute()`), as recorded in the job's report by the CLI or worker."""
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        (report,) = con.execute("SELECT report FROM export_job WHERE id = ?", (job_id,)).fetchone()
    finally:
        con.close()
    return float(json.loads(report)["seconds"])


def run_cli(env: dict[str, str], out: Path, db_path: Path) -> Sample:
    """`pm-exports export --template "Standard CSV"` in a subprocess, timed as a whole (interpreter start-up,
    imports, database opening included: that is what running the CLI costs)."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [*_pm_exports(), "export", "--template", TEMPLATE, "--out", str(out), "--quiet"]
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    cpu = children_cpu_seconds() - cpu_before
    match = CLI_SUMMARY.search(proc.stdout)
    files = [p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")]
    if proc.returncode != 0 or match is None or len(files) != 1:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the inline CLI export failed (exit code {proc.returncode}, files {files})")
    sample = Sample(seconds, int(match.group(2)), _sha256(files[0]), files[0].stat().st_size)
    sample.extra["pipeline"] = job_pipeline_seconds(db_path, int(match.group(1)))
    sample.extra["cpu"] = cpu
    shutil.rmtree(out, ignore_errors=True)
    return sample


def run_grpc(stack: Stack, api_key: str, out: Path, export_dir: Path, db_path: Path) -> Sample:
    before = {name: proc_cpu_seconds(stack.pid(name)) for name in ("worker", "serve")}
    client_before = children_cpu_seconds()
    data = run_child(["--child", "grpc-run", "--target", stack.target, "--out", str(out)], api_key)
    cpu = {name: proc_cpu_seconds(stack.pid(name)) - cpu for name, cpu in before.items()}
    cpu["client"] = children_cpu_seconds() - client_before
    shutil.rmtree(out, ignore_errors=True)
    clear_artifacts(export_dir)
    extra = {k: data[k] for k in ("until_running", "running", "download", "events", "job_id")}
    extra["pipeline"] = job_pipeline_seconds(db_path, data["job_id"])
    extra.update({f"cpu_{name}": seconds for name, seconds in cpu.items()})
    extra["cpu"] = sum(cpu.values())
    return Sample(data["seconds"], data["rows"], data["sha256"], data["bytes"], extra)


# --- report --------------------------------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    if not values:
        return "no live events"
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f} / {max(values):.1f} ms"


def _cpu(run: WatchRun) -> str:
    return f"{run.server.cpu_seconds:.2f} s over {run.seconds:.1f} s ({run.server.cpu_seconds / run.seconds:.0%})"


HEADERS = ["measurement", "result", "target", "OK/MISS"]


def report_rows(
    single: list[WatchRun], many: WatchRun, watchers: int, shared: bool, cli: list[Sample], grpc: list[Sample]
) -> list[list[str]]:
    rows: list[list[str]] = []
    lat1 = [v for run in single for v in run.live_latencies_ms()]
    rows.append([
        f"event latency worker->client, 1 watcher: p50 / p95 / max ({len(lat1)} live events, {len(single)} export(s))",
        _ms(lat1), "-", "-",
    ])  # fmt: skip
    counts_rates = [run.event_rate() for run in single]
    rows.append([
        "events per export; event rate while the job runs (median)",
        f"{statistics.median(c for c, _ in counts_rates):.0f}; {statistics.median(r for _, r in counts_rates):.1f}/s",
        "-", "-",
    ])  # fmt: skip
    problems = many.ordering_problems()
    n_events = len(many.watchers[0]["events"])
    channel = "one shared channel" if shared else "own channel + TCP connection each"
    rows.append([
        f"{watchers} watchers ({channel}): every event once, in seq order",
        f"{watchers - len({p.split(':')[0] for p in problems})}/{watchers} watchers got seq 1..{n_events}",
        "all", "MISS" if problems else "OK",
    ])  # fmt: skip
    lat_many = many.live_latencies_ms()
    rows.append([
        f"event latency, {watchers} watchers: p50 / p95 / max ({len(lat_many)} live, {many.replayed()} replayed)",
        _ms(lat_many), "-", "-",
    ])  # fmt: skip
    first, last = many.fan_out_ms()
    if len(many.watchers) > 1 and first:
        rows.append([
            f"fan-out per event ({len(first)} events): latency of its first delivery p50 / p95 -> of its last",
            f"{percentile(first, 50):.1f} / {percentile(first, 95):.1f} ms -> "
            f"{percentile(last, 50):.1f} / {percentile(last, 95):.1f} ms",
            "-", "-",
        ])  # fmt: skip
    per_watcher = (many.server.cpu_seconds - statistics.median(r.server.cpu_seconds for r in single)) / max(
        watchers - 1, 1
    )
    rows.append([
        f"server CPU during the export: 1 watcher (median) -> {watchers} watchers",
        f"{_cpu(sorted(single, key=lambda r: r.server.cpu_seconds)[len(single) // 2])} -> {_cpu(many)}; "
        f"{per_watcher * 1000:.0f} ms per extra watcher",
        "-", "-",
    ])  # fmt: skip
    rows.append([
        f"server RSS before -> peak during the {watchers}-watcher export; peak client TCP connections",
        f"{many.server.rss_before_mb:.0f} -> {many.server.peak_rss_mb:.0f} MB; {many.server.peak_connections}",
        "-", "-",
    ])  # fmt: skip
    ratio = statistics.median(g.rate / c.rate for c, g in zip(cli, grpc, strict=True))
    rows.append([
        f"export {cli[0].rows:,} rows: gRPC + RQ (request -> last byte) vs inline CLI (process wall), rows/s",
        f"{statistics.median(g.rate for g in grpc):,.0f} vs {statistics.median(c.rate for c in cli):,.0f}: "
        f"{ratio:.2f}x",
        f">= {SPEED_TARGET}x", "OK" if ratio >= SPEED_TARGET else "MISS",
    ])  # fmt: skip
    med = {k: statistics.median(g.extra[k] for g in grpc) for k in ("until_running", "running", "download")}
    g_pipeline = statistics.median(g.extra["pipeline"] for g in grpc)
    g_bookkeeping = statistics.median(g.extra["running"] - g.extra["pipeline"] for g in grpc)
    c_pipeline = statistics.median(c.extra["pipeline"] for c in cli)
    c_rest = statistics.median(c.seconds - c.extra["pipeline"] for c in cli)
    rows.append([
        "time split, s: gRPC = queue + worker pipeline + worker rest + download; CLI = start-up etc. + pipeline",
        f"gRPC {statistics.median(g.seconds for g in grpc):.2f} = {med['until_running']:.2f} + {g_pipeline:.2f} + "
        f"{g_bookkeeping:.2f} + {med['download']:.2f}; CLI {statistics.median(c.seconds for c in cli):.2f} = "
        f"{c_rest:.2f} + {c_pipeline:.2f}",
        "-", "-",
    ])  # fmt: skip
    cpu = {k: statistics.median(g.extra[f"cpu_{k}"] for g in grpc) for k in ("worker", "serve", "client")}
    rows.append([
        "CPU time per export, s (medians): gRPC = worker + server + client; CLI process",
        f"gRPC {statistics.median(g.extra['cpu'] for g in grpc):.2f} = {cpu['worker']:.2f} + {cpu['serve']:.2f} + "
        f"{cpu['client']:.2f}; CLI {statistics.median(c.extra['cpu'] for c in cli):.2f}",
        "-", "-",
    ])  # fmt: skip
    hashes = {s.sha256 for s in (*cli, *grpc)}
    rows.append([
        "downloaded file = inline CLI file (SHA-256, every run)",
        f"{'identical' if len(hashes) == 1 else f'{len(hashes)} different hashes'} "
        f"({cli[0].bytes / 1e6:,.1f} MB, {next(iter(hashes))[:12]}…)",
        "identical", "OK" if len(hashes) == 1 else "MISS",
    ])  # fmt: skip
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def markdown_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADERS) + " |", "|---|---|---|---|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


# --- main ----------------------------------------------------------------------------------------------------


def stack_env(bench_dir: Path, redis_url: str, port: int, export_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PM_EXPORTS_VAR_DIR": str(bench_dir.resolve()),
        "DATABASE_URL": "",  # SQLite at $PM_EXPORTS_VAR_DIR/pm_exports.db: the bench database
        "REDIS_URL": redis_url,
        "PM_EXPORTS_EXPORT_DIR": str(export_dir.resolve()),
        "PM_EXPORTS_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "PM_EXPORTS_TLS_CERT": "",
        "PM_EXPORTS_TLS_KEY": "",
        "PM_EXPORTS_TLS_CLIENT_CA": "",
        "PM_EXPORTS_LOG_FORMAT": "json",
    }


def forget_bench_rows(db_path: Path, first_job_id: int, key_id: int) -> None:
    """Delete the jobs (with their exclusions and artifacts) and the API key this run created."""
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        with con:
            for table in ("job_exclusion", "artifact"):
                con.execute(f"DELETE FROM {table} WHERE job_id > ?", (first_job_id,))
            con.execute("DELETE FROM export_job WHERE id > ?", (first_job_id,))
            con.execute("DELETE FROM api_key WHERE id = ?", (key_id,))
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def parent_main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_export  # the same seeded database, cache warming and machine line as the export benchmark
    from redis import Redis

    from engine.db import open_database
    from engine.models import ExportJob
    from engine.services.apikeys import create_api_key
    from engine.settings import Settings

    n = args.products
    var = Path(args.var)
    bench_dir = var / str(n)
    print(
        f"PM Exports gRPC + RQ benchmark: {n:,} products, template {TEMPLATE!r}, runs {args.runs}, "
        f"{args.watchers} watchers"
    )
    print(f"Machine: {bench_export.machine()}")
    redis = Redis.from_url(args.redis_url)
    try:
        redis.ping()
    except Exception as exc:
        raise SystemExit(f"Redis does not answer at {args.redis_url}: {exc}") from None
    redis.flushdb()
    db_path, how = bench_export.prepare_database(n, bench_dir)
    print(f"Database: {how}; Redis: {args.redis_url} (flushed)")
    bench_export.warm_cache(db_path)

    settings = Settings.build(var_dir=str(bench_dir), database_url=f"sqlite:///{db_path}", redis_url=args.redis_url)
    db = open_database(settings)
    first_job_id = ExportJob.select(ExportJob.id).order_by(ExportJob.id.desc()).scalar() or 0
    api_key, key_row = create_api_key(f"bench-grpc-{os.getpid()}", "manager")
    db.close()

    work = bench_dir / "out-grpc"
    export_dir = work / "exports"
    port = free_port()
    stack = Stack(stack_env(bench_dir, args.redis_url, port, export_dir), work / "logs", port)
    single: list[WatchRun] = []
    cli: list[Sample] = []
    grpc: list[Sample] = []
    try:
        stack.start()
        stack.wait_ready(args.redis_url)
        print(
            f"Stack: pm-exports serve on {stack.target} (pid {stack.pid('serve')}), 1 worker "
            f"(pid {stack.pid('worker')})",
            flush=True,
        )

        print("1. Event latency, one watcher (CreateExport + WatchJob):", flush=True)
        for i in range(1, args.runs + 1):
            run = watch_export(stack, api_key, 1, False)
            clear_artifacts(export_dir)
            single.append(run)
            count, rate = run.event_rate()
            print(
                f"  run {i}/{args.runs}: job {run.job_id}, {count} events ({rate:.1f}/s), latency p50/p95/max "
                f"{_ms(run.live_latencies_ms())}; server CPU {_cpu(run)}",
                flush=True,
            )

        mode = "one shared channel" if args.shared_channel else "own channel each"
        print(f"2. {args.watchers} concurrent watchers ({mode}) on one export:", flush=True)
        many = watch_export(stack, api_key, args.watchers, args.shared_channel)
        clear_artifacts(export_dir)
        problems = many.ordering_problems()
        print(
            f"  job {many.job_id}: {len(many.watchers[0]['events'])} events each, latency p50/p95/max "
            f"{_ms(many.live_latencies_ms())} ({many.replayed()} replayed); server CPU {_cpu(many)}, RSS "
            f"{many.server.rss_before_mb:.0f} -> {many.server.peak_rss_mb:.0f} MB, "
            f"{many.server.peak_connections} connections; {len(problems)} ordering problem(s)",
            flush=True,
        )
        for problem in problems[:10]:
            print(f"  {problem}")

        print(f"3. {TEMPLATE} export: inline CLI vs gRPC + RQ, alternating:", flush=True)
        for i in range(1, args.runs + 1):
            c = run_cli(stack.env, work / f"cli-{i}", db_path)
            g = run_grpc(stack, api_key, work / f"grpc-{i}", export_dir, db_path)
            cli.append(c)
            grpc.append(g)
            same = "same file" if c.sha256 == g.sha256 else "FILES DIFFER"
            cli_text = f"CLI {c.rate:>8,.0f} rows/s ({c.seconds:.2f} s, pipeline {c.extra['pipeline']:.2f})"
            parts = f"{g.extra['until_running']:.2f} queue + {g.extra['running']:.2f} in worker (pipeline "
            parts += f"{g.extra['pipeline']:.2f}) + {g.extra['download']:.2f} download"
            grpc_text = f"gRPC {g.rate:>8,.0f} rows/s ({g.seconds:.2f} s = {parts}; {g.extra['events']} events)"
            print(
                f"  run {i}/{args.runs}: {cli_text} | {grpc_text} | ratio {g.rate / c.rate:.2f}x | {same}", flush=True
            )
            if c.rows != g.rows:
                print(f"  WARNING: the CLI wrote {c.rows:,} rows, gRPC {g.rows:,}")
        server_hwm = proc_status_mb(stack.pid("serve"), "VmHWM")
        worker_hwm = proc_status_mb(stack.pid("worker"), "VmHWM")
    finally:
        stack.stop()
        forget_bench_rows(db_path, first_job_id, key_row.id)
        redis.flushdb()
        shutil.rmtree(work / "exports", ignore_errors=True)

    rows = report_rows(single, many, args.watchers, args.shared_channel, cli, grpc)
    rows.append(["peak RSS since start (VmHWM): server; worker", f"{server_hwm:.0f} MB; {worker_hwm:.0f} MB", "-", "-"])
    print()
    print(
        f"N = {n:,} products; {args.runs} runs; medians (ratio: median of the per-pair gRPC/CLI ratios); "
        "latencies: nearest-rank percentiles of live events"
    )
    print(text_table(rows))
    misses = [r[0] for r in rows if r[-1] == "MISS"]
    print(f"MISS: {'; '.join(misses)}" if misses else "All targets met.")

    var.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    md = [
        f'gRPC + RQ benchmark, {n:,} products, template "{TEMPLATE}" ({stamp}; {bench_export.machine()}; '
        f"{args.runs} runs; 1 worker; medians, ratio = median of the per-pair gRPC/CLI ratios; latencies are "
        "nearest-rank percentiles of live events)",
        "",
        markdown_table(rows),
        "",
    ]
    (var / f"results-grpc-{n}.md").write_text("\n".join(md), encoding="utf-8")
    raw = {
        "single_watcher": [
            {
                "job_id": r.job_id,
                "latencies_ms": r.live_latencies_ms(),
                "server_cpu_s": r.server.cpu_seconds,
                "worker_cpu_s": r.worker.cpu_seconds,
                "seconds": r.seconds,
            }
            for r in single
        ],
        "watchers": {
            "count": args.watchers,
            "shared_channel": args.shared_channel,
            "job_id": many.job_id,
            "latencies_ms": many.live_latencies_ms(),
            "replayed": many.replayed(),
            "fan_out_first_last_ms": list(zip(*many.fan_out_ms(), strict=True)),
            "problems": many.ordering_problems(),
            "server_cpu_s": many.server.cpu_seconds,
            "worker_cpu_s": many.worker.cpu_seconds,
            "seconds": many.seconds,
            "server_rss_before_mb": many.server.rss_before_mb,
            "server_peak_rss_mb": many.server.peak_rss_mb,
            "server_peak_connections": many.server.peak_connections,
        },
        "export": {
            "cli": [{"seconds": s.seconds, "rows": s.rows, "sha256": s.sha256, **s.extra} for s in cli],
            "grpc": [{"seconds": s.seconds, "rows": s.rows, "sha256": s.sha256, **s.extra} for s in grpc],
        },
        "server_vmhwm_mb": server_hwm,
        "worker_vmhwm_mb": worker_hwm,
    }
    (var / f"results-grpc-{n}.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"Written: {var / f'results-grpc-{n}.md'}")
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        shutil.rmtree(bench_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000, help="products to seed (default 100000)")
    parser.add_argument("--runs", type=int, default=3, help="watched exports, and CLI/gRPC pairs (default 3)")
    parser.add_argument("--watchers", type=int, default=50, help="concurrent watchers of one export (default 50)")
    parser.add_argument("--shared-channel", action="store_true", help="the watchers share one channel")
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help=f"flushed at start and end ({DEFAULT_REDIS_URL})"
    )
    parser.add_argument("--var", default="var/bench", help="working folder (default var/bench)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded database in VAR/<N>/ afterwards; a later run holding N products reuses it",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return
    if args.products < 1 or args.runs < 1 or args.watchers < 1:
        parser.error("--products, --runs and --watchers must be at least 1")
    parent_main(args)


if __name__ == "__main__":
    main()
