"""The whole export flow for one spec: select -> map -> validate -> write -> name and hash the files.

Plain Python: the CLI runs it inline, a worker task wraps it. Callers observe it through callbacks
(progress per chunk, exclusions) and may cancel it between chunks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, EmptySelection, InvalidRequest, OutputError, RetryableError
from engine.formats.base import ColumnInfo, FormatWriter, OutputFile, WriterContext
from engine.formats.registry import get_writer
from engine.pipeline.delta import DeltaTracker, Seen, fingerprint, scope_key
from engine.pipeline.image_step import ImageStep, ProductWarning
from engine.pipeline.mapping import CompiledColumns, compile_columns
from engine.pipeline.naming import render_name, unique_target
from engine.pipeline.select import (
    ProductLoader,
    count_selected,
    iter_categories,
    iter_suppliers,
    selection_where,
)
from engine.pipeline.spec import ExportSpec
from engine.pipeline.validate import CompiledRules, compile_rules
from engine.settings import Settings


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


@dataclass(frozen=True)
class Exclusion:
    product_id: int
    sku: str | None
    ean: str | None
    rule: str
    message: str


@dataclass(frozen=True)
class ExportFile:
    path: Path
    rows: int
    size: int
    sha256: str
    content_type: str
    format: str


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def format_defaults(settings: Settings) -> dict[str, dict[str, Any]]:
    """Format options whose default comes from the settings (a template's own value wins)."""
    return {"xlsx": {"max_rows": settings.xlsx_max_rows}}


class ExportRun:
    """One export of `spec` into `out_dir`. Call `execute()` once.

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
        self.out_dir = Path(out_dir or settings.export_dir)
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
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            work = self.work_dir or self.out_dir / f".work-{uuid.uuid4().hex}"
            if self.resume is None and work.exists():
                shutil.rmtree(work)  # leftovers of a run that never checkpointed
            work.mkdir(parents=True, exist_ok=self.resume is not None)
        except OSError as exc:
            raise OutputError(f"cannot write to the export folder {self.out_dir}: {exc.strerror or exc}") from exc
        return work

    def execute(self) -> ExportResult:
        started = time.monotonic()
        started_at = (self.now or dt.datetime.now()).replace(microsecond=0)
        spec = self.spec
        writer_cls = get_writer(spec.format)
        options = writer_cls.validate_options({**format_defaults(self.settings).get(spec.format, {}), **spec.options})
        columns = compile_columns(spec.columns, spec.rows)
        rules = compile_rules(spec.rules)
        where = selection_where(spec.selection, spec.statuses)
        total = count_selected(where)
        if total == 0 and not self.allow_empty:
            raise EmptySelection("the selection matches no product (check the statuses, categories and filters)")
        writer_relations = writer_cls.relations(options)
        image_options = ImageStep.needed(spec.images)
        if image_options is not None:
            writer_relations = writer_relations | {"images"}
            if image_options.mode == "zip":
                self.resume = None  # the ZIP cannot be resumed: such a job starts over after a crash
        whole = columns.whole_relations | rules.relations | writer_relations
        loader = ProductLoader(
            where,
            columns.product_columns | rules.product_columns,
            columns.relations | rules.relations | writer_relations,
            self.settings.chunk_size,
            first_image_only="images" not in whole,
        )
        progress = Progress(phase="writing", total=total)
        by_rule: Counter[str] = Counter()
        last_id = 0  # products with id <= last_id were counted before a resume
        if self.resume:
            last_id = int(self.resume["last_id"])
            progress.processed = int(self.resume["processed"])
            progress.excluded = int(self.resume["excluded"])
            progress.exported = progress.processed - progress.excluded
            progress.unchanged = int(self.resume.get("unchanged", 0))
            progress.warnings = int(self.resume.get("warnings", 0))
            progress.exported = progress.processed - progress.excluded - progress.unchanged
            by_rule.update(self.resume.get("excluded_by_rule") or {})
        self.on_progress(progress)
        work = self._prepare_folder()
        ext = str(options.get("extension") or writer_cls.extension)  # a writer may offer a choice (CSV: tsv, txt)
        ctx = WriterContext(
            folder=work,
            file_name=lambda part: f"part-{part:05d}.{ext}",
            columns=columns.infos,
            options=options,
            iter_suppliers=iter_suppliers,
            iter_categories=iter_categories,
            created_at=started_at,
        )
        samples: list[Exclusion] = []
        writer: FormatWriter | None = None
        delta = self._delta_tracker()
        images: ImageStep | None = None
        try:
            if image_options is not None:
                images = ImageStep(
                    image_options,
                    self.settings.var_dir / "cache" / "images",
                    work,
                    allow_private_networks=self.settings.images_allow_private_networks,
                )
            if self.resume:
                writer = writer_cls.resume(ctx, self.resume["writer"])
                start_after = min(last_id, int(self.resume["writer"].get("replay_after_id", last_id)))
            else:
                writer = writer_cls(ctx)
                start_after = 0
            for chunk in loader.chunks(after_id=start_after):
                if self.should_cancel():
                    raise Cancelled("the export was cancelled")
                if images is not None:
                    warnings = images.apply(chunk, last_id)
                    if warnings:
                        progress.warnings += len(warnings)
                        self.on_warnings(warnings)
                counted, excluded = self._write_chunk(chunk, writer, columns, rules, delta, last_id, progress)
                if excluded:
                    by_rule.update(e.rule for e in excluded)
                    samples.extend(excluded[: max(0, 20 - len(samples))])
                    self.on_exclusions(excluded)
                progress.processed += counted
                progress.excluded += len(excluded)
                progress.exported = progress.processed - progress.excluded - progress.unchanged
                progress.elapsed = time.monotonic() - started
                if self.on_checkpoint is not None and chunk[-1]["id"] > last_id:
                    self.on_checkpoint(
                        {
                            "last_id": chunk[-1]["id"],
                            "processed": progress.processed,
                            "excluded": progress.excluded,
                            "unchanged": progress.unchanged,
                            "warnings": progress.warnings,
                            "excluded_by_rule": dict(by_rule),
                            "writer": writer.checkpoint(),
                        }
                    )
                self.on_progress(progress)
            removed, removed_count = self._write_removed(delta, writer, work) if delta is not None else (None, 0)
            outputs = writer.close()
            writer = None
            files = self._publish(outputs, started_at, ext)
            if removed is not None:
                files += self._publish([removed], started_at, "csv", suffix="-removed", fmt="removed-csv")
            if images is not None:
                archive, _count = images.close()
                images = None
                if archive is not None:
                    files += self._publish([archive], started_at, "zip", suffix="-images", fmt="images-zip")
            if delta is not None:
                delta.commit()
        except BaseException as exc:
            if isinstance(exc, RetryableError):
                raise  # keep the work folder: the retry resumes from the last checkpoint
            if writer is not None:
                writer.abort()
            if images is not None:
                images.abort()
            if delta is not None:
                delta.discard()
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
            total=total,
            exported=progress.exported,
            excluded=progress.excluded,
            excluded_by_rule=dict(by_rule),
            seconds=progress.elapsed,
            unchanged=progress.unchanged,
            removed=removed_count,
            warnings=progress.warnings,
            started_at=started_at,
            samples=samples,
        )

    def _delta_tracker(self) -> DeltaTracker | None:
        if not self.spec.delta:
            return None
        if self.job_id is None:
            raise InvalidRequest("delta exports run as jobs (they remember what each job sent)", "delta")
        return DeltaTracker(scope_key(self.template_name, self.destination), self.job_id)

    def _write_chunk(
        self,
        chunk: list[dict[str, Any]],
        writer: FormatWriter,
        columns: CompiledColumns,
        rules: CompiledRules,
        delta: DeltaTracker | None,
        last_id: int,
        progress: Progress,
    ) -> tuple[int, list[Exclusion]]:
        """Write one chunk; returns how many products it counted and the ones excluded. Products with
        id <= last_id are replayed after a resume: written again (the writer needs them) but not counted."""
        write, first_failure, has_rules = writer.write, rules.first_failure, bool(rules.checks)
        expanded = columns.expander is not None
        previous = delta.previous([r["id"] for r in chunk]) if delta is not None else {}
        seen: list[Seen] = []
        excluded: list[Exclusion] = []
        counted = 0
        for record in chunk:
            replayed = record["id"] <= last_id
            failure = first_failure(record) if has_rules else None
            if failure is None:
                if delta is not None:
                    rows = list(columns.rows(record))
                    content = fingerprint([values for values, _row in rows])
                    if previous.get(record["id"]) != content:
                        for values, row_record in rows:
                            write(values, row_record)
                    elif not replayed:
                        progress.unchanged += 1
                    if not replayed:
                        variant_skus = [v["sku"] for v in record.get("variants") or () if v.get("sku")]
                        seen.append(Seen(record["id"], record["sku"], record["ean"], variant_skus, content))
                elif expanded:
                    for values, row_record in columns.rows(record):
                        write(values, row_record)
                else:
                    write(columns.row(record), record)
            if replayed:
                continue
            counted += 1
            if failure is not None:
                excluded.append(Exclusion(record["id"], record["sku"], record["ean"], *failure))
        if delta is not None and seen:
            delta.stage(seen)
        return counted, excluded

    def _write_removed(self, delta: DeltaTracker, writer: FormatWriter, work: Path) -> tuple[OutputFile | None, int]:
        """Products removed since the last run: in the feed itself when the format can say so (Amazon DELETE
        messages), else as a separate CSV list (the standard CSV dialect, formulas neutralised)."""
        in_feed = writer.write_removed if writer.removals_in_feed else None
        if in_feed is not None:
            count = 0
            for record in delta.removed():
                in_feed(record)
                count += 1
            return None, count
        from engine.formats.csv import CsvWriter

        folder = work / "removed"
        folder.mkdir(exist_ok=True)
        ctx = WriterContext(
            folder=folder,
            file_name=lambda _part: "removed.csv",
            columns=[ColumnInfo("id", "integer"), ColumnInfo("sku"), ColumnInfo("ean")],
            options=CsvWriter.validate_options({}),
        )
        removed_writer = CsvWriter(ctx)
        for record in delta.removed():
            removed_writer.write([record["id"], record["sku"], record["ean"]], record)
        (output,) = removed_writer.close()
        return output, output.rows

    def _publish(
        self, outputs: list[Any], started_at: dt.datetime, ext: str, suffix: str = "", fmt: str | None = None
    ) -> list[ExportFile]:
        """Move finished files from the work folder to their final names, hashing each."""
        files = []
        for part, output in enumerate(outputs, start=1):
            name = render_name(
                self.spec.file_name,
                template=self.template_name,
                fmt=self.spec.format,
                extension=ext,
                when=started_at,
                count=output.rows,
                part=part,
                parts=len(outputs),
            )
            if suffix:
                stem, _dot, extension = name.rpartition(".")
                name = f"{stem}{suffix}.{extension}"
            target = unique_target(self.out_dir, name)
            os.replace(output.path, target)
            files.append(
                ExportFile(
                    target,
                    output.rows,
                    target.stat().st_size,
                    sha256_of(target),
                    output.content_type,
                    fmt or self.spec.format,
                )
            )
        return files


def run_export(spec: ExportSpec | Mapping[str, Any], settings: Settings, **kwargs: Any) -> ExportResult:
    """Convenience: validate `spec` when given as a dict, then run it."""
    if not isinstance(spec, ExportSpec):
        spec = ExportSpec.from_dict(spec)
    return ExportRun(spec, settings, **kwargs).execute()
