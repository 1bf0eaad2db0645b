"""Schedules and their runs as messages, and the fields of a create/update request as the services take them."""

from __future__ import annotations

from typing import Any

from pm_exports_client.convert import struct_to_dict
from pm_exports_client.v1 import schedules_pb2

from engine.rpc.convert.jobs import _json_safe, _set_time
from engine.services.views import FireTimeView, ScheduleRunView, ScheduleView

# proto field -> service field, for those whose names differ
_FIELD_NAMES = {"retry_backoff_seconds": "retry_backoff"}


def fields_from_proto(msg: schedules_pb2.ScheduleFields) -> dict[str, Any]:
    """The fields that are set in the message (overrides: when given), named as engine.services.schedules takes
    them; template_version 0 means unpinned."""
    values: dict[str, Any] = {}
    for descriptor, value in msg.ListFields():
        if descriptor.name == "overrides":
            values["overrides"] = struct_to_dict(value)
            continue
        values[_FIELD_NAMES.get(descriptor.name, descriptor.name)] = value
    if values.get("template_version") == 0:
        values["template_version"] = None
    return values


def schedule_to_proto(view: ScheduleView) -> schedules_pb2.Schedule:
    fields = schedules_pb2.ScheduleFields(
        template=view.template,
        frequency=view.frequency,
        timezone=view.timezone,
        enabled=view.enabled,
        overlap=view.overlap,
        catch_up=view.catch_up,
        retry_count=view.retry_count,
        retry_backoff_seconds=view.retry_backoff,
        max_failures=view.max_failures,
        notify=view.notify,
        warn_excluded_percent=view.warn_excluded_percent,
        template_version=view.template_version or 0,
    )
    fields.overrides.update(_json_safe(dict(view.overrides)))
    msg = schedules_pb2.Schedule(
        name=view.name,
        fields=fields,
        runs=view.runs,
        succeeded=view.succeeded,
        partial=view.partial,
        failed=view.failed,
        consecutive_failures=view.consecutive_failures,
    )
    if view.paused_reason:
        msg.paused_reason = view.paused_reason
    if view.last_status:
        msg.last_status = view.last_status
    for name in ("next_run_at", "last_run_at", "created_at", "updated_at"):
        _set_time(msg, name, getattr(view, name))
    return msg


def run_to_proto(view: ScheduleRunView) -> schedules_pb2.ScheduleRun:
    msg = schedules_pb2.ScheduleRun(
        id=view.id, schedule=view.schedule, attempt=view.attempt, trigger=view.trigger, status=view.status
    )
    if view.reason:
        msg.reason = view.reason
    if view.job_id is not None:
        msg.job_id = view.job_id
    _set_time(msg, "due_at", view.due_at)
    _set_time(msg, "retry_at", view.retry_at)
    return msg


def fire_times_to_proto(timezone: str, times: list[FireTimeView]) -> schedules_pb2.PreviewNextRunsResponse:
    msg = schedules_pb2.PreviewNextRunsResponse(timezone=timezone)
    for fire in times:
        item = msg.times.add(local=fire.local.isoformat())
        _set_time(item, "utc", fire.utc)
    return msg
