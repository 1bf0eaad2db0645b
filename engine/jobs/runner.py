"""The one job runner: job state, events, lease, checkpoints, and the one place where the errors of a running
job are translated (retry with backoff / fail with the reason / cancelled). The CLI's inline exports, the
engine's small exports and the RQ tasks all run jobs through `execute`; what a job does is its kind's
(engine.jobs.kinds), found by the name recorded on the job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from redis.exceptions import RedisError

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import Cancelled, ExportsError, RetryableError
from engine.jobs.events import TERMINAL, publish_state
from engine.jobs.kinds import get_kind
from engine.jobs.report import forget_after, record_exclusions, record_warnings
from engine.jobs.slots import JobSlots
from engine.jobs.state import is_cancel_requested
from engine.models import Artifact, ExportJob
from engine.pipeline.image_step import ProductWarning
from engine.pipeline.run import Progress
from engine.pipeline.source import Exclusion
from engine.settings import Settings
from engine.sinks.base import ExportFile

log = logging.getLogger(__name__)
PUBLISH_EVERY = 0.2  # seconds between two progress events of a running job


@dataclass
class JobOutcome:
    """What a kind's run produced: files, counters, report; `detail` is the kind's own result (for summaries)."""

    files: list[ExportFile]
    total: int = 0
    processed: int = 0
    exported: int = 0
    excluded: int = 0
    failed: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    detail: Any = None

    @property
    def status(self) -> str:
        return "partial" if self.failed else "succeeded"


@dataclass
class RunResult:
    """How a run ended: the job's status, the error that ended it (for inline callers to show), the outcome."""

    status: str
    error: ExportsError | None = None
    outcome: JobOutcome | None = None


class JobChannel(Protocol):
    """How a running job is watched and stopped from outside."""

    def publish(self, job_id: int, **extra: Any) -> None:
        """Publish the job's current state (from its row) as its next event."""
        ...

    def cancel_requested(self, job_id: int) -> bool: ...


class RedisChannel:
    """Events in the job's Redis stream, cancel flag in Redis: for jobs the engine and workers run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def publish(self, job_id: int, **extra: Any) -> None:
        publish_state(self.settings, job_id, **extra)

    def cancel_requested(self, job_id: int) -> bool:
        return is_cancel_requested(self.settings, job_id)


class LocalChannel:
    """No Redis: for the CLI's one-off exports, which its own process watches (progress bar, Ctrl-C). A signal
    handler (`on_signal`) cancels it; the job then stops within one chunk, like a job cancelled through Redis."""

    def __init__(self) -> None:
        self.cancel_reason: str | None = None
        self.signal_number: int | None = None

    def request_cancel(self, reason: str) -> None:
        """Only sets the flag the running job checks (safe from a signal handler)."""
        self.cancel_reason = reason

    def on_signal(self, signum: int, _frame: Any) -> None:
        """A signal handler: the first signal cancels the job and is remembered (for the exit code)."""
        if self.signal_number is None:
            self.signal_number = signum
            self.request_cancel(f"interrupted by {signal.Signals(signum).name}")

    def publish(self, job_id: int, **extra: Any) -> None:
        return None

    def cancel_requested(self, job_id: int) -> bool:
        return self.cancel_reason is not None


def work_dir(settings: Settings, job_id: int) -> Path:
    """The job's private folder: the same on every worker, so a resumed job finds its partial files."""
    return settings.export_dir / f".work-job-{job_id}"


