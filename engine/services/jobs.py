"""Export jobs: create (inline when small, else queued on RQ), inspect, list, cancel, retry, watch, download,
preview. The gRPC servicer, the console and the scheduler call these; none of them touches RQ directly."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine.catalog.models import utcnow
from engine.errors import InvalidRequest, InvalidState, NotFound
from engine.jobs.events import TERMINAL, JobEvents
from engine.jobs.queues import key, redis_for
from engine.models import JOB_STATUSES, Artifact, ExportJob
from engine.pipeline.mapping import compile_columns
from engine.pipeline.select import ProductLoader, count_selected, selection_where
from engine.pipeline.validate import compile_rules
from engine.services.exports import ResolvedRequest, resolve_request
from engine.settings import Settings

MAX_PAGE_SIZE = 200


def events_for(settings: Settings) -> JobEvents:
    return JobEvents(redis_for(settings), settings.events_maxlen)


def job_event(job: ExportJob, **extra: Any) -> dict[str, Any]:
    """The event describing a job's current state (counters from the job row)."""
    event: dict[str, Any] = {
        "status": job.status,
        "phase": job.phase,
        "total": job.total,
        "processed": job.processed,
        "exported": job.exported,
        "excluded": job.excluded,
        "failed": job.failed,
    }
    if job.status in TERMINAL:
        event["artifacts"] = [artifact_dict(a) for a in job.artifacts.order_by(Artifact.id)]
        if job.error:
            event["message"] = job.error
    event.update(extra)
    return event


def artifact_dict(a: Artifact) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "format": a.format,
        "content_type": a.content_type,
        "rows": a.rows,
        "size": a.size,
        "sha256": a.sha256,
        "created_at": a.created_at.isoformat(),
        "expires_at": a.expires_at.isoformat(),
    }


def create_export(
    settings: Settings,
    template: str | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    requested_by: str = "api",
    inline_allowed: bool = True,
) -> ExportJob:
    """Create an export job. Fewer than `settings.inline_threshold` products run now, in this process; bigger
    ones are queued for a worker. Raises TemplateError/InvalidRequest naming the bad part of the request."""
    request = resolve_request(template, overrides)
    total = count_selected(selection_where(request.spec.selection, request.spec.statuses))
    job = request.new_job(status="queued", phase="queued", requested_by=requested_by, total=total)
    events = events_for(settings)
    events.publish(job.id, job_event(job))
    if inline_allowed and total < settings.inline_threshold:
        from engine.jobs.tasks import execute_job

        execute_job(job.id, settings)
    else:
        from engine.jobs.tasks import enqueue_job

        enqueue_job(settings, job.id)
    return ExportJob.get_by_id(job.id)


def get_job(job_id: int) -> ExportJob:
    job = ExportJob.get_or_none(ExportJob.id == job_id)
    if job is None:
        raise NotFound(f"no export job {job_id}")
    return job


def _encode_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"before": last_id})).decode()


