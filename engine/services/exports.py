"""Exports: build the spec of a request (template + overrides), record its job, run it inline when asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.jobs import runner
from engine.jobs.queues import redis_for
from engine.jobs.reconcile import owner_id
from engine.jobs.state import reset_job_keys
from engine.models import ExportJob
from engine.pipeline.run import ExportResult, Progress
from engine.pipeline.spec import ExportSpec
from engine.services.deliveries import check_delivery_integrations
from engine.services.notifications import check_policy_integrations
from engine.services.templates import get_template, template_version
from engine.services.views import JobView
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

    def new_job(self, settings: Settings | None, **state: Any) -> ExportJob:
        """Record a job of this request: the template it came from and the exact spec snapshot it runs. With
        `settings`, Redis forgets anything it still held under the new id (a restored database reuses ids);
        None for the CLI's one-off exports, which need no Redis."""
        job: ExportJob = ExportJob.create(
            kind="export",
            template_name=self.template_name,
            template_version=self.template_version,
            spec=self.spec.to_dict(),
            **state,
        )
        if settings is not None:
            reset_job_keys(redis_for(settings), job.id)
        return job


def resolve_request(
    template: str | None, overrides: Mapping[str, Any] | None = None, *, version: int | None = None
) -> ResolvedRequest:
    """The validated spec for a template name and/or overrides (format, selection, columns, options...); with
    `version`, that saved version of the template instead of its current one."""
    overrides = dict(overrides or {})
    fields = overrides.pop("fields", None)
    if template is None:
        template = DEFAULT_TEMPLATES.get(str(overrides.get("format", "csv")), DEFAULT_TEMPLATES["csv"])
    tpl = get_template(template)
    spec = ExportSpec.from_dict(tpl.spec if version is None else template_version(tpl.name, version))
    if "format" in overrides and overrides["format"] != spec.format and "options" not in overrides:
        overrides["options"] = {}
        spec.options = {}  # another format: the template's format options do not apply
    if fields:
        overrides["columns"] = select_fields(spec.columns, fields)
    resolved = spec.with_overrides(overrides)
    if "notifications" in overrides:
        check_policy_integrations(resolved.notifications)
    if "deliveries" in overrides:
        check_delivery_integrations(resolved.deliveries)
    return ResolvedRequest(resolved, tpl.name, tpl.version if version is None else version)


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
    channel: runner.LocalChannel | None = None,
) -> tuple[JobView, ExportResult]:
    """Run an export in this process through the job runner, without Redis; raises the error that ended it.
    `channel` lets the caller cancel it (a signal handler); the job records this process as its owner."""
    from engine.services.jobs import get_job

    job = request.new_job(None, status="queued", phase="queued", requested_by=requested_by, owner=owner_id())
    ended = runner.execute(
        job.id,
        settings,
        channel=channel or runner.LocalChannel(),
        out_dir=out_dir,
        allow_empty=allow_empty,
        observer=on_progress,
    )
    if ended.error is not None:
        raise ended.error
    assert ended.outcome is not None
    return get_job(job.id), ended.outcome.detail
