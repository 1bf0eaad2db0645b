"""A scheduler process for the tests: fires the schedules at each simulated minute of a day (an injected clock),
in step with the other processes through a Redis barrier, so that they race for every due time.

python -m tests.schedule_firing_process DATABASE_URL VAR_DIR REDIS_URL START_ISO MINUTES PROCESSES"""

from __future__ import annotations

import datetime as dt
import sys
import time

from engine.db import open_database
from engine.jobs.queues import key, redis_for
from engine.services.maintenance import fire_schedules
from engine.settings import Settings


def main(database_url: str, var_dir: str, redis_url: str, start: str, minutes: int, processes: int) -> None:
    settings = Settings.build(database_url=database_url, var_dir=var_dir, redis_url=redis_url)
    open_database(settings)
    redis = redis_for(settings)
    first = dt.datetime.fromisoformat(start)
    fired = 0
    for minute in range(minutes):
        barrier = key("test-barrier", minute)
        redis.incr(barrier)
        while int(redis.get(barrier) or 0) < processes:
            time.sleep(0.0005)
        fired += fire_schedules(settings, first + dt.timedelta(minutes=minute, seconds=1)).fired
    print(fired)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