def _decode_token(token: str) -> int:
    try:
        return int(orjson.loads(base64.urlsafe_b64decode(token.encode()))["before"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest("malformed page token", "page_token") from None


def list_jobs(
    *,
    statuses: list[str] | None = None,
    template: str | None = None,
    requested_by: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    page_size: int = 50,
    page_token: str | None = None,
) -> tuple[list[ExportJob], str]:
    """Jobs newest first, filtered; returns (jobs, next_page_token or "")."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"must be between 1 and {MAX_PAGE_SIZE}", "page_size")
    query = ExportJob.select().order_by(ExportJob.id.desc())
    for status in statuses or []:
        if status not in JOB_STATUSES:
            raise InvalidRequest(f"unknown status {status!r} (known: {', '.join(JOB_STATUSES)})", "statuses")
    if statuses:
        query = query.where(ExportJob.status.in_(statuses))
    if template:
        query = query.where(ExportJob.template_name == template)
    if requested_by:
        query = query.where(ExportJob.requested_by == requested_by)
    if created_after:
        query = query.where(ExportJob.created_at >= created_after)
    if created_before:
        query = query.where(ExportJob.created_at < created_before)
    if page_token:
        query = query.where(ExportJob.id < _decode_token(page_token))
    jobs = list(query.limit(page_size + 1))
    more = len(jobs) > page_size
    jobs = jobs[:page_size]
    return jobs, _encode_token(jobs[-1].id) if more else ""


def cancel_key(job_id: int) -> str:
    return key("job", job_id, "cancel")


def cancel_job(settings: Settings, job_id: int) -> ExportJob:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops within one chunk and its
    partial files are removed; a "running" job that no worker holds any more (its worker died and nothing
    resumed it yet) is cancelled at once too. Cancelling a finished job is an InvalidState error."""
    from engine.jobs.tasks import slots_for, work_dir

    job = get_job(job_id)
    if job.status in TERMINAL:
        raise InvalidState(f"job {job_id} is already {job.status}")
    redis_for(settings).set(cancel_key(job_id), 1, ex=7 * 24 * 3600)
    orphaned = job.status == "running" and not slots_for(settings).holds_lease(job_id)
    states = ["queued", "running"] if orphaned else ["queued"]
    updated = (
        ExportJob.update(status="cancelled", phase="cancelled", finished_at=utcnow(), error="cancelled by request")
        .where((ExportJob.id == job_id) & ExportJob.status.in_(states))
        .execute()
    )
    job = get_job(job_id)
    if updated:
        shutil.rmtree(work_dir(settings, job_id), ignore_errors=True)
        events_for(settings).publish(job_id, job_event(job))
    return job


def is_cancel_requested(settings: Settings, job_id: int) -> bool:
    return bool(redis_for(settings).exists(cancel_key(job_id)))


def retry_job(settings: Settings, job_id: int, *, requested_by: str = "api") -> ExportJob:
    """Run a failed or cancelled job again, as a new job with the same template snapshot."""
    old = get_job(job_id)
    if old.status not in {"failed", "cancelled", "partial"}:
        raise InvalidState(f"job {job_id} is {old.status}: only failed, cancelled or partial jobs can be retried")
    job = ExportJob.create(
        template_name=old.template_name,
        template_version=old.template_version,
        spec=old.spec,
        status="queued",
        phase="queued",
        requested_by=requested_by,
        total=old.total,
        report={"retry_of": old.id},
    )
    events_for(settings).publish(job.id, job_event(job))
    from engine.jobs.tasks import enqueue_job

    enqueue_job(settings, job.id)
    return get_job(job.id)


def watch_job(
    settings: Settings, job_id: int, after_seq: int = 0, *, stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any] | None]:
    """Events of a job after `after_seq`, then live ones until it ends (None marks an idle second).

    A finished job whose events are gone (expired, or Redis restarted) gives one event with its final state;
    a finished job whose events were all seen ends the stream at once."""
    job = get_job(job_id)
    if after_seq < 0:
        raise InvalidRequest("must not be negative", "after_seq")
    events = events_for(settings)
    if job.status in TERMINAL:
        last = events.last_seq(job_id)
        if last == 0:
            return iter([{**job_event(job), "seq": 1, "job_id": job_id, "time": time.time()}] if after_seq < 1 else [])
        if after_seq >= last:
            return iter([])
    return events.watch(job_id, after_seq, stop=stop)


def get_artifact(job_id: int, artifact_id: int | None = None, name: str | None = None) -> tuple[Artifact, Path]:
    """An artifact of a job (the first when neither id nor name is given) and its file."""
    job = get_job(job_id)
    query = Artifact.select().where(Artifact.job == job_id).order_by(Artifact.id)
    if artifact_id:
        query = query.where(Artifact.id == artifact_id)
    if name:
        query = query.where(Artifact.name == name)
    artifact = query.first()
    if artifact is None and not artifact_id and not name and job.status != "succeeded":
        reason = f": {job.error}" if job.error else ""
        raise InvalidState(f"job {job_id} is {job.status}{reason}; it has no files to download")
    if artifact is None:
        raise NotFound(f"job {job_id} has no such artifact")
    if artifact.expires_at < utcnow():
        raise InvalidState(f"{artifact.name} expired on {artifact.expires_at:%Y-%m-%d}")
    path = Path(artifact.location)
    if not path.is_file():
        raise InvalidState(f"{artifact.name} is no longer stored")
    return artifact, path


@dataclass
class Preview:
    headers: list[str]
    rows: list[list[Any]]
    total: int
    excluded: list[dict[str, Any]]  # product_id, sku, ean, rule, message of excluded products seen
    excluded_by_rule: dict[str, int]
    request: ResolvedRequest


def preview_export(template: str | None, overrides: Mapping[str, Any] | None = None, limit: int = 20) -> Preview:
    """The first `limit` mapped rows and the exclusions met on the way, without writing anything."""
    if not 1 <= limit <= 1000:
        raise InvalidRequest("must be between 1 and 1000", "limit")
    request = resolve_request(template, overrides)
    spec = request.spec
    columns, rules = compile_columns(spec.columns, spec.rows), compile_rules(spec.rules)
    where = selection_where(spec.selection, spec.statuses)
    loader = ProductLoader(
        where, columns.product_columns | rules.product_columns, columns.relations | rules.relations, min(limit * 2, 500)
    )
    rows: list[list[Any]] = []
    excluded: list[dict[str, Any]] = []
    by_rule: dict[str, int] = {}
    for chunk in loader.chunks():
        for record in chunk:
            failure = rules.first_failure(record)
            if failure is None:
                rows.extend(values for values, _row in columns.rows(record))
            else:
                by_rule[failure[0]] = by_rule.get(failure[0], 0) + 1
                excluded.append(
                    {
                        "product_id": record["id"],
                        "sku": record["sku"],
                        "ean": record["ean"],
                        "rule": failure[0],
                        "message": failure[1],
                    }
                )
            if len(rows) >= limit:
                break
        if len(rows) >= limit or len(excluded) >= 10 * limit:
            break
    total = count_selected(where)
    return Preview([i.header for i in columns.infos], rows, total, excluded, by_rule, request)
