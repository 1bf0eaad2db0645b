"""Export jobs: create (inline when small, else queued on RQ), inspect, list, cancel, retry, watch, download,
preview. The gRPC servicer, the CLI, the console and the scheduler call these; none of them touches RQ directly.
Jobs and artifacts come back as plain views (engine.services.views)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from redis.exceptions import RedisError

from engine.catalog.models import utcnow
from engine.db import connection
from engine.errors import InvalidRequest, InvalidState, NotFound, RetryableError
from engine.jobs import runner
from engine.jobs.events import TERMINAL, JobEvents, events_for, job_event, publish_state
from engine.jobs.queues import redis_for
from engine.jobs.reconcile import owner_id
from engine.jobs.runner import work_dir
from engine.jobs.state import request_cancel, reset_job_keys
from engine.jobs.tasks import enqueue_job, requeue_admitted, slots_for
from engine.models import JOB_STATUSES, Artifact, ExportJob
from engine.pipeline.mapping import compile_columns
from engine.pipeline.select import ProductLoader, count_selected, selection_where
from engine.pipeline.validate import compile_rules
from engine.services.exports import ResolvedRequest, resolve_request
from engine.services.paging import decode_token, encode_token
from engine.services.views import ArtifactView, JobView, job_views
from engine.settings import Settings
from engine.storage import open_store
from engine.storage.links import presigned_link

MAX_PAGE_SIZE = 200


def create_export(
    settings: Settings,
    template: str | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    requested_by: str = "api",
    inline_allowed: bool = True,
    template_version: int | None = None,
    schedule_id: int | None = None,
    due_at: dt.datetime | None = None,
) -> JobView:
    """Create an export job. Fewer than `settings.inline_threshold` products run now, in this process; bigger
    ones are queued for a worker. Raises TemplateError/InvalidRequest naming the bad part of the request.
    `template_version` runs that saved version; a scheduled job records its schedule and due time."""
    request = resolve_request(template, overrides, version=template_version)
    total = count_selected(selection_where(request.spec.selection, request.spec.statuses))
    inline = inline_allowed and total < settings.inline_threshold
    _require_redis(settings, "no export was created")
    job = request.new_job(
        None,
        status="queued",
        phase="queued",
        requested_by=requested_by,
        total=total,
        owner=owner_id() if inline else None,
        schedule_id=schedule_id,
        due_at=due_at,
    )
    _hand_over(settings, job, queue=not inline)
    if inline:
        runner.execute(job.id, settings)
    return get_job(job.id)


def _require_redis(settings: Settings, consequence: str) -> None:
    """Refuse to create a job while Redis does not answer (it would stay queued forever)."""
    try:
        redis_for(settings).ping()
    except RedisError:
        raise RetryableError(f"Redis does not answer: {consequence}; retry later", 5.0) from None


def _hand_over(settings: Settings, job: ExportJob, *, queue: bool) -> None:
    """Clear what Redis held under the new job's id, publish its first event and (with `queue`) queue it. If Redis
    fails meanwhile, the job is failed with the reason (never left queued with nobody to run it) and the caller
    gets a RetryableError."""
    try:
        reset_job_keys(redis_for(settings), job.id)
        publish_state(settings, job.id)
        if queue:
            enqueue_job(settings, job.id, job.kind)
    except RedisError:
        reason = "Redis stopped answering while the job was being queued; retry it"
        ExportJob.update(status="failed", phase="failed", error=reason, finished_at=utcnow()).where(
            ExportJob.id == job.id
        ).execute()
        raise RetryableError(f"job {job.id} failed: {reason}", 5.0) from None


def _job_row(job_id: int) -> ExportJob:
    job = ExportJob.get_or_none(ExportJob.id == job_id)
    if job is None:
        raise NotFound(f"no export job {job_id}")
    return job


def get_job(job_id: int) -> JobView:
    (view,) = job_views([_job_row(job_id)])
    return view


def page_token_after(job_id: int) -> str:
    """The page token of the jobs older than `job_id` (for a caller that ends a page early)."""
    return encode_token(job_id)


def list_jobs(
    *,
    statuses: list[str] | None = None,
    template: str | None = None,
    requested_by: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    schedule: str | None = None,
    page_size: int = 50,
    page_token: str | None = None,
) -> tuple[list[JobView], str]:
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
    if schedule:
        from engine.services.schedules import schedule_id_of

        query = query.where(ExportJob.schedule_id == schedule_id_of(schedule))
    if created_after:
        query = query.where(ExportJob.created_at >= created_after)
    if created_before:
        query = query.where(ExportJob.created_at < created_before)
    if page_token:
        query = query.where(ExportJob.id < decode_token(page_token))
    jobs = list(query.limit(page_size + 1))
    more = len(jobs) > page_size
    jobs = jobs[:page_size]
    return job_views(jobs), encode_token(jobs[-1].id) if more else ""


def cancel_job(settings: Settings, job_id: int) -> JobView:
    """Ask a job to stop. A queued (or waiting) job is cancelled at once; a running one stops within one chunk
    and its partial files are removed; a "running" job that no worker holds any more (its worker died and
    nothing resumed it yet) is cancelled at once too. Cancelling a finished job is an InvalidState error."""
    job = _job_row(job_id)
    if job.status in TERMINAL:
        raise InvalidState(f"job {job_id} is already {job.status}")
    request_cancel(settings, job_id)
    slots = slots_for(settings)
    orphaned = job.status == "running" and not slots.holds_lease(job_id)
    states = ["queued", "running"] if orphaned else ["queued"]
    updated = (
        ExportJob.update(status="cancelled", phase="cancelled", finished_at=utcnow(), error="cancelled by request")
        .where((ExportJob.id == job_id) & ExportJob.status.in_(states))
        .execute()
    )
    if updated:
        shutil.rmtree(work_dir(settings, job_id), ignore_errors=True)
        publish_state(settings, job_id)
        requeue_admitted(settings, slots.release(job_id))  # its place in line, or its reserved slot, goes on
    return get_job(job_id)


def retry_job(settings: Settings, job_id: int, *, requested_by: str = "api") -> JobView:
    """Run a failed or cancelled job again, as a new job with the same template snapshot."""
    old = _job_row(job_id)
    if old.status not in {"failed", "cancelled", "partial"}:
        raise InvalidState(f"job {job_id} is {old.status}: only failed, cancelled or partial jobs can be retried")
    _require_redis(settings, f"job {job_id} was not retried")
    job = ExportJob.create(
        kind=old.kind,
        template_name=old.template_name,
        template_version=old.template_version,
        spec=old.spec,
        status="queued",
        phase="queued",
        requested_by=requested_by,
        total=old.total,
        report={"retry_of": old.id},
    )
    _hand_over(settings, job, queue=True)
    return get_job(job.id)


def watch_job(
    settings: Settings, job_id: int, after_seq: int = 0, *, stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any] | None]:
    """Events of a job after `after_seq`, then live ones until it ends (None marks an idle second).

    A finished job whose events are gone (expired, or Redis restarted) gives one event with its final state;
    a finished job whose events were all seen ends the stream at once. While the stream is idle the job's row is
    read every WATCH_ROW_CHECK idle seconds: a job that ended without its last event reaching Redis (Redis lost it)
    gives one final event from its row. Redis not answering is a RetryableError naming the seq to resume after."""
    job = _job_row(job_id)
    if after_seq < 0:
        raise InvalidRequest("must not be negative", "after_seq")
    events = events_for(settings)
    try:
        last = events.last_seq(job_id)
    except RedisError:
        if job.status not in TERMINAL:
            raise _redis_gone(job_id, after_seq) from None
        last = 0
    if job.status in TERMINAL:
        if last == 0:
            return iter([_row_event(job, after_seq)] if after_seq < 1 else [])
        if after_seq >= last:
            return iter([])
    return _follow(events, job_id, after_seq, stop)


WATCH_ROW_CHECK = 5  # idle seconds between two reads of a watched job's row


def _row_event(job: ExportJob, after_seq: int) -> dict[str, Any]:
    """An event made from the job's row, numbered after the last one the watcher saw."""
    return {**job_event(job), "seq": after_seq + 1, "job_id": job.id, "time": time.time()}


