"""Proto <-> domain conversions for the servicer: requests to service arguments, models and dicts to messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from pm_exports_client.convert import (
    dict_to_struct,
    from_timestamp,
    product_from_message,
    product_to_message,
    struct_to_dict,
    to_timestamp,
)
from pm_exports_client.v1 import catalog_pb2, exports_pb2

from engine.errors import InvalidRequest
from engine.models import JOB_STATUSES, Artifact, ExportJob, Template
from engine.services.jobs import artifact_dict

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


# --- export requests ----------------------------------------------------------------------------------------


def export_request(definition: exports_pb2.ExportDefinition) -> tuple[str | None, dict[str, Any]]:
    """(template name or None, overrides for engine.services.exports.resolve_request)."""
    template = definition.template if definition.HasField("template") else None
    overrides: dict[str, Any] = {}
    if definition.HasField("format"):
        overrides["format"] = definition.format
    if definition.HasField("selection"):
        overrides["selection"] = selection_from_proto(definition.selection)
    if definition.columns:
        overrides["columns"] = [column_from_proto(c) for c in definition.columns]
    if definition.fields:
        overrides["fields"] = list(definition.fields)
    if definition.HasField("options"):
        overrides["options"] = struct_to_dict(definition.options)
    if definition.HasField("file_name"):
        overrides["file_name"] = definition.file_name
    return template, overrides


def selection_from_proto(msg: exports_pb2.Selection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("statuses", "suppliers", "ids", "skus", "eans", "brands", "tags"):
        values = list(getattr(msg, name))
        if values:
            out[name] = values
    categories: list[Any] = [*msg.categories, *msg.category_ids]
    if categories:
        out["categories"] = categories
    for name in (
        "stock_min",
        "stock_max",
        "price_min",
        "price_max",
        "has_images",
        "has_price",
        "has_ean",
        "completeness_min",
    ):
        if msg.HasField(name):
            out[name] = getattr(msg, name)
    if msg.HasField("updated_since"):
        out["updated_since"] = from_timestamp(msg.updated_since).isoformat()
    return out


def selection_to_proto(selection: Mapping[str, Any]) -> exports_pb2.Selection:
    msg = exports_pb2.Selection()
    for key, value in selection.items():
        if value is None:
            continue
        if key == "categories":
            for item in value:
                if isinstance(item, int):
                    msg.category_ids.append(item)
                else:
                    msg.categories.append(str(item))
        elif key in {"statuses", "suppliers", "skus", "eans", "brands", "tags"}:
            getattr(msg, key).extend(str(v) for v in value)
        elif key == "ids":
            msg.ids.extend(int(v) for v in value)
        elif key in {"price_min", "price_max"}:
            setattr(msg, key, str(value))
        elif key == "updated_since":
            msg.updated_since.CopyFrom(to_timestamp(dt.datetime.fromisoformat(str(value))))
        elif key in {"stock_min", "stock_max", "completeness_min", "has_images", "has_price", "has_ean"}:
            setattr(msg, key, value)
    return msg


def column_from_proto(msg: exports_pb2.Column) -> dict[str, Any]:
    column: dict[str, Any] = {"header": msg.header}
    kind = msg.WhichOneof("value")
    if kind is not None:
        column[kind] = getattr(msg, kind)
    if msg.transforms:
        column["transforms"] = [
            {"name": t.name, **struct_to_dict(t.args)} if t.HasField("args") and t.args.fields else t.name
            for t in msg.transforms
        ]
    return column


def column_to_proto(column: Mapping[str, Any]) -> exports_pb2.Column:
    msg = exports_pb2.Column(header=str(column.get("header", "")))
    for kind in ("source", "literal", "pattern"):
        if kind in column:
            setattr(msg, kind, str(column[kind]))
    for step in column.get("transforms") or []:
        if isinstance(step, str):
            msg.transforms.append(exports_pb2.Transform(name=step))
        else:
            args = {k: v for k, v in step.items() if k != "name"}
            msg.transforms.append(exports_pb2.Transform(name=str(step["name"]), args=dict_to_struct(args)))
    return msg


# --- models to messages -------------------------------------------------------------------------------------


def _set_time(msg: Any, name: str, value: dt.datetime | str | float | None) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    getattr(msg, name).CopyFrom(to_timestamp(value))


def artifact_to_proto(artifact: Artifact | Mapping[str, Any]) -> exports_pb2.Artifact:
    data = artifact if isinstance(artifact, Mapping) else artifact_dict(artifact)
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


def job_to_proto(job: ExportJob) -> exports_pb2.Job:
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
    msg.artifacts.extend(artifact_to_proto(a) for a in job.artifacts.order_by(Artifact.id))
    if job.report:
        msg.report.CopyFrom(dict_to_struct(_json_safe(job.report)))
    if job.spec:
        msg.spec.CopyFrom(dict_to_struct(_json_safe(job.spec)))
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


def template_to_proto(template: Template) -> exports_pb2.Template:
    spec: dict[str, Any] = template.spec or {}
    msg = exports_pb2.Template(
        name=template.name,
        description=template.description or "",
        format=template.format,
        version=template.version,
        predefined=bool(template.predefined),
        file_name=str(spec.get("file_name") or ""),
    )
    _set_time(msg, "created_at", template.created_at)
    _set_time(msg, "updated_at", template.updated_at)
    msg.columns.extend(column_to_proto(c) for c in spec.get("columns") or [])
    msg.selection.CopyFrom(selection_to_proto(spec.get("selection") or {}))
    if spec.get("options"):
        msg.options.CopyFrom(dict_to_struct(_json_safe(spec["options"])))
    msg.rules.extend(dict_to_struct(_json_safe(rule)) for rule in spec.get("rules") or [])
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


# --- products -----------------------------------------------------------------------------------------------


def product_input(request: catalog_pb2.UpsertProductsRequest) -> dict[str, Any]:
    """The product input dict of an upsert message; raises ValueError on an unknown update_mask path."""
    return product_from_message(request.product, list(request.update_mask.paths))


def product_to_proto(data: Mapping[str, Any]) -> catalog_pb2.Product:
    """A product dict of engine.services.catalog.get_product as a message (output-only fields included)."""
    msg, _mask = product_to_message({k: v for k, v in data.items() if k not in {"created_at", "updated_at"}})
    msg.id = data["id"]
    msg.completeness = data["completeness"]
    msg.grade = data["grade"]
    _set_time(msg, "created_at", data.get("created_at"))
    _set_time(msg, "updated_at", data.get("updated_at"))
    return msg
