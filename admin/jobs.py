"""Jobs: the filtered, paginated list; a job's detail (counters, live progress, report, deliveries, files); its
progress as server-sent events; downloads checked against their SHA-256; run, cancel and retry by role."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any
from urllib.parse import quote

import orjson
from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_admin import expose
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from admin.auth import needs_role
from admin.base import ConsoleView, actor, settings
from admin.engine_text import engine_text
from admin.labels import status_label
from engine.db import connection
from engine.errors import InvalidRequest, InvalidState, NotFound, RetryableError
from engine.jobs.events import TERMINAL
from engine.models import JOB_STATUSES
from engine.services import audit
from engine.services.deliveries import redeliver, release_delivery, retry_delivery
from engine.services.jobs import cancel_job, create_export, get_job, list_jobs, open_artifact, retry_job, watch_job
from engine.services.reports import report_csv, report_lines
from engine.services.schedules import page_schedules
from engine.services.templates import list_templates
from engine.services.views import DeliveryView
from engine.settings import Settings

PAGE_SIZE = 25
SCHEDULES_LISTED = 200  # schedule names offered in the jobs filter (any other can be typed)
REPORT_LINES = 100
EVENT_STREAM_SECONDS = 300  # an event stream ends after this; the browser reconnects with Last-Event-ID
HASH_CHUNK = 1024 * 1024
_END: Any = object()


def _date(name: str) -> dt.datetime | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise InvalidRequest(_("%(value)s is not a date (YYYY-MM-DD)", value=repr(text)), name) from None


def _job_summary(job: Any) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "template": job.template_name, "processed": job.processed}


def _delivery_summary(delivery: DeliveryView) -> dict[str, Any]:
    return {"id": delivery.id, "job": delivery.job_id, "integration": delivery.integration, "status": delivery.status,
            "attempts": delivery.attempts}  # fmt: skip


def _audited_delivery(
    job_id: int, delivery_id: int, action: str, call: Callable[[Settings, int], DeliveryView]
) -> DeliveryView:
    """Do `call` (retry_delivery or release_delivery) on one of the job's deliveries, audited."""
    before = _delivery(job_id, delivery_id)
    after = call(settings(), delivery_id)
    message = f"delivery of job {job_id} to {after.integration}"
    audit.record(actor(), action, "delivery", str(delivery_id), before=_delivery_summary(before),
                 after=_delivery_summary(after), message=message)  # fmt: skip
    return after


def _delivery(job_id: int, delivery_id: int) -> DeliveryView:
    """The job's delivery `delivery_id` (NotFound when the job has none of that id)."""
    found = [d for d in get_job(job_id).deliveries if d.id == delivery_id]
    if not found:
        raise NotFound(f"job {job_id} has no delivery {delivery_id}")
    return found[0]


def _report_options() -> dict[str, Any]:
    """The report file in the user's language: in French, `;`-separated (what French spreadsheets split on, as the
    exports' own default), French headings, outcomes and messages; in English, exactly what `pm-exports report`
    writes."""
    if str(get_locale() or "en").startswith("en"):
        return {}
    outcomes = {"excluded": _("excluded"), "warning": _("warning")}
    header = (_("product id"), "sku", "ean", _("outcome"), _("rule"), _("message"))

    def words(outcome: str, message: str) -> tuple[str, str]:
        return str(outcomes.get(outcome, outcome)), engine_text(message)

    return {"separator": ";", "header": header, "words": words}


