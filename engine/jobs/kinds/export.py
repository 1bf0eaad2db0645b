"""The export job kind: run the job's spec snapshot through the pipeline (source -> sink) and report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.jobs.runner import JobContext, JobOutcome, LocalChannel
from engine.pipeline.run import ExportRun
from engine.pipeline.spec import ExportSpec


class ExportKind:
    name: ClassVar[str] = "export"
    queue: ClassVar[str] = "exports"
    limited: ClassVar[bool] = True
    retry_intervals: ClassVar[list[int]] = [5, 30, 120]

    def resume_from(self, spec: Mapping[str, Any], checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if checkpoint is None or (spec.get("images") or {}).get("mode") == "zip":
            return None  # an images ZIP cannot be continued: such a job starts over
        return dict(checkpoint)

    def run(self, ctx: JobContext) -> JobOutcome:
        spec = ExportSpec.from_dict(ctx.spec)
        run = ExportRun(
            spec,
            ctx.settings,
            template_name=ctx.template_name,
            out_dir=ctx.out_dir,
            work_dir=ctx.work_dir if ctx.out_dir is None else None,  # beside a CLI --out folder: one rename
            allow_empty=ctx.allow_empty,
            on_progress=ctx.progress,
            on_exclusions=ctx.exclusions,
            on_warnings=ctx.warnings,
            on_checkpoint=ctx.checkpoint,
            should_cancel=ctx.cancelled,
            resume=ctx.resume,
            now=ctx.started_at,
            job_id=ctx.job_id,
        )
        result = run.execute()
        report = {
            "excluded_by_rule": result.excluded_by_rule,
            "seconds": round(result.seconds, 3),
            **({"unchanged": result.unchanged, "removed": result.removed} if spec.delta else {}),
            **({"warnings": result.warnings} if result.warnings else {}),
        }
        return JobOutcome(
            files=result.files,
            total=result.total,
            processed=result.exported + result.excluded + result.unchanged,
            exported=result.exported,
            excluded=result.excluded,
            report=report,
            detail=result,
        )

    def finished(self, ctx: JobContext, outcome: JobOutcome) -> None:
        if ctx.spec.get("deliveries"):
            from engine.jobs.kinds.deliver import start_deliveries

            start_deliveries(ctx.settings, ctx.job_id, inline=isinstance(ctx.channel, LocalChannel))