def _redis_gone(job_id: int, last: int) -> RetryableError:
    return RetryableError(f"Redis does not answer: watch job {job_id} again with after_seq={last} later", 5.0)


def _follow(
    events: JobEvents, job_id: int, after_seq: int, stop: Callable[[], bool] | None
) -> Iterator[dict[str, Any] | None]:
    last, idle = after_seq, 0
    try:
        for event in events.watch(job_id, after_seq, stop=stop):
            if event is not None:
                last, idle = int(event["seq"]), 0
                yield event
                continue
            yield None
            idle += 1
            if idle % WATCH_ROW_CHECK == 0:
                with connection():
                    job = ExportJob.get_by_id(job_id)
                    final = _row_event(job, last) if job.status in TERMINAL else None
                if final is not None:
                    yield final
                    return
    except RedisError:
        raise _redis_gone(job_id, last) from None


def open_artifact(
    settings: Settings, job_id: int, artifact_id: int | None = None, name: str | None = None, offset: int = 0
) -> tuple[ArtifactView, BinaryIO]:
    """An artifact of a job (the first when neither id nor name is given) and its stored file, open for
    reading at `offset` (the caller closes it)."""
    job = _job_row(job_id)
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
    if not 0 <= offset <= artifact.size:
        raise InvalidRequest(f"must be between 0 and the file size ({artifact.size})", "offset")
    try:
        handle = open_store(settings).open(artifact.location, offset)
    except FileNotFoundError:
        raise InvalidState(f"{artifact.name} is no longer stored") from None
    return ArtifactView.of(artifact), handle


