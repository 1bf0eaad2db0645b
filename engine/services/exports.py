"""Exports: build the spec of a request (template + overrides), run it, record the job and its artifacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import ExportsError
from engine.models import Artifact, ExportJob
from engine.pipeline.run import ExportResult, ExportRun, Progress
from engine.pipeline.spec import ExportSpec
from engine.services.reports import exclusion_recorder, warning_recorder
from engine.services.templates import get_template
from engine.settings import Settings

# The predefined template used when a request names a format but no template.
DEFAULT_TEMPLATES = {
    "google_xml": "Google Shopping",
    "amazon_json": "Amazon Listings Feed",
    "csv": "Standard CSV",
    "xlsx": "Full catalogue XLSX",
    "json": "JSON catalogue",
    "jsonl": "JSON catalogue",
}


@dataclass(frozen=True)
class ResolvedRequest:
    spec: ExportSpec
    template_name: str
    template_version: int | None

    def new_job(self, **state: Any) -> ExportJob:
        """Record a job of this request: the template it came from and the exact spec snapshot it runs."""
        job: ExportJob = ExportJob.create(
            template_name=self.template_name, template_version=self.template_version, spec=self.spec.to_dict(), **state
        )
        return job


def resolve_request(template: str | None, overrides: Mapping[str, Any] | None = None) -> ResolvedRequest:
    """The validated spec for a template name and/or overrides (format, selection, columns, options...)."""
    overrides = dict(overrides or {})
    fields = overrides.pop("fields", None)
    if template is None:
        template = DEFAULT_TEMPLATES.get(str(overrides.get("format", "csv")), DEFAULT_TEMPLATES["csv"])
    tpl = get_template(template)
    spec = ExportSpec.from_dict(tpl.spec)
    if "format" in overrides and overrides["format"] != spec.format and "options" not in overrides:
        overrides["options"] = {}
        spec.options = {}  # another format: the template's format options do not apply
    if fields:
        overrides["columns"] = select_fields(spec.columns, fields)
    resolved = spec.with_overrides(overrides)
    return ResolvedRequest(resolved, tpl.name, tpl.version)


def select_fields(columns: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """Keep the named columns (by header or source, case-insensitive) in the order given; a plain field
    path that is not a column of the template becomes a new column."""
    by_key: dict[str, dict[str, Any]] = {}
    for column in columns:
        by_key.setdefault(str(column.get("header", "")).casefold(), column)
        if "source" in column:
            by_key.setdefault(str(column["source"]).casefold(), column)
    out = []
    for name in fields:
        name = name.strip()
        if not name:
            continue
        out.append(by_key.get(name.casefold()) or {"header": name, "source": name})
    return out


def run_inline(
    request: ResolvedRequest,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    requested_by: str = "cli",
    on_progress: Callable[[Progress], None] | None = None,
    allow_empty: bool = False,
) -> tuple[ExportJob, ExportResult]:
    """Run an export in this process, recording the job, its exclusions and its artifacts."""
    job = request.new_job(status="running", phase="selecting", requested_by=requested_by, started_at=utcnow())

    run = ExportRun(
        request.spec,
        settings,
        template_name=request.template_name,
        out_dir=out_dir,
        allow_empty=allow_empty,
        on_progress=on_progress,
        on_exclusions=exclusion_recorder(job.id),
        on_warnings=warning_recorder(job.id),
        job_id=job.id,
    )
    try:
        result = run.execute()
    except ExportsError as exc:
        job.status, job.error, job.finished_at = "failed", str(exc), utcnow()
        job.save()
        raise
    record_success(job.id, result, settings, delta=request.spec.delta)
    return ExportJob.get_by_id(job.id), result


def record_success(job_id: int, result: ExportResult, settings: Settings, *, delta: bool = False) -> None:
    """Record a finished run: its artifacts (kept `artifact_retention_days`), counters and report, in one
    transaction; the job becomes succeeded."""
    created = utcnow()
    expires = created + dt.timedelta(days=settings.artifact_retention_days)
    with current_database().atomic():
        for f in result.files:
            Artifact.create(
                job=job_id,
                name=f.path.name,
                format=f.format,
                content_type=f.content_type,
                rows=f.rows,
                size=f.size,
                sha256=f.sha256,
                location=str(f.path.resolve()),
                created_at=created,
                expires_at=expires,
            )
        job = ExportJob.get_by_id(job_id)
        job.status, job.phase, job.error, job.finished_at, job.checkpoint = "succeeded", "done", None, utcnow(), None
        job.total, job.processed = result.total, result.exported + result.excluded + result.unchanged
        job.exported, job.excluded = result.exported, result.excluded
        job.report = {
            **(job.report or {}),
            "excluded_by_rule": result.excluded_by_rule,
            "seconds": round(result.seconds, 3),
            **({"unchanged": result.unchanged, "removed": result.removed} if delta else {}),
            **({"warnings": result.warnings} if result.warnings else {}),
        }
        job.save()
