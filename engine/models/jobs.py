"""Job tables: export jobs, the artifacts they produced, and the products they excluded or warned about."""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from engine.catalog.models import BaseModel, utcnow
from engine.fields import JSONTextField

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "partial")


class ExportJob(BaseModel):
    id = AutoField()
    kind = CharField(max_length=32, default="export", constraints=[SQL("DEFAULT 'export'")])  # what the job runs
    template_name = CharField(max_length=128, null=True)
    template_version = IntegerField(null=True)
    spec = JSONTextField()  # exact snapshot the job ran with
    status = CharField(max_length=16, default="queued", index=True)
    phase = CharField(max_length=16, default="")
    requested_by = CharField(max_length=128, default="cli")
    total = IntegerField(default=0)
    processed = IntegerField(default=0)
    exported = IntegerField(default=0)
    excluded = IntegerField(default=0)
    failed = IntegerField(default=0)
    error = TextField(null=True)
    report = JSONTextField(null=True)  # summary: exclusions by rule, timings
    checkpoint = JSONTextField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    owner = CharField(max_length=128, null=True)  # host:pid of the process running an inline job
    schedule_id = IntegerField(null=True, index=True)  # the schedule that fired the job (kept when it is deleted)
    due_at = DateTimeField(null=True)  # the due time of that schedule the job runs for


class Artifact(BaseModel):
    id = AutoField()
    job = ForeignKeyField(ExportJob, backref="artifacts", null=True, on_delete="CASCADE")
    name = CharField(max_length=255)
    format = CharField(max_length=32)
    content_type = CharField(max_length=128)
    rows = IntegerField(default=0)
    size = BigIntegerField(default=0)
    sha256 = CharField(max_length=64)
    location = TextField()  # path of the file (or URL of its storage)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)


class JobExclusion(BaseModel):
    """A product left out of an export, with the rule it broke."""

    job = ForeignKeyField(ExportJob, backref="exclusions", on_delete="CASCADE")
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    rule = CharField(max_length=64)
    message = TextField()


class JobWarning(BaseModel):
    """A problem with a product that did not exclude it (an image that could not be fetched or processed)."""

    job = ForeignKeyField(ExportJob, backref="warnings", on_delete="CASCADE")
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    kind = CharField(max_length=32)
    message = TextField()
