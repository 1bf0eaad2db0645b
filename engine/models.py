"""Engine tables beside the catalogue: schema version, templates, export jobs, artifacts, exclusions."""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from engine.catalog.models import CATALOG_MODELS, BaseModel, utcnow
from engine.fields import JSONTextField

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "partial")


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    description = TextField()
    applied_at = DateTimeField(default=utcnow)


class Template(BaseModel):
    """A saved, reusable export definition (format, selection, columns, options) — see pipeline.spec."""

    id = AutoField()
    name = CharField(max_length=128, unique=True)
    description = TextField(default="")
    format = CharField(max_length=32)
    spec = JSONTextField()  # the full ExportSpec as a dict
    version = IntegerField(default=1)
    predefined = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class TemplateVersion(BaseModel):
    """Every saved state of a template, so a job can be replayed and diffed."""

    template = ForeignKeyField(Template, backref="versions", on_delete="CASCADE")
    version = IntegerField()
    spec = JSONTextField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("template", "version"), True),)


class ExportJob(BaseModel):
    id = AutoField()
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


API_KEY_ROLES = ("reader", "manager", "admin")


class ApiKey(BaseModel):
    """A key for the gRPC API. Only its SHA-256 is stored; `prefix` finds it without revealing it."""

    id = AutoField()
    name = CharField(max_length=128)
    role = CharField(max_length=16)
    prefix = CharField(max_length=16, unique=True)
    key_hash = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class DeltaState(BaseModel):
    """What a delta template last sent to a destination: one content hash per product."""

    scope = CharField(max_length=255)  # "<template>|<destination>"
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    variant_skus = JSONTextField(null=True)  # so that a removed product's variants can be removed too
    content_hash = CharField(max_length=32)

    class Meta:
        indexes = ((("scope", "product_id"), True),)


class DeltaPending(BaseModel):
    """Products seen by a running delta job; becomes the DeltaState of its scope when the job succeeds."""

    job = ForeignKeyField(ExportJob, on_delete="CASCADE")
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    variant_skus = JSONTextField(null=True)
    content_hash = CharField(max_length=32)

    class Meta:
        indexes = ((("job", "product_id"), True),)


ENGINE_MODELS = [
    SchemaVersion,
    Template,
    TemplateVersion,
    ExportJob,
    Artifact,
    JobExclusion,
    ApiKey,
    DeltaState,
    DeltaPending,
]
ALL_MODELS = [*CATALOG_MODELS, *ENGINE_MODELS]
