"""Integration tables: named connections (settings + encrypted secrets) and the deliveries of export files."""

from __future__ import annotations

from peewee import SQL, AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField
from engine.models.jobs import ExportJob

DELIVERY_STATUSES = ("queued", "running", "succeeded", "failed", "held")


class Integration(BaseModel):
    """A named connection of one kind; `secrets` is one Fernet token (engine.secrets), never plaintext."""

    id = AutoField()
    name = CharField(max_length=128, unique=True)
    kind = CharField(max_length=32)
    settings = JSONTextField()
    secrets = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    tested_at = DateTimeField(null=True)
    test_ok = BooleanField(null=True)
    test_message = TextField(null=True)
    consecutive_failures = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])  # failed deliveries in a row
    disabled_at = DateTimeField(null=True)  # set when they reach the kind's limit; a successful test clears it
    disabled_reason = TextField(null=True)


class Delivery(BaseModel):
    """One export job's files sent to one integration, run as a `deliver` job (`task`)."""

    id = AutoField()
    job = ForeignKeyField(ExportJob, backref="deliveries", on_delete="CASCADE")
    task = ForeignKeyField(ExportJob, null=True, on_delete="SET NULL", backref="delivery_tasks")
    integration = ForeignKeyField(Integration, null=True, on_delete="SET NULL")
    integration_name = CharField(max_length=128)  # kept when the integration is deleted
    target = CharField(max_length=1024, default="")
    status = CharField(max_length=16, default="queued", index=True)
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    held_reason = TextField(null=True)
    gate = JSONTextField(null=True)
    receipts = JSONTextField(null=True)
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
