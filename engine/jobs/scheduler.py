"""The scheduler process: a tick every 30 s calling the services' maintenance duties (daily purge, the watch over
abandoned and waiting jobs). Recurring exports (schedules) come with a later issue."""

from __future__ import annotations

import logging
import threading

from engine.db import connection
from engine.services import maintenance
from engine.settings import Settings

log = logging.getLogger(__name__)
TICK_SECONDS = 30


def run_scheduler(settings: Settings, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with connection():
                maintenance.enqueue_daily_maintenance(settings)
                maintenance.watch(settings)
        except Exception:
            log.exception("scheduler tick failed; trying again at the next one")
        stop.wait(TICK_SECONDS)
