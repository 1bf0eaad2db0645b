"""Schedules benchmark: with 10,000 enabled schedules, does the scheduler fire the due ones within 1 s of their due
time, and what does a tick cost?

Creates the schedules in a fresh SQLite database under `--var` (daily ones spread over the day, `--due` of them due at
random instants of the next `--window` seconds), flushes a Redis database of its own (`--redis-url`, flushed again at
the end), then runs the scheduler's schedule loop (`maintenance.fire_schedules` every second, waking at the next due
time when it comes sooner, as `pm-exports scheduler` does) until the window has passed. Lag = the job's creation time
- its due time. Prints p50/p95/max lag, the process CPU per tick (idle ticks: finding nothing due among 10,000
schedules; busy ticks) and OK/MISS against the target (p95 lag under 1 s). It is a report: it exits 0 on a MISS.

    .venv/bin/python bench/bench_schedules.py [--schedules 10000] [--due 100] [--window 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python")]

from redis import Redis  # noqa: E402

from engine.catalog.demo import seed_demo  # noqa: E402
from engine.catalog.models import utcnow  # noqa: E402
from engine.db import current_database, open_database  # noqa: E402
from engine.jobs.scheduler import SCHEDULE_TICK_SECONDS  # noqa: E402
from engine.models import ExportJob, Schedule  # noqa: E402
from engine.services import schedules  # noqa: E402
from engine.services.maintenance import fire_schedules  # noqa: E402
from engine.services.setup import upgrade  # noqa: E402
from engine.settings import Settings  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
TARGET_P95_SECONDS = 1.0


def create_schedules(settings: Settings, count: int, due: int, window: float, rng: random.Random) -> None:
    """`count` daily schedules at minutes spread over the day (rows written in bulk), `due` of them moved to random
    instants of the next `window` seconds. The first goes through the service, which validates the template."""
    schedules.create_schedule(settings, "bench-0", {"template": "Standard CSV", "frequency": "daily 06:00"})
    template = Schedule.get(Schedule.name == "bench-0")
    now = utcnow()
    rows = []
    for n in range(1, count):
        minute = n % 1440
        frequency = f"daily {minute // 60:02d}:{minute % 60:02d}"
        rows.append({
            "name": f"bench-{n}", "template_name": template.template_name, "overrides": {},
            "frequency": frequency, "timezone": "Europe/Paris", "enabled": True, "overlap": "queue",
            "catch_up": "once", "retry_count": 0, "retry_backoff": 60, "max_failures": 5,
            "notifications": {"on": ["failed"]}, "next_run_at": now + dt.timedelta(hours=1 + n % 20),
            "runs": 0, "succeeded": 0, "partial": 0, "failed": 0, "consecutive_failures": 0,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    with current_database().atomic():
        for start in range(0, len(rows), 500):
            Schedule.insert_many(rows[start : start + 500]).execute()
    chosen = rng.sample(range(count), due)
    start = utcnow() + dt.timedelta(seconds=2)
    with current_database().atomic():
        for n in chosen:
            instant = start + dt.timedelta(seconds=rng.uniform(0, window))
            Schedule.update(next_run_at=instant).where(Schedule.name == f"bench-{n}").execute()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100, help="schedules due during the window")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which they fall due")
    parser.add_argument("--var", default=str(ROOT / "var" / "bench" / "schedules"))
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()
    var = Path(args.var)
    shutil.rmtree(var, ignore_errors=True)
    settings = Settings.build(var_dir=str(var), redis_url=args.redis_url, log_level="WARNING")
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    open_database(settings)
    upgrade(settings)
    seed_demo(200)
    rng = random.Random(11)
    create_schedules(settings, args.schedules, args.due, args.window, rng)
    print(f"{Schedule.select().count()} enabled schedules, {args.due} due over the next {args.window:.0f} s")

    idle_cpu: list[float] = []
    busy_cpu: list[float] = []
    end = time.monotonic() + args.window + 4
    try:
        while time.monotonic() < end:
            cpu = time.process_time()
            report = fire_schedules(settings)
            spent = time.process_time() - cpu
            (busy_cpu if report.fired else idle_cpu).append(spent * 1000)
            time.sleep(
                SCHEDULE_TICK_SECONDS if report.next_due_in is None else min(SCHEDULE_TICK_SECONDS, report.next_due_in)
            )
        lags = [
            (job.created_at - job.due_at).total_seconds()
            for job in ExportJob.select(ExportJob.created_at, ExportJob.due_at).where(ExportJob.due_at.is_null(False))
        ]
    finally:
        redis.flushdb()
    if not lags:
        print("no schedule fired: MISS")
        return 0
    p95 = percentile(lags, 0.95)
    print(f"fired {len(lags)} of {args.due} due schedules")
    print(f"lag after the due time: p50 {statistics.median(lags):.3f} s  p95 {p95:.3f} s  max {max(lags):.3f} s")
    if idle_cpu:
        print(f"CPU per idle tick (nothing due among {args.schedules}): mean {statistics.mean(idle_cpu):.2f} ms")
    if busy_cpu:
        print(f"CPU per tick that fired: mean {statistics.mean(busy_cpu):.1f} ms  max {max(busy_cpu):.1f} ms")
    verdict = "OK" if p95 <= TARGET_P95_SECONDS and len(lags) == args.due else "MISS"
    print(f"target p95 lag <= {TARGET_P95_SECONDS:.0f} s, every due schedule fired: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
