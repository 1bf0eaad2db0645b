"""Queues & workers: RQ's queues with their counts, the workers, the newest failed tasks. Read-only, for every role.

rq-dashboard's blueprint is not mounted: its pages run an inline script (the console's CSP allows none), and its
delete/requeue/empty routes carry no CSRF token and no role check (README, "Queues and workers")."""

from __future__ import annotations

from flask_admin import expose

from admin.base import ConsoleView, settings
from engine.errors import RetryableError
from engine.services.queues import MAX_FAILED, queues_overview


class QueuesView(ConsoleView):
    @expose("/")
    def index(self) -> tuple[str, int]:
        try:
            overview = queues_overview(settings())
        except RetryableError as exc:
            return self.render("console/queues.html", overview=None, error=str(exc), max_failed=MAX_FAILED), 503
        return self.render("console/queues.html", overview=overview, error="", max_failed=MAX_FAILED), 200