def artifact_link(settings: Settings, job_id: int, artifact_id: int | None = None) -> tuple[str, dt.datetime]:
    """A presigned download link to an artifact (the job's first when no id is given) and when it expires:
    PM_EXPORTS_LINK_DAYS, never after the artifact itself. Needs the S3 artifact store."""
    store = open_store(settings)
    if getattr(store, "link", None) is None:
        raise InvalidState("download links need the S3 artifact store (PM_EXPORTS_ARTIFACT_STORE=s3://...)")
    view, handle = open_artifact(settings, job_id, artifact_id)
    handle.close()
    location = Artifact.get_by_id(view.id).location
    link = presigned_link(store, location, link_days=settings.link_days, not_after=view.expires_at)
    assert link is not None  # the store gives links (checked above)
    return link


# A preview runs in the engine process, for any reader: it stops early, with what it found and the reason, at
# whichever of these comes first (rather than failing: the rows found so far are what the caller wants).
PREVIEW_SECONDS = 5.0  # wall-clock budget of one call (or less: the call's own deadline)
PREVIEW_MAX_SCANNED = 5_000  # products read
PREVIEW_MAX_CHARS = 1_000_000  # characters of cells and exclusion messages: the answer stays well below 8 MiB


@dataclass
class Preview:
    headers: list[str]
    rows: list[list[Any]]
    total: int
    excluded: list[dict[str, Any]]  # product_id, sku, ean, rule, message of excluded products seen
    excluded_by_rule: dict[str, int]
    request: ResolvedRequest
    incomplete: str = ""  # why it stopped before `limit` rows while products were left ("" when it did not)


def _size(values: list[Any]) -> int:
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in values if v is not None)


def preview_export(
    template: str | None,
    overrides: Mapping[str, Any] | None = None,
    limit: int = 20,
    *,
    seconds: float = PREVIEW_SECONDS,
) -> Preview:
    """The first `limit` mapped rows and the exclusions met on the way, without writing anything; it stops
    early (see `Preview.incomplete`) after `seconds`, PREVIEW_MAX_SCANNED products or PREVIEW_MAX_CHARS."""
    if not 1 <= limit <= 1000:
        raise InvalidRequest("must be between 1 and 1000", "limit")
    return preview_request(resolve_request(template, overrides), limit, seconds=seconds)


def preview_request(request: ResolvedRequest, limit: int = 20, *, seconds: float = PREVIEW_SECONDS) -> Preview:
    """The preview of an already resolved request (a template's unsaved edited spec, for the console's editor)."""
    if not 1 <= limit <= 1000:
        raise InvalidRequest("must be between 1 and 1000", "limit")
    seconds = min(seconds, PREVIEW_SECONDS)
    deadline = time.monotonic() + seconds
    spec = request.spec
    columns, rules = compile_columns(spec.columns, spec.rows), compile_rules(spec.rules)
    where = selection_where(spec.selection, spec.statuses)
    loader = ProductLoader(
        where, columns.product_columns | rules.product_columns, columns.relations | rules.relations, min(limit * 2, 500)
    )
    rows: list[list[Any]] = []
    excluded: list[dict[str, Any]] = []
    by_rule: dict[str, int] = {}
    scanned = chars = 0
    incomplete = ""
    for chunk in loader.chunks():
        for record in chunk:
            if time.monotonic() > deadline:
                incomplete = f"stopped after {seconds:.3g} seconds"
            elif scanned >= PREVIEW_MAX_SCANNED:
                incomplete = f"stopped after reading {PREVIEW_MAX_SCANNED:,} products"
            if incomplete:
                break
            scanned += 1
            failure = rules.first_failure(record)
            if failure is None:
                found = [values for values, _row in columns.rows(record)]
                chars += sum(_size(values) for values in found)
                if chars > PREVIEW_MAX_CHARS:
                    incomplete = f"stopped at {PREVIEW_MAX_CHARS:,} characters of rows and exclusions"
                    break
                rows.extend(found)
            else:
                chars += len(failure[1])
                if chars > PREVIEW_MAX_CHARS:
                    incomplete = f"stopped at {PREVIEW_MAX_CHARS:,} characters of rows and exclusions"
                    break
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
        if incomplete or len(rows) >= limit or len(excluded) >= 10 * limit:
            break
    total = count_selected(where)
    headers = [i.header for i in columns.infos]
    return Preview(headers, rows, total, excluded, by_rule, request, incomplete)
