"""The dashboard: running jobs with live progress, recent jobs, failures of the last days, the next scheduled runs,
"export now"."""

from __future__ import annotations

import datetime as dt

from flask_admin import expose

from admin.base import ConsoleIndexView
from admin.schedules import in_zone
from engine.catalog.models import utcnow
from engine.services.jobs import list_jobs
from engine.services.schedules import upcoming_runs
from engine.services.templates import list_templates

FAILURE_DAYS = 7
NEXT_RUNS = 10


class DashboardView(ConsoleIndexView):
    @expose("/")
    def index(self) -> str:
        running, _ = list_jobs(statuses=["queued", "running"], page_size=20)
        recent, _ = list_jobs(page_size=10)
        failed, _ = list_jobs(
            statuses=["failed"], created_after=utcnow() - dt.timedelta(days=FAILURE_DAYS), page_size=10
        )
        templates = [t.name for t in list_templates()]
        return self.render(
            "console/dashboard.html",
            running=running,
            recent=recent,
            failed=failed,
            failure_days=FAILURE_DAYS,
            templates=templates,
            next_runs=upcoming_runs(NEXT_RUNS),
            in_zone=in_zone,
        )
