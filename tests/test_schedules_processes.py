"""Two real scheduler processes racing over a simulated day of 1,440 due minutes (on PostgreSQL, the database
several machines share): exactly one job per due time. The day is Paris's 25-hour 31 October 2027: an every-minute
cron fires each wall minute once, so the repeated hour (02:00-02:59, first in CEST then in CET) fires only its first
occurrence and the day has 1,440 due minutes in 1,500 real ones."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.models import ExportJob, ScheduleRun
from engine.services import schedules
from engine.services.setup import upgrade
from engine.settings import Settings
from tests.conftest import empty_database
from tests.small_catalog import build_small_catalog

DAY_START = dt.datetime(2027, 10, 30, 23, 0)  # naive UTC: midnight in Paris, the day of the fall-back change
MINUTES = 25 * 60  # real minutes of the Paris day of 31 October 2027
REPEATED_HOUR = (dt.datetime(2027, 10, 31, 1, 0), dt.datetime(2027, 10, 31, 2, 0))  # 02:00-02:59 CET, in UTC


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_fire_each_due_time_exactly_once(tmp_path: Path, redis_url: str) -> None:
    with empty_database("postgres", Settings.build(var_dir=str(tmp_path / "var"), redis_url=redis_url)) as settings:
        upgrade(settings)
        build_small_catalog()
        before = DAY_START - dt.timedelta(seconds=30)
        expected = {"every-minute": 24 * 60, "daily": 1}
        for name, frequency in (("every-minute", "cron * * * * *"), ("daily", "daily 02:30")):
            values = {"template": "Standard CSV", "frequency": frequency, "overlap": "queue"}
            schedules.create_schedule(settings, name, values, now=before)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PM_EXPORTS_LOG_LEVEL": "WARNING"}
        args = [settings.database_url, str(settings.var_dir), redis_url, DAY_START.isoformat(), str(MINUTES), "2"]
        command = [sys.executable, "-m", "tests.schedule_firing_process", *args]
        procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE) for _ in range(2)]
        fired = [int(proc.communicate(timeout=900)[0]) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0]
        assert sum(fired) == sum(expected.values())
        assert min(fired) > 0, f"one process fired everything {fired}: the race was not exercised"
        for name, count in expected.items():
            schedule_id = schedules.schedule_id_of(name)
            due = [job.due_at for job in ExportJob.select(ExportJob.due_at).where(ExportJob.schedule_id == schedule_id)]
            assert len(due) == count, name
            assert max(Counter(due).values()) == 1, f"{name}: a due time fired twice"
            runs = ScheduleRun.select().where(ScheduleRun.schedule == schedule_id)
            assert [run.status for run in runs] == ["queued"] * count
        minute = schedules.schedule_id_of("every-minute")
        minute_jobs = ExportJob.select(ExportJob.due_at).where(ExportJob.schedule_id == minute)
        minutes = [DAY_START + dt.timedelta(minutes=m) for m in range(MINUTES)]
        wall_minutes = [t for t in minutes if not REPEATED_HOUR[0] <= t < REPEATED_HOUR[1]]
        assert sorted(job.due_at for job in minute_jobs) == wall_minutes
        daily = ExportJob.get(ExportJob.schedule_id == schedules.schedule_id_of("daily"))
        assert daily.due_at == dt.datetime(2027, 10, 31, 0, 30)  # 02:30 CEST, the first of the two 02:30s
