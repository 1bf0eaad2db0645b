"""Notification table: one row per notified event (a job's end, a failed delivery), the in-app list and the
record of what was sent by email and webhook."""

from __future__ import annotations

from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField
from engine.models.jobs import ExportJob

NOTIFICATION_EVENTS = (
    "export.completed",
    "export.partial",
    "export.failed",
    "delivery.failed",
    "schedule.skipped",
    "schedule.paused",
)


class Notification(BaseModel):
    """`key` makes an event notified once (a job's end: `job:<id>`; a delivery's failure: `delivery:<id>:<n>`)."""

    id = AutoField()
    key = CharField(max_length=64, unique=True)
    event = CharField(max_length=32)
    job = ForeignKeyField(ExportJob, null=True, on_delete="SET NULL", backref="notifications")
    template_name = CharField(max_length=128, null=True)
    status = CharField(max_length=16)  # the job's status when it was notified
    title = CharField(max_length=255)  # the email subject, the in-app headline
    summary = JSONTextField()  # rows, exclusions by rule, files, deliveries...
    policy = JSONTextField()  # the job's notifications policy it was sent by
    in_app = BooleanField(default=True)  # shown in the in-app list
    channels = JSONTextField(null=True)  # per email/webhook: {"channel", "integration", "status", "detail"}
    task = ForeignKeyField(ExportJob, null=True, on_delete="SET NULL", backref="notify_tasks")  # its notify job
    created_at = DateTimeField(default=utcnow, index=True)
    read_at = DateTimeField(null=True, index=True)