class JobsView(ConsoleView):
    @expose("/")
    def index(self) -> str:
        statuses = [s for s in request.args.getlist("status") if s]
        template = (request.args.get("template") or "").strip() or None
        schedule = (request.args.get("schedule") or "").strip()[:128] or None
        token = request.args.get("page") or None
        filter_error, date_invalid = "", False
        jobs: list[Any] = []
        next_token = ""
        try:
            created_after, created_before = _date("from"), _date("to")
            if created_after is not None and created_before is not None and created_after > created_before:
                date_invalid = True
                start, end = created_after.date().isoformat(), created_before.date().isoformat()
                raise InvalidRequest(_("the start date %(start)s is after the end date %(end)s", start=start, end=end))
            if created_before is not None:
                created_before += dt.timedelta(days=1)  # "to" includes that day
            jobs, next_token = list_jobs(
                statuses=statuses,
                template=template,
                created_after=created_after,
                created_before=created_before,
                schedule=schedule,
                page_size=PAGE_SIZE,
                page_token=token,
            )
        except (InvalidRequest, NotFound) as exc:
            filter_error = engine_text(str(exc))
            date_invalid = date_invalid or (isinstance(exc, InvalidRequest) and exc.field in {"from", "to"})
        args: dict[str, Any] = {k: request.args.getlist(k) for k in request.args if k != "page"}
        return self.render(
            "console/jobs.html",
            jobs=jobs,
            statuses=JOB_STATUSES,
            chosen_statuses=statuses,
            templates=[t.name for t in list_templates()],
            chosen_template=template or "",
            schedules=[v.name for v in page_schedules(page_size=SCHEDULES_LISTED)[0]],
            chosen_schedule=schedule or "",
            date_from=request.args.get("from", ""),
            date_to=request.args.get("to", ""),
            filter_error=filter_error,
            date_invalid=date_invalid,
            next_url=url_for(".index", page=next_token, **args) if next_token else "",
            first_url=url_for(".index", **args) if token else "",
        )

    @expose("/<int:job_id>")
    def detail(self, job_id: int) -> str:
        job = get_job(job_id)
        excluded, excluded_count = report_lines(job_id, "excluded", REPORT_LINES)
        warnings, warning_count = report_lines(job_id, "warning", REPORT_LINES)
        return self.render(
            "console/job.html",
            job=job,
            finished=job.status in TERMINAL,
            excluded=excluded,
            excluded_count=excluded_count,
            warnings=warnings,
            warning_count=warning_count,
            report_limit=REPORT_LINES,
        )

    @expose("/<int:job_id>/report.csv")
    def report(self, job_id: int) -> BaseResponse:
        """The job's excluded products and warnings as CSV (what `pm-exports report JOB` prints), streamed."""
        get_job(job_id)  # NotFound for a job that does not exist
        options = _report_options()

        def stream() -> Iterator[str]:
            with connection():  # read after the request's own connection is closed, a page of lines at a time
                yield "\ufeff"  # spreadsheets read the file as UTF-8 (the CLI writes its files the same way)
                yield from report_csv(job_id, **options)

        headers = {
            "Content-Disposition": f'attachment; filename="job-{job_id}-report.csv"',
            "Cache-Control": "no-store",
        }
        return Response(stream_with_context(stream()), mimetype="text/csv", headers=headers)

    @expose("/<int:job_id>/events")
    def events(self, job_id: int) -> BaseResponse:
        """The job's progress as server-sent events; `Last-Event-ID` (or ?after=) resumes after that seq."""
        raw = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
        if not raw.isdigit() or len(raw) > 18:
            abort(400, description=f"Last-Event-ID: {raw[:40]!r} is not an event number")
        deadline = time.monotonic() + EVENT_STREAM_SECONDS
        stream = iter(watch_job(settings(), job_id, int(raw), stop=lambda: time.monotonic() > deadline))
        try:
            first = next(stream, _END)
        except RetryableError as exc:
            abort(503, description=str(exc))
        if first is _END:
            return BaseResponse(status=204)  # nothing left to see: EventSource stops reconnecting

        def generate() -> Iterator[str]:
            yield "retry: 2000\n\n"
            try:
                for event in chain([first], stream):
                    if event is None:
                        yield ": idle\n\n"
                        continue
                    yield f"id: {event['seq']}\nevent: progress\ndata: {orjson.dumps(event).decode()}\n\n"
                    if event.get("status") in TERMINAL:
                        return
            except RetryableError as exc:
                yield f"event: unavailable\ndata: {orjson.dumps({'message': str(exc)}).decode()}\n\n"

        return Response(
            generate(), mimetype="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    @expose("/<int:job_id>/files/<int:artifact_id>")
    def download(self, job_id: int, artifact_id: int) -> BaseResponse:
        """The file, streamed after its content was checked against the SHA-256 recorded when it was written."""
        view, handle = open_artifact(settings(), job_id, artifact_id)
        digest = hashlib.sha256()
        with handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != view.sha256:
            raise InvalidState(f"{view.name} does not match its SHA-256 any more (the stored file changed): not sent")
        view, handle = open_artifact(settings(), job_id, artifact_id)

        def stream() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(HASH_CHUNK):
                    yield chunk

        headers = {
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(view.name)}",
            "Content-Length": str(view.size),
            "ETag": f'"{view.sha256}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(view.sha256)).decode()}:",
            "Cache-Control": "no-store",
        }
        return Response(stream(), mimetype=view.content_type, headers=headers, direct_passthrough=True)

    @expose("/run", methods=["POST"])
    @needs_role("manager")
    def run(self) -> BaseResponse:
        template = (request.form.get("template") or "").strip()
        if not template:
            raise InvalidRequest(_("choose a template"), "template")
        job = create_export(settings(), template, requested_by=actor(), inline_allowed=False)
        audit.record(actor(), "run", "job", str(job.id), after=_job_summary(job), message=f"export of {template}")
        flash(_("Export job %(id)s of %(template)s created.", id=job.id, template=repr(template)), "success")
        return redirect(url_for(".detail", job_id=job.id))

    @expose("/<int:job_id>/cancel", methods=["POST"])
    @needs_role("manager")
    def cancel(self, job_id: int) -> BaseResponse:
        before = get_job(job_id)
        try:
            job = cancel_job(settings(), job_id)
        except InvalidState as exc:  # it ended meanwhile: say so on its page
            flash(engine_text(str(exc)), "warning")
            return redirect(url_for(".detail", job_id=job_id))
        audit.record(actor(), "cancel", "job", str(job_id), before=_job_summary(before), after=_job_summary(job))
        flash(_("Job %(id)s is %(status)s.", id=job_id, status=status_label(job.status)), "info")
        return redirect(url_for(".detail", job_id=job_id))

    @expose("/<int:job_id>/retry", methods=["POST"])
    @needs_role("manager")
    def retry(self, job_id: int) -> BaseResponse:
        job = retry_job(settings(), job_id, requested_by=actor())
        audit.record(actor(), "retry", "job", str(job_id), after=_job_summary(job), message=f"as job {job.id}")
        flash(_("Job %(id)s runs again as job %(new)s.", id=job_id, new=job.id), "success")
        return redirect(url_for(".detail", job_id=job.id))

    @expose("/<int:job_id>/deliveries/<int:delivery_id>/retry", methods=["POST"])
    @needs_role("manager")
    def delivery_retry(self, job_id: int, delivery_id: int) -> BaseResponse:
        """Send one delivery again (through its publish gate)."""
        after = _audited_delivery(job_id, delivery_id, "retry", retry_delivery)
        status = status_label(after.status)
        flash(_("Delivery to %(to)s is %(status)s.", to=after.integration, status=status), "success")
        return redirect(url_for(".detail", job_id=job_id))

    @expose("/<int:job_id>/deliveries/<int:delivery_id>/release", methods=["POST"])
    @needs_role("manager")
    def delivery_release(self, job_id: int, delivery_id: int) -> BaseResponse:
        """Send one held delivery whatever its publish gate says."""
        after = _audited_delivery(job_id, delivery_id, "release", release_delivery)
        flash(
            _("Delivery to %(to)s released: %(status)s.", to=after.integration, status=status_label(after.status)),
            "success",
        )
        return redirect(url_for(".detail", job_id=job_id))

    @expose("/<int:job_id>/redeliver", methods=["POST"])
    @needs_role("manager")
    def redeliver_failed(self, job_id: int) -> BaseResponse:
        """Send every failed delivery of the job again."""
        before = [_delivery_summary(d) for d in get_job(job_id).deliveries]
        started = redeliver(settings(), job_id)
        after = [_delivery_summary(d) for d in started]
        audit.record(actor(), "retry", "job", str(job_id), before=before, after=after, message="redeliver the failed")
        flash(ngettext("%(num)s delivery sent again.", "%(num)s deliveries sent again.", len(started)), "success")
        return redirect(url_for(".detail", job_id=job_id))
