"""One export run: a source (select -> images -> rules -> delta -> mapping) feeding a sink (a file format, a
shop push), chunk by chunk, with progress, checkpoints and cancellation between chunks.

Plain Python: the job runner (engine.jobs.runner) wraps it for the CLI, the engine and the workers alike.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, EmptySelection, InvalidRequest, OutputError, RetryableError
from engine.pipeline.delta import DeltaTracker, scope_key
from engine.pipeline.image_step import ProductWarning
from engine.pipeline.source import Exclusion, ExportSource
from engine.pipeline.spec import ExportSpec
from engine.settings import Settings
from engine.sinks.base import ExportFile, Sink, SinkContext
from engine.sinks.registry import get_sink
from engine.storage import ArtifactStore, open_store

__all__ = ["Exclusion", "ExportFile", "ExportResult", "ExportRun", "Progress", "run_export"]


@dataclass
class Progress:
    phase: str
    total: int
    processed: int = 0
    exported: int = 0
    excluded: int = 0
    unchanged: int = 0  # delta exports: products whose content did not change since the last run
    warnings: int = 0  # problems that did not exclude a product (images that failed)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.processed) / rate if rate > 0 else None


@dataclass
class ExportResult:
    files: list[ExportFile]
    total: int
    exported: int
    excluded: int
    excluded_by_rule: dict[str, int]
    seconds: float
    started_at: dt.datetime
    unchanged: int = 0
    removed: int = 0
    warnings: int = 0
    samples: list[Exclusion] = field(default_factory=list)  # the first few exclusions, for summaries


class ExportRun:
    """One export of `spec`. Call `execute()` once.

    With `on_checkpoint`, the state after every chunk is handed out (JSON-able); a later ExportRun given that
    state as `resume` and the same `work_dir` continues where it stopped and produces the same bytes.
    """

    def __init__(
        self,
        spec: ExportSpec,
        settings: Settings,
        *,
        template_name: str = "export",
        out_dir: Path | None = None,
        store: ArtifactStore | None = None,
        work_dir: Path | None = None,
        allow_empty: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        on_exclusions: Callable[[list[Exclusion]], None] | None = None,
        on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
        on_warnings: Callable[[list[ProductWarning]], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        resume: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
        job_id: int | None = None,
        destination: str = "download",
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.template_name = template_name
        self.store = store or open_store(settings, out_dir)
        self.scratch = Path(out_dir or settings.export_dir)  # where a work folder goes when none is given
        self.work_dir = work_dir
        self.allow_empty = allow_empty
        self.on_progress = on_progress or (lambda _p: None)
        self.on_exclusions = on_exclusions or (lambda _e: None)
        self.on_checkpoint = on_checkpoint
        self.on_warnings = on_warnings or (lambda _w: None)
        self.should_cancel = should_cancel or (lambda: False)
        self.resume = dict(resume) if resume else None
        self.now = now
        self.job_id = job_id
        self.destination = destination

    def _prepare_folder(self) -> Path:
        self.store.ensure_ready()
        try:
            work = self.work_dir or self.scratch / f".work-{uuid.uuid4().hex}"
            if self.resume is None and work.exists():
                shutil.rmtree(work)  # leftovers of a run that never checkpointed
            work.mkdir(parents=True, exist_ok=self.resume is not None)
        except OSError as exc:
            raise OutputError(f"cannot write to the export folder {self.scratch}: {exc.strerror or exc}") from exc
        return work

    def _delta_tracker(self) -> DeltaTracker | None:
        if not self.spec.delta:
            return None
        if self.job_id is None:
            raise InvalidRequest("delta exports run as jobs (they remember what each job sent)", "delta")
        return DeltaTracker(scope_key(self.template_name, self.destination), self.job_id)

    def execute(self) -> ExportResult:
        started = time.monotonic()
        started_at = (self.now or dt.datetime.now()).replace(microsecond=0)
        sink: Sink = get_sink(self.spec.sink)(self.spec, self.settings, self.store)
        source = ExportSource(self.spec, self.settings, sink_relations=sink.relations, delta=self._delta_tracker())
        if source.total == 0 and not self.allow_empty:
            raise EmptySelection("the selection matches no product (check the statuses, categories and filters)")
        resume = self.resume if source.resumable else None  # an images ZIP cannot be resumed: start over
        self.resume = resume
        progress = Progress(phase="writing", total=source.total)
        by_rule: Counter[str] = Counter()
        seen_up_to = 0  # products with id <= seen_up_to were counted before a resume
        if resume:
            seen_up_to = int(resume["last_id"])
            progress.processed = int(resume["processed"])
            progress.excluded = int(resume["excluded"])
            progress.unchanged = int(resume.get("unchanged", 0))
            progress.warnings = int(resume.get("warnings", 0))
            progress.exported = progress.processed - progress.excluded - progress.unchanged
            by_rule.update(resume.get("excluded_by_rule") or {})
        self.on_progress(progress)
        work = self._prepare_folder()
        samples: list[Exclusion] = []
        opened = False
        try:
            source.open(work)
            context = SinkContext(work, source.columns.infos, self.template_name, started_at)
            replay_after = sink.open(context, resume["sink"] if resume else None)
            opened = True
            start_after = min(seen_up_to, replay_after) if replay_after is not None else seen_up_to
            write = sink.write
            for chunk in source.chunks(start_after=start_after, seen_up_to=seen_up_to):
                if self.should_cancel():
                    raise Cancelled("the export was cancelled")
                if chunk.warnings:
                    progress.warnings += len(chunk.warnings)
                    self.on_warnings(chunk.warnings)
                for values, record in chunk.rows:
                    write(values, record)
                if chunk.excluded:
                    by_rule.update(e.rule for e in chunk.excluded)
                    samples.extend(chunk.excluded[: max(0, 20 - len(samples))])
                    self.on_exclusions(chunk.excluded)
                progress.processed += chunk.counted
                progress.excluded += len(chunk.excluded)
                progress.unchanged += chunk.unchanged
                progress.exported = progress.processed - progress.excluded - progress.unchanged
                progress.elapsed = time.monotonic() - started
                if self.on_checkpoint is not None and chunk.last_id > seen_up_to:
                    self.on_checkpoint(
                        {
                            "last_id": chunk.last_id,
                            "processed": progress.processed,
                            "excluded": progress.excluded,
                            "unchanged": progress.unchanged,
                            "warnings": progress.warnings,
                            "excluded_by_rule": dict(by_rule),
                            "sink": sink.checkpoint(),
                        }
                    )
                self.on_progress(progress)
            removed = sink.write_removed(source.removed()) if self.spec.delta else 0
            files = sink.close(source.close())
            opened = False
            source.commit()
        except BaseException as exc:
            if isinstance(exc, RetryableError):
                raise  # keep the work folder: the retry resumes from the last checkpoint
            if opened:
                sink.abort()
            source.abort()
            shutil.rmtree(work, ignore_errors=True)
            if isinstance(exc, OSError):
                raise OutputError(f"writing the export failed: {exc.strerror or exc}") from exc
            raise
        shutil.rmtree(work, ignore_errors=True)
        progress.phase = "done"
        progress.elapsed = time.monotonic() - started
        self.on_progress(progress)
        return ExportResult(
            files=files,
            total=source.total,
            exported=progress.exported,
            excluded=progress.excluded,
            excluded_by_rule=dict(by_rule),
            seconds=progress.elapsed,
            unchanged=progress.unchanged,
            removed=removed,
            warnings=progress.warnings,
            started_at=started_at,
            samples=samples,
        )


def run_export(spec: ExportSpec | Mapping[str, Any], settings: Settings, **kwargs: Any) -> ExportResult:
    """Convenience: validate `spec` when given as a dict, then run it."""
    if not isinstance(spec, ExportSpec):
        spec = ExportSpec.from_dict(spec)
    return ExportRun(spec, settings, **kwargs).execute()
