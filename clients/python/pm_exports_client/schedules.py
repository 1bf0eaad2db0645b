"""The typed face of ScheduleService: recurring exports as dataclasses, for ExportsClient's schedule methods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pm_exports_client.convert import dict_to_struct, from_timestamp, optional_time, struct_to_dict
from pm_exports_client.v1 import schedules_pb2

# ScheduleFields' optional scalars, by the keyword ExportsClient's schedule methods take them with.
SCALAR_FIELDS = (
    "template",
    "template_version",
    "frequency",
    "timezone",
    "enabled",
    "overlap",
    "catch_up",
    "retry_count",
    "retry_backoff_seconds",
    "max_failures",
    "notify",
    "warn_excluded_percent",
)


def _optional(msg: Any, name: str) -> Any:
    return getattr(msg, name) if msg.HasField(name) else None


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule: what it exports, when, its policies and how its runs went."""

    name: str
    template: str
    frequency: str
    timezone: str
    enabled: bool
    template_version: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    overlap: str = "skip"
    catch_up: str = "once"
    retry_count: int = 0
    retry_backoff_seconds: int = 0
    max_failures: int = 0
    notify: str = "failure"
    warn_excluded_percent: float = 0.0
    paused_reason: str | None = None
    next_run_at: dt.datetime | None = None
    last_run_at: dt.datetime | None = None
    last_status: str | None = None
    runs: int = 0
    succeeded: int = 0
    partial: int = 0
    failed: int = 0
    consecutive_failures: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @classmethod
    def from_message(cls, msg: schedules_pb2.Schedule) -> ScheduleInfo:
        f = msg.fields
        return cls(
            name=msg.name,
            template=f.template,
            frequency=f.frequency,
            timezone=f.timezone,
            enabled=f.enabled,
            template_version=f.template_version,
            overrides=struct_to_dict(f.overrides) if f.HasField("overrides") else {},
            overlap=f.overlap,
            catch_up=f.catch_up,
            retry_count=f.retry_count,
            retry_backoff_seconds=f.retry_backoff_seconds,
            max_failures=f.max_failures,
            notify=f.notify,
            warn_excluded_percent=f.warn_excluded_percent,
            paused_reason=_optional(msg, "paused_reason"),
            next_run_at=optional_time(msg, "next_run_at"),
            last_run_at=optional_time(msg, "last_run_at"),
            last_status=_optional(msg, "last_status"),
            runs=msg.runs,
            succeeded=msg.succeeded,
            partial=msg.partial,
            failed=msg.failed,
            consecutive_failures=msg.consecutive_failures,
            created_at=optional_time(msg, "created_at"),
            updated_at=optional_time(msg, "updated_at"),
        )


@dataclass(frozen=True)
class ScheduleRunInfo:
    """One due time of a schedule (or a manual run, a retry, a pause) and what came of it."""

    id: int
    schedule: str
    due_at: dt.datetime | None
    attempt: int
    trigger: str
    status: str
    reason: str | None
    job_id: int | None
    retry_at: dt.datetime | None

    @classmethod
    def from_message(cls, msg: schedules_pb2.ScheduleRun) -> ScheduleRunInfo:
        return cls(
            id=msg.id,
            schedule=msg.schedule,
            due_at=optional_time(msg, "due_at"),
            attempt=msg.attempt,
            trigger=msg.trigger,
            status=msg.status,
            reason=_optional(msg, "reason"),
            job_id=_optional(msg, "job_id"),
            retry_at=optional_time(msg, "retry_at"),
        )


@dataclass(frozen=True)
class FireTime:
    """A coming fire time: the instant in UTC and the wall-clock time in the schedule's zone."""

    utc: dt.datetime
    local: dt.datetime


def fields_message(values: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> schedules_pb2.ScheduleFields:
    """ScheduleFields with the values given (None: not set, so an update keeps the schedule's own)."""
    unknown = set(values) - set(SCALAR_FIELDS)
    if unknown:
        raise TypeError(f"unknown schedule field(s): {', '.join(sorted(unknown))}")
    message = schedules_pb2.ScheduleFields(**{k: v for k, v in values.items() if v is not None})
    if overrides is not None:
        message.overrides.CopyFrom(dict_to_struct(overrides))
    return message


def fire_times(response: schedules_pb2.PreviewNextRunsResponse) -> list[FireTime]:
    return [FireTime(from_timestamp(t.utc), dt.datetime.fromisoformat(t.local)) for t in response.times]
