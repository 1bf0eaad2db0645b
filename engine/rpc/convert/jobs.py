"""Jobs, artifacts, events, templates and previews as messages, and job statuses both ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from pm_exports_client.convert import dict_to_struct, to_timestamp
from pm_exports_client.v1 import exports_pb2

from engine.errors import InvalidRequest
from engine.models import JOB_STATUSES
from engine.rpc.convert.specs import spec_to_proto
from engine.services.views import ArtifactView, JobView, TemplateVersionView, TemplateView

_STATUS_PREFIX = "JOB_STATUS_"
_ARTIFACT_TIMES = ("created_at", "expires_at")


# --- job status -------------------------------------------------------------------------------------------


def status_to_proto(status: str) -> str:
    """The JobStatus enum name of a job status ("succeeded" -> "JOB_STATUS_SUCCEEDED")."""
    name = _STATUS_PREFIX + status.upper()
    return name if status in JOB_STATUSES else "JOB_STATUS_UNSPECIFIED"


def status_from_proto(value: int) -> str:
    name = exports_pb2.JobStatus.Name(value).removeprefix(_STATUS_PREFIX).lower()
    if name not in JOB_STATUSES:
        raise InvalidRequest(f"not a job status: {name}", "statuses")
    return name


# --- models to messages -------------------------------------------------------------------------------------


def _set_time(msg: Any, name: str, value: dt.datetime | str | float | None) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    getattr(msg, name).CopyFrom(to_timestamp(value))


def artifact_to_proto(artifact: ArtifactView | Mapping[str, Any]) -> exports_pb2.Artifact:
    """An artifact (a view, or its dict in a job event) as a message."""
    data = artifact if isinstance(artifact, Mapping) else artifact.to_dict()
    msg = exports_pb2.Artifact(
        id=data["id"],
        name=data["name"],
        format=data["format"],
        content_type=data["content_type"],
        rows=data["rows"],
        size=data["size"],
        sha256=data["sha256"],
    )
    for name in _ARTIFACT_TIMES:
        _set_time(msg, name, data.get(name))
    return msg


def _json_safe(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def job_to_proto(job: JobView) -> exports_pb2.Job:
    msg = exports_pb2.Job(
        id=job.id,
        status=status_to_proto(job.status),
        phase=job.phase or "",
        template=job.template_name or "",
        requested_by=job.requested_by or "",
        total=job.total,
        processed=job.processed,
        exported=job.exported,
        excluded=job.excluded,
        failed=job.failed,
    )
    if job.template_version is not None:
        msg.template_version = job.template_version
    if job.error:
        msg.error = job.error
    for name in ("created_at", "started_at", "finished_at"):
        _set_time(msg, name, getattr(job, name))
    msg.artifacts.extend(artifact_to_proto(a) for a in job.artifacts)
    if job.report:
        msg.report.CopyFrom(dict_to_struct(_json_safe(job.report)))
    if job.spec:
        msg.spec.CopyFrom(dict_to_struct(_json_safe(job.spec)))
    msg.excluded_by_rule.update(job.excluded_by_rule)
    msg.warnings = job.warnings
    from engine.rpc.convert.integrations import delivery_to_proto

    msg.deliveries.extend(delivery_to_proto(d) for d in job.deliveries)
    if job.schedule is not None:
        msg.schedule = job.schedule
    _set_time(msg, "due_at", job.due_at)
    return msg


def event_to_proto(event: Mapping[str, Any]) -> exports_pb2.JobEvent:
    """A job event dict (engine.services.jobs) as a message."""
    msg = exports_pb2.JobEvent(
        seq=int(event.get("seq") or 0),
        job_id=int(event.get("job_id") or 0),
        status=status_to_proto(str(event.get("status") or "")),
        phase=str(event.get("phase") or ""),
        total=int(event.get("total") or 0),
        processed=int(event.get("processed") or 0),
        exported=int(event.get("exported") or 0),
        excluded=int(event.get("excluded") or 0),
        failed=int(event.get("failed") or 0),
        rate=float(event.get("rate") or 0.0),
        message=str(event.get("message") or ""),
    )
    if event.get("eta") is not None:
        msg.eta_seconds = float(event["eta"])
    if event.get("time") is not None:
        msg.time.CopyFrom(to_timestamp(float(event["time"])))
    msg.artifacts.extend(artifact_to_proto(a) for a in event.get("artifacts") or [])
    return msg


def template_to_proto(
    template: TemplateView,
    *,
    spec: Mapping[str, Any] | None = None,
    version: int | None = None,
    updated_at: dt.datetime | None = None,
) -> exports_pb2.Template:
    """A template as a message: its current version, or (with `spec`, `version` and `updated_at`) an older
    one under its current name and description."""
    spec = template.spec if spec is None else spec
    spec = spec or {}
    msg = exports_pb2.Template(
        name=template.name,
        description=template.description or "",
        format=str(spec.get("format") or template.format),
        version=template.version if version is None else version,
        predefined=bool(template.predefined),
        file_name=str(spec.get("file_name") or ""),
    )
    _set_time(msg, "created_at", template.created_at)
    _set_time(msg, "updated_at", template.updated_at if updated_at is None else updated_at)
    msg.spec.CopyFrom(spec_to_proto(_json_safe(spec)))
    # the parts of the spec the message had before `spec`, for the clients that read them
    msg.columns.extend(msg.spec.columns)
    msg.selection.CopyFrom(msg.spec.selection)
    if spec.get("options"):
        msg.options.CopyFrom(msg.spec.options)
    msg.rules.extend(msg.spec.rules)
    return msg


def template_version_to_proto(row: TemplateVersionView) -> exports_pb2.TemplateVersion:
    spec: Mapping[str, Any] = row.spec or {}
    msg = exports_pb2.TemplateVersion(
        version=row.version, format=str(spec.get("format") or ""), columns=len(spec.get("columns") or [])
    )
    _set_time(msg, "created_at", row.created_at)
    return msg


def cell_text(value: Any) -> str:
    """A preview cell as text: plain decimals, ISO dates, lists joined with '|', objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return "|".join(cell_text(v) for v in value)
        return orjson.dumps(value, default=str).decode()
    if isinstance(value, Mapping):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def preview_to_proto(preview: Any) -> exports_pb2.PreviewExportResponse:
    """engine.services.jobs.Preview as a message."""
    msg = exports_pb2.PreviewExportResponse(
        template=preview.request.template_name,
        format=preview.request.spec.format,
        headers=preview.headers,
        total=preview.total,
        incomplete=preview.incomplete,
    )
    msg.rows.extend(exports_pb2.PreviewRow(cells=[cell_text(v) for v in row]) for row in preview.rows)
    for e in preview.excluded:
        item = exports_pb2.Exclusion(product_id=e["product_id"], rule=e["rule"], message=e["message"])
        if e.get("sku"):
            item.sku = e["sku"]
        if e.get("ean"):
            item.ean = e["ean"]
        msg.excluded.append(item)
    msg.excluded_by_rule.update(preview.excluded_by_rule)
    return msg
