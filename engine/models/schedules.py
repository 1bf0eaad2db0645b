"""Schedule tables: recurring exports (frequency in a time zone, policies, counters) and their runs, one row per
(schedule, due time, attempt) under a unique index, which is what makes each due time fire exactly once."""

from __future__ import annotations

from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField
from engine.models.jobs import ExportJob

SCHEDULE_RUN_STATUSES = ("queued", "waiting", "succeeded", "partial", "failed", "cancelled", "skipped", "paused")


class Schedule(BaseModel):
    """A recurring export. Times are naive UTC; `next_run_at` is NULL while the schedule is disabled."""

    id = AutoField()
    name = CharField(max_length=128, unique=True)
    template_name = CharField(max_length=128)
    template_version = IntegerField(null=True)  # pinned version; NULL runs the template's current version
    overrides = JSONTextField()  # export overrides (selection, options, deliveries...)
    frequency = CharField(max_length=200)  # normalised text (engine.jobs.recurrence)
    timezone = CharField(max_length=64)
    enabled = BooleanField(default=True)
    paused_reason = TextField(null=True)
    overlap = CharField(max_length=8, default="skip")
    catch_up = CharField(max_length=8, default="once")
    retry_count = IntegerField(default=0)
    retry_backoff = IntegerField(default=60)  # seconds before the first retry, doubled for each next one
    max_failures = IntegerField(default=5)  # consecutive failed runs before the schedule pauses itself
    notifications = JSONTextField(null=True)  # {"on": "failure" | "always" | "warnings", ...}
    next_run_at = DateTimeField(null=True, index=True)
    last_run_at = DateTimeField(null=True)
    last_status = CharField(max_length=16, null=True)
    last_job_id = IntegerField(null=True)  # the newest job of this schedule (the overlap check reads it)
    runs = IntegerField(default=0)
    succeeded = IntegerField(default=0)
    partial = IntegerField(default=0)
    failed = IntegerField(default=0)
    consecutive_failures = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class ScheduleRun(BaseModel):
    """One due time of a schedule (or a manual run, or a retry): the job it produced, or why it produced none."""

    id = AutoField()
    schedule = ForeignKeyField(Schedule, backref="run_rows", on_delete="CASCADE")
    due_at = DateTimeField()
    attempt = IntegerField(default=0)
    trigger = CharField(max_length=16)  # due, catch_up, manual, retry, pause
    status = CharField(max_length=16, index=True)
    reason = TextField(null=True)
    job = ForeignKeyField(ExportJob, null=True, on_delete="SET NULL", backref="schedule_runs")
    retry_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("schedule", "due_at", "attempt"), True),)