class JobContext:
    """What a kind sees of its job: the snapshot it runs, and where to report progress and findings."""

    def __init__(
        self,
        job: ExportJob,
        settings: Settings,
        channel: JobChannel,
        *,
        resume: dict[str, Any] | None,
        out_dir: Path | None,
        allow_empty: bool,
        observer: Callable[[Progress], None] | None,
        can_retry: Callable[[], bool] = lambda: False,
    ) -> None:
        self.job_id: int = job.id
        self.settings = settings
        self.channel = channel
        self.spec: dict[str, Any] = job.spec
        self.template_name: str = job.template_name or "export"
        self.started_at: dt.datetime = job.started_at
        self.resume = resume
        self.out_dir = out_dir
        self.work_dir = work_dir(settings, job.id)
        self.allow_empty = allow_empty
        self.can_retry = can_retry  # whether a RetryableError raised now will be retried (RQ retries left)
        self._observer = observer
        self._last_publish = 0.0
        self._pending_checkpoint: dict[str, Any] | None = None

    def progress(self, p: Progress) -> None:
        """Counters into the job row (with the latest checkpoint), and an event at most every 0.2 s."""
        fields: dict[str, Any] = {
            "total": p.total,
            "processed": p.processed,
            "exported": p.exported,
            "excluded": p.excluded,
        }
        if self._pending_checkpoint is not None:
            fields["checkpoint"], self._pending_checkpoint = self._pending_checkpoint, None
        ExportJob.update(**fields).where(ExportJob.id == self.job_id).execute()
        now = time.monotonic()
        if p.phase != "writing" or now - self._last_publish >= PUBLISH_EVERY or p.processed == p.total:
            self._last_publish = now
            with _transient_redis():
                self.channel.publish(self.job_id, rate=round(p.rate, 1), eta=p.eta)
        if self._observer is not None:
            self._observer(p)

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Saved with the next progress update (one write per chunk)."""
        self._pending_checkpoint = state

    def exclusions(self, batch: Sequence[Exclusion]) -> None:
        record_exclusions(self.job_id, batch)

    def warnings(self, batch: Sequence[ProductWarning]) -> None:
        record_warnings(self.job_id, batch)

    def cancelled(self) -> bool:
        with _transient_redis():
            return self.channel.cancel_requested(self.job_id)


@contextlib.contextmanager
def _transient_redis() -> Iterator[None]:
    """Redis failing under a running kind is a transient failure the kind understands (RetryableError): an
    export then keeps its work folder and resumes from its checkpoint."""
    try:
        yield
    except RedisError as exc:
        raise RetryableError(f"Redis did not answer: {exc}") from exc


def execute(
    job_id: int,
    settings: Settings,
    *,
    slots: JobSlots | None = None,
    channel: JobChannel | None = None,
    can_retry: Callable[[], bool] = lambda: False,
    out_dir: Path | None = None,
    allow_empty: bool = True,
    observer: Callable[[Progress], None] | None = None,
) -> RunResult:
    """Run (or resume) one job to its end and record how it ended. A transient failure (RetryableError, Redis)
    is raised again when `can_retry()` (the RQ task then retries with backoff, resuming from the checkpoint);
    otherwise every error ends the job, and is returned, not raised. `channel` defaults to Redis. A job that
    ended here is then announced to engine.jobs.notices (which notifies as the job's policy asks)."""
    channel = channel or RedisChannel(settings)
    job = ExportJob.get_by_id(job_id)
    if job.status in TERMINAL:
        return RunResult(job.status)
    result = _execute(job, settings, slots, channel, can_retry, out_dir, allow_empty, observer)
    from engine.jobs.notices import job_ended  # notices start notify jobs, which run under this runner

    job_ended(settings, job_id, inline=isinstance(channel, LocalChannel))
    return result


def start(settings: Settings, job_id: int, kind: str, *, inline: bool) -> None:
    """Start a job just recorded (a delivery, a notification): run it here and now (`inline`), or clear what Redis
    still held under its id and queue it on its kind's queue for a worker."""
    if inline:
        execute(job_id, settings, channel=LocalChannel())
        return
    from engine.jobs.queues import redis_for
    from engine.jobs.state import reset_job_keys
    from engine.jobs.tasks import enqueue_job  # tasks imports this module

    reset_job_keys(redis_for(settings), job_id)
    enqueue_job(settings, job_id, kind)


def _execute(
    job: ExportJob,
    settings: Settings,
    slots: JobSlots | None,
    channel: JobChannel,
    can_retry: Callable[[], bool],
    out_dir: Path | None,
    allow_empty: bool,
    observer: Callable[[Progress], None] | None,
) -> RunResult:
    job_id = job.id
    if channel.cancel_requested(job_id):
        reason = _cancel_reason(channel)
        return _end(channel, job_id, "cancelled", Cancelled(reason), message=reason)
    kind = get_kind(job.kind)
    resume = kind.resume_from(job.spec, job.checkpoint)
    # what was recorded after the checkpoint (or everything, when starting over) is recorded again
    forget_after(job_id, resume["last_id"] if resume else 0)
    job.status, job.phase, job.error = "running", "writing", None
    job.started_at = job.started_at or utcnow()
    job.save()
    channel.publish(job_id, message="resumed from a checkpoint" if resume else "started")
    ctx = JobContext(
        job, settings, channel, resume=resume, out_dir=out_dir, allow_empty=allow_empty, observer=observer,
        can_retry=can_retry,
    )  # fmt: skip
    try:
        with _heartbeat(slots, job_id):
            outcome = kind.run(ctx)
    except Cancelled as exc:
        return _end(channel, job_id, "cancelled", exc, message=_cancel_reason(channel))
    except (RetryableError, RedisError) as exc:
        if can_retry():
            ExportJob.update(status="queued", phase="retrying", error=str(exc)).where(ExportJob.id == job_id).execute()
            with contextlib.suppress(RedisError):
                channel.publish(job_id, message=f"will retry: {exc}")
            raise RetryableError(str(exc), getattr(exc, "seconds", 5.0)) from exc
        return _end(channel, job_id, "failed", RetryableError(f"gave up after retries: {exc}"))
    except ExportsError as exc:
        return _end(channel, job_id, "failed", exc)
    except Exception as exc:
        log.exception("job crashed", extra={"job_id": job_id})
        error = ExportsError(f"internal error ({type(exc).__name__}); see the worker log")
        return _end(channel, job_id, "failed", error)
    _record(settings, job_id, outcome)
    channel.publish(job_id)
    kind.finished(ctx, outcome)
    return RunResult(ExportJob.get_by_id(job_id).status, outcome=outcome)


def _cancel_reason(channel: JobChannel) -> str:
    reason = getattr(channel, "cancel_reason", None)
    return f"cancelled: {reason}" if reason else "cancelled by request"


def _end(
    channel: JobChannel, job_id: int, status: str, error: ExportsError, *, message: str | None = None
) -> RunResult:
    """The job ended without an outcome (cancelled or failed): say why, publish it (when Redis answers)."""
    ExportJob.update(status=status, phase=status, error=message or str(error), finished_at=utcnow()).where(
        ExportJob.id == job_id
    ).execute()
    with contextlib.suppress(RedisError):
        channel.publish(job_id)
    return RunResult(status, error=error)


def _record(settings: Settings, job_id: int, outcome: JobOutcome) -> None:
    """Record a finished run: its files (kept `artifact_retention_days`), counters and report, in one
    transaction."""
    created = utcnow()
    expires = created + dt.timedelta(days=settings.artifact_retention_days)
    with current_database().atomic():
        for f in outcome.files:
            Artifact.create(
                job=job_id,
                name=f.name,
                format=f.format,
                content_type=f.content_type,
                rows=f.rows,
                size=f.size,
                sha256=f.sha256,
                location=f.location,
                created_at=created,
                expires_at=expires,
            )
        job = ExportJob.get_by_id(job_id)
        job.status, job.phase, job.error, job.finished_at, job.checkpoint = (
            outcome.status, "done", None, utcnow(), None
        )  # fmt: skip
        job.total, job.processed, job.exported = outcome.total, outcome.processed, outcome.exported
        job.excluded, job.failed = outcome.excluded, outcome.failed
        job.report = {**(job.report or {}), **outcome.report}
        job.save()


@contextlib.contextmanager
def _heartbeat(slots: JobSlots | None, job_id: int) -> Iterator[None]:
    """Keep the job's lease alive from a thread, even while one chunk takes long."""
    if slots is None:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(1.0, slots.lease / 3)):
            with contextlib.suppress(Exception):
                slots.refresh(job_id)

    thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
